import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  paginateListContainerInstances,
  paginateListTasks,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { ContainerInstanceView, TaskView } from '../decisions/host';
import { AMI_ID_ATTRIBUTE } from '../events/container-instance-state-change';
import { type Pacer, pacedPages, type Priority } from './pacer';

/** API limits per call (ECS API reference). */
const DESCRIBE_CONTAINER_INSTANCES_MAX = 100;
const DESCRIBE_TASKS_MAX = 100;
export const UPDATE_STATE_MAX = 10;
/** Attributes per PutAttributes call. */
const PUT_ATTRIBUTES_MAX = 10;
/**
 * The custom attribute that records when the controller started to drain a container instance
 * (ISO time): visible in the console and to tools, returned by every DescribeContainerInstances,
 * and no database to keep.
 */
export const DRAIN_STARTED_ATTRIBUTE = 'ecs-drain.started-at';
/** When a heartbeat was last recorded for the host (ISO time): paces heartbeats across containers and functions. */
export const HEARTBEAT_ATTRIBUTE = 'ecs-drain.heartbeat-at';
/** The alerts already sent about this drain, space-separated (attribute values allow no comma). */
export const ALERTS_ATTRIBUTE = 'ecs-drain.alerts';
/** Services per DescribeServices call. */
const DESCRIBE_SERVICES_MAX = 10;
/** EC2 instance ids per `ec2InstanceId in [...]` filter; keeps the cluster query short. */
const EC2_IDS_PER_FILTER = 20;

export interface DescribedContainerInstances {
  found: ContainerInstanceView[];
  /** ARNs ECS did not describe (reason MISSING): deregistered more than an hour ago, or never registered. */
  missing: string[];
}

export interface DrainingResult {
  /** The instances now DRAINING, with their task counts as ECS returned them. */
  draining: ContainerInstanceView[];
  /** Instances ECS refused to change, with its reason (MISSING: deregistered meanwhile). */
  failures: { arn: string; reason: string }[];
}

/**
 * The ECS calls of the controller. It receives its client, so that a Lambda container, the
 * simulation and a command-line tool each pass their own. Every method batches as far as the API
 * allows: reads are what the account's shared "cluster resource read" bucket (20/s) is spent on.
 */
export class EcsAdapter {
  /**
   * @param readPacer spaces this container's reads (see ecsReadPacer), urgent ones first.
   */
  constructor(
    private readonly client: ECSClient,
    private readonly readPacer: Pacer,
  ) {}

  /** Reads this container's share still allows by `at` (epoch ms), after those already waiting for it. */
  readsPossibleBy(at: number): number {
    return this.readPacer.callsPossibleBy(at);
  }

  /** ARNs of the container instances registered for these EC2 instances (INACTIVE ones are not listed). */
  async listContainerInstancesOf(cluster: string, ec2InstanceIds: string[]): Promise<string[]> {
    const arns: string[] = [];
    for (const ids of chunks(ec2InstanceIds, EC2_IDS_PER_FILTER)) {
      const filter =
        ids.length === 1
          ? `ec2InstanceId == ${ids[0]}`
          : `ec2InstanceId in [${ids.map((id) => `'${id}'`).join(',')}]`;
      const pages = paginateListContainerInstances({ client: this.client }, { cluster, filter });
      for await (const page of this.paced(pages)) arns.push(...(page.containerInstanceArns ?? []));
    }
    return arns;
  }

  /** ARNs of the cluster's container instances in a status (DRAINING: every drain in progress), a hundred per page. */
  async listContainerInstancesIn(cluster: string, status: 'DRAINING' | 'ACTIVE'): Promise<string[]> {
    const arns: string[] = [];
    const pages = paginateListContainerInstances(
      { client: this.client },
      { cluster, status, maxResults: 100 },
    );
    for await (const page of this.paced(pages)) arns.push(...(page.containerInstanceArns ?? []));
    return arns;
  }

