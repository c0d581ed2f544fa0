import {
  type AutoScalingClient,
  DescribeInstanceRefreshesCommand,
  paginateDescribeAutoScalingGroups,
} from '@aws-sdk/client-auto-scaling';
import {
  type ContainerDefinition,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  paginateListClusters,
  paginateListContainerInstances,
  paginateListServices,
  paginateListTasks,
  type Resource,
} from '@aws-sdk/client-ecs';
import { chunks, toContainerInstanceView, toTaskView } from '../../../shared/aws/ecs';
import { type Pacer, pacedPages } from '../../../shared/aws/pacer';
import type { ContainerInstanceView, TaskView } from '../../../shared/decisions/host';

/**
 * The reads `status` and `plan` make beyond what the functions' adapters offer: a whole cluster's
 * container instances with their free resources, its services with their deployment bounds, its
 * tasks with their size, the groups with every instance, and a refresh's progress. It receives its
 * clients; every read is paced at the tool's rate and batched as far as each API allows.
 */

export interface Resources {
  cpu: number;
  memory: number;
}

export interface InstanceRead extends ContainerInstanceView {
  registered: Resources;
  remaining: Resources;
  agentVersion?: string;
  /** Epoch ms. */
  registeredAt?: number;
}

export interface ServiceRead {
  name: string;
  daemon: boolean;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  taskDefinition?: string;
  /** A container maps a fixed host port: one task of the service per instance. Undefined: not known. */
  staticHostPort?: boolean;
}

export interface TaskRead extends TaskView {
  desiredStatus: string;
  cpu: number;
  memory: number;
}

export interface ClusterRead {
  name: string;
  instances: InstanceRead[];
  services: ServiceRead[];
  /** Tasks that want to run (desired RUNNING), on every instance. */
  tasks: TaskRead[];
  /** Tasks told to stop (STOPPED ones included), on the DRAINING instances only. */
  stopping: TaskRead[];
}

export interface GroupInstanceRead {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  launchTemplate?: { id: string; version: string };
  launchConfigurationName?: string;
}

export interface RefreshRead {
  id: string;
  status: string;
  statusReason?: string;
  percentageComplete: number;
  instancesToUpdate: number;
  checkpoints: number[];
  minHealthyPercentage?: number;
  maxHealthyPercentage?: number;
  startedAt?: number;
}

export interface GroupRead {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  launchTemplate?: { id?: string; name?: string; version: string };
  launchConfigurationName?: string;
  /** In the order Auto Scaling lists them. */
  instances: GroupInstanceRead[];
}

/** ECS's Describe* limits per call. */
const DESCRIBE_TASKS_MAX = 100;
const DESCRIBE_SERVICES_MAX = 10;
const DESCRIBE_CONTAINER_INSTANCES_MAX = 100;

export class FleetReads {
  /** @param pacer the run's one read pace, shared with the adapters (CommandContext.readPacer). */
  constructor(
    private readonly ecs: ECSClient,
    private readonly autoScaling: AutoScalingClient,
    private readonly pacer: Pacer,
  ) {}

