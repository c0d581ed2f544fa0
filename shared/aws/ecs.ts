import {
  type ContainerInstance,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  paginateListContainerInstances,
  paginateListTasks,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import type { ContainerInstanceView, TaskView } from '../decisions/host';

// Created once per container; the endpoint can be redirected with AWS_ENDPOINT_URL_ECS.
export const ecsClient = new ECSClient({});

/** API limits per call (ECS API reference). */
const DESCRIBE_CONTAINER_INSTANCES_MAX = 100;
const DESCRIBE_TASKS_MAX = 100;
const UPDATE_STATE_MAX = 10;

/** All container instances of the cluster that run on this EC2 instance: usually one, sometimes none or more. */
export async function findContainerInstances(
  cluster: string,
  ec2InstanceId: string,
): Promise<ContainerInstanceView[]> {
  const arns: string[] = [];
  const pages = paginateListContainerInstances(
    { client: ecsClient },
    { cluster, filter: `ec2InstanceId == ${ec2InstanceId}` },
  );
  for await (const page of pages) arns.push(...(page.containerInstanceArns ?? []));
  return describeContainerInstances(cluster, arns);
}

/** One container instance, or undefined when ECS no longer knows it. One read call. */
export async function describeContainerInstance(
  cluster: string,
  arn: string,
): Promise<ContainerInstanceView | undefined> {
  const [instance] = await describeContainerInstances(cluster, [arn]);
  return instance;
}

async function describeContainerInstances(cluster: string, arns: string[]): Promise<ContainerInstanceView[]> {
  const views: ContainerInstanceView[] = [];
  for (const batch of chunks(arns, DESCRIBE_CONTAINER_INSTANCES_MAX)) {
    const output = await ecsClient.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }),
    );
    // Unknown instances come back in failures[] with reason MISSING: they are simply not returned.
    views.push(...(output.containerInstances ?? []).map(toContainerInstanceView));
  }
  return views;
}

export interface DrainingResult {
  /** The instances now DRAINING, with their task counts as ECS returned them. */
  draining: ContainerInstanceView[];
  /** Instances ECS refused to change, with its reason (MISSING: deregistered meanwhile). */
  failures: { arn: string; reason: string }[];
}

/** Sets container instances to DRAINING, at most ten per call as the API allows. */
export async function setDraining(cluster: string, arns: string[]): Promise<DrainingResult> {
  const result: DrainingResult = { draining: [], failures: [] };
  for (const batch of chunks(arns, UPDATE_STATE_MAX)) {
    const output = await ecsClient.send(
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
 * Tasks on the container instance that ECS has been told to stop, with their last status.
 * ListTasks lists desired status RUNNING by default, which misses exactly the tasks still stopping;
 * recently STOPPED tasks are listed too and filtered out by the caller.
 */
export async function describeTasksToldToStop(
  cluster: string,
  containerInstance: string,
): Promise<TaskView[]> {
  const taskArns: string[] = [];
  const pages = paginateListTasks(
    { client: ecsClient },
    { cluster, containerInstance, desiredStatus: 'STOPPED' },
  );
  for await (const page of pages) taskArns.push(...(page.taskArns ?? []));

  const tasks: TaskView[] = [];
  for (const batch of chunks(taskArns, DESCRIBE_TASKS_MAX)) {
    const output = await ecsClient.send(new DescribeTasksCommand({ cluster, tasks: batch }));
    for (const task of output.tasks ?? []) {
      tasks.push({
        taskArn: task.taskArn ?? '',
        lastStatus: task.lastStatus ?? 'UNKNOWN',
        version: task.version,
      });
    }
  }
  return tasks;
}

function toContainerInstanceView(instance: ContainerInstance): ContainerInstanceView {
  return {
    arn: instance.containerInstanceArn ?? '',
    ec2InstanceId: instance.ec2InstanceId ?? '',
    status: instance.status ?? 'UNKNOWN',
    agentConnected: instance.agentConnected ?? false,
    runningTasksCount: instance.runningTasksCount ?? 0,
    pendingTasksCount: instance.pendingTasksCount ?? 0,
  };
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