  /** Container instances by ARN, a hundred per call; unknown ones come back as `missing`. */
  async describeContainerInstances(cluster: string, arns: string[]): Promise<DescribedContainerInstances> {
    const result: DescribedContainerInstances = { found: [], missing: [] };
    for (const batch of chunks(unique(arns), DESCRIBE_CONTAINER_INSTANCES_MAX)) {
      await this.readPacer.take();
      const output = await this.client.send(
        new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }),
      );
      result.found.push(...(output.containerInstances ?? []).map(toContainerInstanceView));
      // The documented reason is MISSING; whatever the reason, ECS did not describe it.
      for (const failure of output.failures ?? []) result.missing.push(failure.arn ?? '');
    }
    return result;
  }

  /** Records on each container instance when its drain started, ten per PutAttributes call. */
  async markDrainStarted(cluster: string, instances: { arn: string; at: number }[]): Promise<void> {
    await this.putAttribute(
      cluster,
      DRAIN_STARTED_ATTRIBUTE,
      instances.map(({ arn, at }) => ({ arn, value: new Date(at).toISOString() })),
    );
  }

  /** Records when a heartbeat restarted the hook's timer, on each container instance of the host. */
  async markHeartbeat(cluster: string, arns: string[], at: number): Promise<void> {
    const value = new Date(at).toISOString();
    await this.putAttribute(
      cluster,
      HEARTBEAT_ATTRIBUTE,
      arns.map((arn) => ({ arn, value })),
    );
  }

  /**
   * Records which alerts were sent about the drain that started at `drainStartedAt`, so that each is
   * sent once per drain: `2026-01-10T12:00:00.000Z cannot-progress deadline`.
   */
  async markAlertsSent(
    cluster: string,
    arns: string[],
    keys: string[],
    drainStartedAt: number | undefined,
  ): Promise<void> {
    const drain = drainStartedAt === undefined ? [] : [new Date(drainStartedAt).toISOString()];
    const value = [...drain, ...[...new Set(keys)].sort()].join(' ');
    await this.putAttribute(
      cluster,
      ALERTS_ATTRIBUTE,
      arns.map((arn) => ({ arn, value })),
    );
  }

  private async putAttribute(cluster: string, name: string, values: { arn: string; value: string }[]) {
    for (const batch of chunks(values, PUT_ATTRIBUTES_MAX)) {
      await this.client.send(
        new PutAttributesCommand({
          cluster,
          attributes: batch.map(({ arn, value }) => ({
            name,
            value,
            targetType: 'container-instance',
            targetId: arn,
          })),
        }),
      );
    }
  }

  /** Stops tasks with a reason an operator sees in the console (StopTask takes one task per call). */
  async stopTasks(cluster: string, taskArns: string[], reason: string): Promise<void> {
    for (const task of unique(taskArns)) {
      await this.client.send(new StopTaskCommand({ cluster, task, reason: reason.slice(0, 255) }));
    }
  }

  /** ARNs of the tasks on a container instance that still want to run (desired RUNNING). */
  async listTasksWantingToRun(cluster: string, containerInstance: string): Promise<string[]> {
    const arns: string[] = [];
    const pages = paginateListTasks({ client: this.client }, { cluster, containerInstance });
    for await (const page of this.paced(pages, 'background')) arns.push(...(page.taskArns ?? []));
    return arns;
  }

  /** Names of the daemon services among these (DAEMON scheduling strategy), ten per call. */
  async daemonServices(cluster: string, serviceNames: string[]): Promise<Set<string>> {
    const daemons = new Set<string>();
    for (const batch of chunks(unique(serviceNames), DESCRIBE_SERVICES_MAX)) {
      const output = await this.client.send(new DescribeServicesCommand({ cluster, services: batch }));
      for (const service of output.services ?? []) {
        if (service.schedulingStrategy === 'DAEMON' && service.serviceName !== undefined)
          daemons.add(service.serviceName);
      }
    }
    return daemons;
  }

  /** Sets container instances to DRAINING, at most ten per call as the API allows. */
  async setDraining(cluster: string, arns: string[]): Promise<DrainingResult> {
    const result: DrainingResult = { draining: [], failures: [] };
    for (const batch of chunks(arns, UPDATE_STATE_MAX)) {
      const output = await this.client.send(
        new UpdateContainerInstancesStateCommand({ cluster, containerInstances: batch, status: 'DRAINING' }),
      );
      result.draining.push(...(output.containerInstances ?? []).map(toContainerInstanceView));
      for (const failure of output.failures ?? []) {
        result.failures.push({ arn: failure.arn ?? 'unknown', reason: failure.reason ?? 'unknown' });
      }
    }
    return result;
  }

  /**
   * ARNs of the tasks on a container instance that ECS has been told to stop. ListTasks lists
   * desired status RUNNING by default, which misses exactly the tasks still stopping; recently
   * STOPPED tasks are listed too. There is no batched form: one call (per page) per instance.
   */
  async listTasksToldToStop(
    cluster: string,
    containerInstance: string,
    priority: Priority = 'urgent',
  ): Promise<string[]> {
    const arns: string[] = [];
    const pages = paginateListTasks(
      { client: this.client },
      { cluster, containerInstance, desiredStatus: 'STOPPED' },
    );
    for await (const page of this.paced(pages, priority)) arns.push(...(page.taskArns ?? []));
    return arns;
  }

  /** Tasks by ARN with their last status and version, a hundred per call. */
  async describeTasks(cluster: string, arns: string[]): Promise<TaskView[]> {
    const tasks: TaskView[] = [];
    for (const batch of chunks(unique(arns), DESCRIBE_TASKS_MAX)) {
      await this.readPacer.take();
      const output = await this.client.send(new DescribeTasksCommand({ cluster, tasks: batch }));
      for (const task of output.tasks ?? []) tasks.push(toTaskView(task));
    }
    return tasks;
  }

  /** A paginator whose every page request waits for the read pacer first. */
  private paced<T extends { nextToken?: string }>(
    pages: AsyncIterable<T>,
    priority: Priority = 'urgent',
  ): AsyncGenerator<T> {
    return pacedPages(pages, this.readPacer, (page) => page.nextToken !== undefined, priority);
  }

  // ---- blue/green rollout (shared/rollout/blue-green.ts) ----------------------------------------

  /**
   * Sets container instances ACTIVE or DRAINING, ten per call. Setting an instance to the status it
   * already has changes nothing; instances ECS refuses come back as failures, not errors.
   */
  async setContainerInstancesState(
    cluster: string,
    arns: string[],
    status: 'ACTIVE' | 'DRAINING',
  ): Promise<{ failures: { arn: string; reason: string }[] }> {
    const failures: { arn: string; reason: string }[] = [];
    for (const batch of chunks(unique(arns), UPDATE_STATE_MAX)) {
      const output = await this.client.send(
        new UpdateContainerInstancesStateCommand({ cluster, containerInstances: batch, status }),
      );
      for (const failure of output.failures ?? [])
        failures.push({ arn: failure.arn ?? 'unknown', reason: failure.reason ?? 'unknown' });
    }
    return { failures };
  }
}

