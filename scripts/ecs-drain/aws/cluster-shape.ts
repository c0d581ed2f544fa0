import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  paginateListContainerInstances,
  paginateListServices,
  paginateListTasks,
} from '@aws-sdk/client-ecs';
import type { ObservedService, ObservedTask } from '../snapshot-shape';
import { usesStaticHostPort } from './fleet-reads';

/**
 * The ECS reads of `ecs-drain snapshot`: a cluster's container instances, services (with their task
 * definitions) and standalone tasks, in as few calls as the batch sizes allow. It receives its client.
 */
export class ClusterShapeReader {
  constructor(private readonly ecs: ECSClient) {}

  /** Registered CPU and memory of the cluster's ACTIVE container instances (of these EC2 instances, when given). */
  async containerInstances(
    cluster: string,
    ec2InstanceIds?: ReadonlySet<string>,
  ): Promise<{ ec2InstanceId?: string; cpu?: number; memory?: number }[]> {
    const arns: string[] = [];
    for await (const page of paginateListContainerInstances(
      { client: this.ecs },
      { cluster, status: 'ACTIVE' },
    ))
      arns.push(...(page.containerInstanceArns ?? []));
    const seen = [];
    for (let n = 0; n < arns.length; n += 100) {
      const output = await this.ecs.send(
        new DescribeContainerInstancesCommand({ cluster, containerInstances: arns.slice(n, n + 100) }),
      );
      for (const instance of output.containerInstances ?? []) {
        if (ec2InstanceIds !== undefined && !ec2InstanceIds.has(instance.ec2InstanceId ?? '')) continue;
        const resource = (name: string) =>
          instance.registeredResources?.find((r) => r.name === name)?.integerValue;
        seen.push({
          ...(instance.ec2InstanceId !== undefined && { ec2InstanceId: instance.ec2InstanceId }),
          ...(resource('CPU') !== undefined && { cpu: resource('CPU') }),
          ...(resource('MEMORY') !== undefined && { memory: resource('MEMORY') }),
        });
      }
    }
    return seen;
  }

  /** Every service, ten per DescribeServices, with its task definition (each read once). */
  async services(cluster: string): Promise<ObservedService[]> {
    const arns: string[] = [];
    for await (const page of paginateListServices({ client: this.ecs }, { cluster, maxResults: 100 }))
      arns.push(...(page.serviceArns ?? []));
    const definitions = new Map<string, ObservedService['task']>();
    const services: ObservedService[] = [];
    for (let n = 0; n < arns.length; n += 10) {
      const output = await this.ecs.send(
        new DescribeServicesCommand({ cluster, services: arns.slice(n, n + 10) }),
      );
      for (const service of output.services ?? []) {
        if (service.serviceName === undefined || service.status !== 'ACTIVE') continue;
        const arn = service.taskDefinition;
        if (arn !== undefined && !definitions.has(arn)) definitions.set(arn, await this.taskDefinition(arn));
        const configuration = service.deploymentConfiguration;
        const breaker = configuration?.deploymentCircuitBreaker;
        const task = arn === undefined ? undefined : definitions.get(arn);
        services.push({
          name: service.serviceName,
          daemon: service.schedulingStrategy === 'DAEMON',
          desiredCount: service.desiredCount ?? 0,
          ...(configuration?.minimumHealthyPercent !== undefined && {
            minimumHealthyPercent: configuration.minimumHealthyPercent,
          }),
          ...(configuration?.maximumPercent !== undefined && {
            maximumPercent: configuration.maximumPercent,
          }),
          ...(breaker !== undefined && {
            circuitBreaker: { enable: breaker.enable ?? false, rollback: breaker.rollback ?? false },
          }),
          ...(service.healthCheckGracePeriodSeconds !== undefined && {
            healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds,
          }),
          loadBalanced: (service.loadBalancers ?? []).length > 0,
          ...(task !== undefined && { task }),
        });
      }
    }
    return services;
  }

  private async taskDefinition(arn: string): Promise<ObservedService['task']> {
    const { taskDefinition: definition } = await this.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
    );
    if (definition === undefined) return undefined;
    const number = (value: string | undefined) =>
      value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
    const cpu = number(definition.cpu);
    const memory = number(definition.memory);
    return {
      ...(cpu !== undefined && { cpu }),
      ...(memory !== undefined && { memory }),
      containers: (definition.containerDefinitions ?? []).map((container) => ({
        ...(container.cpu !== undefined && { cpu: container.cpu }),
        ...(container.memory !== undefined && { memory: container.memory }),
        ...(container.memoryReservation !== undefined && { memoryReservation: container.memoryReservation }),
        ...(container.stopTimeout !== undefined && { stopTimeout: container.stopTimeout }),
      })),
      staticHostPort: usesStaticHostPort(definition.networkMode, definition.containerDefinitions ?? []),
    };
  }

  /** Running tasks no service started: startedBy not `ecs-svc/…` and group not `service:…`. */
  async standaloneTasks(cluster: string): Promise<ObservedTask[]> {
    const arns: string[] = [];
    for await (const page of paginateListTasks({ client: this.ecs }, { cluster, desiredStatus: 'RUNNING' }))
      arns.push(...(page.taskArns ?? []));
    const tasks: ObservedTask[] = [];
    for (let n = 0; n < arns.length; n += 100) {
      const output = await this.ecs.send(
        new DescribeTasksCommand({ cluster, tasks: arns.slice(n, n + 100) }),
      );
      for (const task of output.tasks ?? []) {
        if (task.startedBy?.startsWith('ecs-svc/') === true || task.group?.startsWith('service:') === true)
          continue;
        const definition = task.taskDefinitionArn ?? '';
        const family = definition.slice(definition.lastIndexOf('/') + 1, definition.lastIndexOf(':'));
        const cpu = Number(task.cpu);
        const memory = Number(task.memory);
        tasks.push({
          family,
          ...(Number.isInteger(cpu) && cpu > 0 && { cpu }),
          ...(Number.isInteger(memory) && memory > 0 && { memory }),
        });
      }
    }
    return tasks;
  }
}