  async clusterNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const page of this.paced(paginateListClusters({ client: this.ecs }, {}))) {
      names.push(...(page.clusterArns ?? []).map((arn) => arn.slice(arn.lastIndexOf('/') + 1)));
    }
    return names;
  }

  /** The names ECS does not know (DescribeClusters lists them as failures, not as an error). */
  async unknownClusters(names: string[]): Promise<string[]> {
    const unknown: string[] = [];
    for (const batch of chunks(names, 100)) {
      await this.pacer.take();
      const output = await this.ecs.send(new DescribeClustersCommand({ clusters: batch }));
      const found = new Set((output.clusters ?? []).flatMap((c) => [c.clusterName, c.clusterArn]));
      unknown.push(...batch.filter((name) => !found.has(name)));
    }
    return unknown;
  }

  async cluster(name: string): Promise<ClusterRead> {
    const arns: string[] = [];
    const listing = paginateListContainerInstances({ client: this.ecs }, { cluster: name, maxResults: 100 });
    for await (const page of this.paced(listing)) arns.push(...(page.containerInstanceArns ?? []));
    const instances: InstanceRead[] = [];
    for (const batch of chunks(arns, DESCRIBE_CONTAINER_INSTANCES_MAX)) {
      await this.pacer.take();
      const output = await this.ecs.send(
        new DescribeContainerInstancesCommand({ cluster: name, containerInstances: batch }),
      );
      for (const instance of output.containerInstances ?? []) {
        instances.push({
          ...toContainerInstanceView(instance),
          registered: resources(instance.registeredResources),
          remaining: resources(instance.remainingResources),
          ...(instance.versionInfo?.agentVersion !== undefined && {
            agentVersion: instance.versionInfo.agentVersion,
          }),
          ...(instance.registeredAt !== undefined && { registeredAt: instance.registeredAt.getTime() }),
        });
      }
    }
    const services = await this.services(name);
    const running: string[] = [];
    for await (const page of this.paced(paginateListTasks({ client: this.ecs }, { cluster: name })))
      running.push(...(page.taskArns ?? []));
    const toldToStop: string[] = [];
    for (const instance of instances.filter((each) => each.status === 'DRAINING')) {
      const pages = paginateListTasks(
        { client: this.ecs },
        { cluster: name, containerInstance: instance.arn, desiredStatus: 'STOPPED' },
      );
      for await (const page of this.paced(pages)) toldToStop.push(...(page.taskArns ?? []));
    }
    const described = await this.tasks(name, [...running, ...toldToStop]);
    const daemons = new Set(services.filter((s) => s.daemon).map((s) => `service:${s.name}`));
    const marked = described.map((task) => ({ ...task, daemon: daemons.has(task.group ?? '') }));
    return {
      name,
      instances,
      services,
      tasks: marked.filter((task) => task.desiredStatus !== 'STOPPED'),
      // Still stopping or not is the functions' own rule (tasksStillStopping), applied by status.
      stopping: marked.filter((task) => task.desiredStatus === 'STOPPED'),
    };
  }

  private async services(cluster: string): Promise<ServiceRead[]> {
    const arns: string[] = [];
    for await (const page of this.paced(paginateListServices({ client: this.ecs }, { cluster })))
      arns.push(...(page.serviceArns ?? []));
    const services: ServiceRead[] = [];
    for (const batch of chunks(arns, DESCRIBE_SERVICES_MAX)) {
      await this.pacer.take();
      const output = await this.ecs.send(new DescribeServicesCommand({ cluster, services: batch }));
      for (const service of output.services ?? []) {
        const bounds = service.deploymentConfiguration;
        services.push({
          name: service.serviceName ?? '',
          daemon: service.schedulingStrategy === 'DAEMON',
          desiredCount: service.desiredCount ?? 0,
          runningCount: service.runningCount ?? 0,
          pendingCount: service.pendingCount ?? 0,
          // ECS's defaults for a replica service when the configuration does not say.
          minimumHealthyPercent: bounds?.minimumHealthyPercent ?? 100,
          maximumPercent: bounds?.maximumPercent ?? 200,
          ...(service.taskDefinition !== undefined && { taskDefinition: service.taskDefinition }),
        });
      }
    }
    // One DescribeTaskDefinition per revision in use: whether a container maps a fixed host port.
    const revisions = [...new Set(services.flatMap((s) => s.taskDefinition ?? []))];
    const staticPorts = new Map<string, boolean>();
    for (const revision of revisions) {
      await this.pacer.take();
      const output = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: revision }));
      const definition = output.taskDefinition;
      if (definition === undefined) continue;
      staticPorts.set(
        revision,
        usesStaticHostPort(definition.networkMode, definition.containerDefinitions ?? []),
      );
    }
    return services.map((service) => {
      const fixed =
        service.taskDefinition === undefined ? undefined : staticPorts.get(service.taskDefinition);
      return fixed === undefined ? service : { ...service, staticHostPort: fixed };
    });
  }

  private async tasks(cluster: string, arns: string[]): Promise<TaskRead[]> {
    const tasks: TaskRead[] = [];
    for (const batch of chunks([...new Set(arns)], DESCRIBE_TASKS_MAX)) {
      await this.pacer.take();
      const output = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }));
      for (const task of output.tasks ?? []) {
        tasks.push({
          ...toTaskView(task),
          desiredStatus: task.desiredStatus ?? 'UNKNOWN',
          cpu: Number(task.cpu ?? 0) || 0,
          memory: Number(task.memory ?? 0) || 0,
        });
      }
    }
    return tasks;
  }

  /** Groups by name (all of the account's when `names` is undefined); names AWS does not know are absent. */
  async groups(names?: string[]): Promise<GroupRead[]> {
    const groups: GroupRead[] = [];
    const batches = names === undefined ? [undefined] : [...chunks(names, 50)];
    for (const batch of batches) {
      const pages = paginateDescribeAutoScalingGroups(
        { client: this.autoScaling },
        { ...(batch !== undefined && { AutoScalingGroupNames: batch }), MaxRecords: 100 },
      );
      for await (const page of this.pacedQuery(pages)) {
        for (const group of page.AutoScalingGroups ?? []) {
          const template = group.LaunchTemplate;
          groups.push({
            name: group.AutoScalingGroupName ?? '',
            minSize: group.MinSize ?? 0,
            maxSize: group.MaxSize ?? 0,
            desiredCapacity: group.DesiredCapacity ?? 0,
            ...(template !== undefined && {
              launchTemplate: {
                ...(template.LaunchTemplateId !== undefined && { id: template.LaunchTemplateId }),
                ...(template.LaunchTemplateName !== undefined && { name: template.LaunchTemplateName }),
                version: template.Version ?? '$Default',
              },
            }),
            ...(group.LaunchConfigurationName !== undefined && {
              launchConfigurationName: group.LaunchConfigurationName,
            }),
            instances: (group.Instances ?? []).flatMap((instance) =>
              instance.InstanceId === undefined
                ? []
                : [
                    {
                      instanceId: instance.InstanceId,
                      availabilityZone: instance.AvailabilityZone ?? '',
                      lifecycleState: instance.LifecycleState ?? '',
                      protectedFromScaleIn: instance.ProtectedFromScaleIn ?? false,
                      ...(instance.LaunchTemplate?.LaunchTemplateId !== undefined && {
                        launchTemplate: {
                          id: instance.LaunchTemplate.LaunchTemplateId,
                          version: instance.LaunchTemplate.Version ?? '',
                        },
                      }),
                      ...(instance.LaunchConfigurationName !== undefined && {
                        launchConfigurationName: instance.LaunchConfigurationName,
                      }),
                    },
                  ],
            ),
          });
        }
      }
    }
    return groups;
  }

  /** The group's latest instance refresh, whatever its status. */
  async latestRefresh(group: string): Promise<RefreshRead | undefined> {
    await this.pacer.take();
    const output = await this.autoScaling.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: group, MaxRecords: 1 }),
    );
    const refresh = output.InstanceRefreshes?.[0];
    if (refresh?.InstanceRefreshId === undefined) return undefined;
    const preferences = refresh.Preferences;
    return {
      id: refresh.InstanceRefreshId,
      status: refresh.Status ?? 'Unknown',
      ...(refresh.StatusReason !== undefined && { statusReason: refresh.StatusReason }),
      percentageComplete: refresh.PercentageComplete ?? 0,
      instancesToUpdate: refresh.InstancesToUpdate ?? 0,
      checkpoints: preferences?.CheckpointPercentages ?? [],
      ...(preferences?.MinHealthyPercentage !== undefined && {
        minHealthyPercentage: preferences.MinHealthyPercentage,
      }),
      ...(preferences?.MaxHealthyPercentage !== undefined && {
        maxHealthyPercentage: preferences.MaxHealthyPercentage,
      }),
      ...(refresh.StartTime !== undefined && { startedAt: refresh.StartTime.getTime() }),
    };
  }

  private paced<T extends { nextToken?: string }>(pages: AsyncIterable<T>): AsyncGenerator<T> {
    return pacedPages(pages, this.pacer, (page) => page.nextToken !== undefined);
  }

  private pacedQuery<T extends { NextToken?: string }>(pages: AsyncIterable<T>): AsyncGenerator<T> {
    return pacedPages(pages, this.pacer, (page) => page.NextToken !== undefined);
  }
}

function resources(list: Resource[] | undefined): Resources {
  const value = (name: string) => list?.find((resource) => resource.name === name)?.integerValue ?? 0;
  return { cpu: value('CPU'), memory: value('MEMORY') };
}

/**
 * A fixed host port: a mapping with a hostPort other than 0 (bridge), or any mapping in `host`
 * network mode, where the container port is the host's. Two such tasks cannot share an instance.
 * awsvpc gives each task its own interface: never fixed.
 */
export function usesStaticHostPort(
  networkMode: string | undefined,
  containers: ContainerDefinition[],
): boolean {
  if (networkMode === 'awsvpc') return false;
  return containers.some((container) =>
    (container.portMappings ?? []).some((mapping) =>
      networkMode === 'host' ? true : mapping.hostPort !== undefined && mapping.hostPort !== 0,
    ),
  );
}