/** A described task as the decisions see it (also used by the operator tool's own reads). */
export function toTaskView(task: Task): TaskView {
  return {
    taskArn: task.taskArn ?? '',
    containerInstanceArn: task.containerInstanceArn ?? '',
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    version: task.version,
    group: task.group,
    ...(task.stoppedAt !== undefined && { stoppedAt: task.stoppedAt.getTime() }),
  };
}

/** A described container instance as the decisions see it (also used by the operator tool's own reads). */
export function toContainerInstanceView(instance: ContainerInstance): ContainerInstanceView {
  const attribute = (name: string) => instance.attributes?.find((each) => each.name === name)?.value;
  const time = (name: string) => {
    const at = Date.parse(attribute(name) ?? '');
    return Number.isNaN(at) ? undefined : at;
  };
  const startedAt = time(DRAIN_STARTED_ATTRIBUTE);
  const heartbeatAt = time(HEARTBEAT_ATTRIBUTE);
  const [first = '', ...rest] = (attribute(ALERTS_ATTRIBUTE) ?? '').split(' ').filter((word) => word !== '');
  // The record names its drain first (a timestamp); a record without one is a list of keys alone.
  const alertsFor = first.includes('T') ? Date.parse(first) : Number.NaN;
  const alerts = Number.isNaN(alertsFor) ? [first, ...rest].filter((key) => key !== '') : rest;
  return {
    ...(startedAt !== undefined && { drainStartedAt: startedAt }),
    ...(heartbeatAt !== undefined && { heartbeatAt }),
    ...(alerts.length > 0 && { alertsSent: alerts }),
    ...(!Number.isNaN(alertsFor) && { alertsForDrainStartedAt: alertsFor }),
    arn: instance.containerInstanceArn ?? '',
    ec2InstanceId: instance.ec2InstanceId ?? '',
    status: instance.status ?? 'UNKNOWN',
    agentConnected: instance.agentConnected ?? false,
    runningTasksCount: instance.runningTasksCount ?? 0,
    pendingTasksCount: instance.pendingTasksCount ?? 0,
    ...(attribute(AMI_ID_ATTRIBUTE) !== undefined && { amiId: attribute(AMI_ID_ATTRIBUTE) }),
  };
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

export function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
