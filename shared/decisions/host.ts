/**
 * When is a host empty? A task holds its host until its own lastStatus is STOPPED.
 * `runningTasksCount` counts desired status, so a task told to stop but still stopping
 * (deregistration delay, stop timeout) is invisible to it: the check below lists those explicitly.
 */

export interface ContainerInstanceView {
  arn: string;
  ec2InstanceId: string;
  status: string;
  agentConnected: boolean;
  /** Tasks whose desired status is RUNNING. */
  runningTasksCount: number;
  /** Tasks whose last status is PENDING. */
  pendingTasksCount: number;
}

export interface TaskView {
  taskArn: string;
  lastStatus: string;
  version: number | undefined;
}

/** What a task STOPPED event tells us for certain, whatever an API read returns a moment later. */
export interface KnownStoppedTask {
  taskArn: string;
  version: number | undefined;
}

export type InstanceReading =
  | { kind: 'gone' }
  | { kind: 'not-draining'; status: string }
  /** Draining, and some task still wants to run: busy without listing tasks. */
  | { kind: 'busy'; tasksWantingToRun: number }
  /** Draining with no task wanting to run; tasks told to stop may still be stopping. */
  | { kind: 'list-stopping-tasks' };

/** Tasks that have not been told to stop, as the counts of one DescribeContainerInstances read show them. */
export function tasksWantingToRun(instance: ContainerInstanceView): number {
  return instance.runningTasksCount + instance.pendingTasksCount;
}

/** The first look at a container instance, from one DescribeContainerInstances read. */
export function readInstance(instance: ContainerInstanceView | undefined): InstanceReading {
  if (instance === undefined || instance.status === 'INACTIVE') return { kind: 'gone' };
  if (instance.status !== 'DRAINING') return { kind: 'not-draining', status: instance.status };
  const wanting = tasksWantingToRun(instance);
  if (wanting > 0) return { kind: 'busy', tasksWantingToRun: wanting };
  return { kind: 'list-stopping-tasks' };
}

/**
 * Tasks that still hold the host. The task named by the event that woke us counts as stopped
 * unless the API shows a newer version of it: reads can lag the event that reported the stop.
 */
export function tasksStillStopping(tasks: TaskView[], knownStopped?: KnownStoppedTask): TaskView[] {
  return tasks.filter((task) => {
    if (task.lastStatus === 'STOPPED') return false;
    if (knownStopped === undefined || task.taskArn !== knownStopped.taskArn) return true;
    return isNewer(task.version, knownStopped.version);
  });
}

function isNewer(apiVersion: number | undefined, eventVersion: number | undefined): boolean {
  return apiVersion !== undefined && eventVersion !== undefined && apiVersion > eventVersion;
}

/** Which container instances of a host to set to DRAINING: only ACTIVE ones can be, and need to be. */
export function instancesToDrain(instances: ContainerInstanceView[]): ContainerInstanceView[] {
  return instances.filter((instance) => instance.status === 'ACTIVE');
}

/** How far the drain of one host (all its container instances) has come. */
export interface HostProgress {
  drained: boolean;
  tasksWantingToRun: number;
  tasksStopping: number;
}

export function hostProgress(
  instances: ContainerInstanceView[],
  stoppingTasksByInstance: ReadonlyMap<string, TaskView[]>,
): HostProgress {
  let wanting = 0;
  let stopping = 0;
  for (const instance of instances) {
    wanting += tasksWantingToRun(instance);
    stopping += stoppingTasksByInstance.get(instance.arn)?.length ?? 0;
  }
  return { drained: wanting === 0 && stopping === 0, tasksWantingToRun: wanting, tasksStopping: stopping };
}
