import { heartbeatDue } from './heartbeat';

/**
 * The one decision every path takes about a host (an EC2 instance and its container instances):
 * the start of a drain, the batched task events, and any later reconciler. Pure: it reads a
 * snapshot and returns a command with its reason. When the snapshot lacks something the decision
 * needs, the command says what to read next, so that callers read only what a decision needs and
 * can batch those reads over many hosts.
 *
 * When is a host empty? A task holds its host until its own lastStatus is STOPPED.
 * `runningTasksCount` counts desired status, so a task told to stop but still stopping
 * (deregistration delay, stop timeout) is invisible to it: those are listed explicitly.
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
  /** When the controller started draining it (epoch ms), from its custom attribute. */
  drainStartedAt?: number;
}

export interface TaskView {
  taskArn: string;
  containerInstanceArn: string;
  lastStatus: string;
  version: number | undefined;
  /** `service:<name>` or `family:<name>`: tells an operator what still holds the host. */
  group?: string;
}

/** What a task STOPPED event tells us for certain, whatever an API read returns a moment later. */
export interface KnownStoppedTask {
  taskArn: string;
  version: number | undefined;
  /** When the event was emitted (epoch ms), and whether its stop reason names a drain. */
  emittedAt?: number;
  stoppedByDrain?: boolean;
}

/** Auto Scaling's view of an EC2 instance (DescribeAutoScalingInstances). */
export interface LifecycleView {
  autoScalingGroupName: string;
  lifecycleState: string;
}

/** States in which a terminating hook holds the instance: terminating, or being stopped into a warm pool. */
export const HOOK_WAIT_STATES: ReadonlySet<string> = new Set(['Terminating:Wait', 'Warmed:Pending:Wait']);

/** What is known about one host at the moment of deciding. Absent parts have not been read. */
export interface HostSnapshot {
  cluster: string;
  /** Known from the lifecycle notification, or once a container instance has been described. */
  ec2InstanceId?: string;
  /** Container instances named so far (by task events, or found by EC2 instance id). */
  containerInstanceArns: string[];
  /** Their descriptions; undefined until read. Deregistered long ago: simply absent. */
  containerInstances?: ContainerInstanceView[];
  /** True once every container instance registered for the EC2 instance has been looked up. */
  allContainerInstancesFound: boolean;
  /** Tasks told to stop, per container instance ARN (listed, then described). A missing key: not read. */
  tasksToldToStop: ReadonlyMap<string, TaskView[]>;
  /**
   * Container instances whose list above is this container's memory of an earlier ListTasks, not a
   * listing made now. Good enough to wait on; a completion is never decided on it alone.
   */
  rememberedLists?: ReadonlySet<string>;
  /** Stops reported by events; an API read may lag them. */
  stoppedByEvents: KnownStoppedTask[];
  /** undefined: not read yet; null: the instance is in no Auto Scaling group. */
  lifecycle?: LifecycleView | null;
  /** When its container instances were read (epoch ms). */
  observedAt?: number;
  /** Emission time (epoch ms) of the newest event about this host, or of the notification. */
  newestEventAt?: number;
  /** When this Lambda container last recorded a heartbeat for the host, by event time (epoch ms). */
  lastHeartbeatAt?: number;
}

/** The lifecycle actions this controller owns, and how it paces heartbeats. */
export interface DrainPolicy {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  heartbeatTimeoutSeconds: number;
}

export type Observation =
  | 'container-instances'
  | 'all-container-instances'
  | 'stopping-tasks'
  /** List again the tasks of the instances whose list was remembered: the last check before completing. */
  | 'fresh-stopping-tasks'
  | 'lifecycle';

/** How far the drain of a host has come, for the log line and an operator. */
export interface DrainProgress {
  tasksWantingToRun: number;
  /** Tasks told to stop that have not stopped yet (listed only once none wants to run). */
  tasksStopping: TaskView[];
  agentDisconnected: string[];
}

export type HostCommand =
  /** Read these (together, when several) and decide again. */
  | { kind: 'read'; what: Observation[] }
  | { kind: 'drain'; containerInstanceArns: string[]; reason: string }
  | { kind: 'complete'; reason: string }
  | { kind: 'heartbeat'; reason: string; progress: DrainProgress }
  /** The read contradicts an event: let the event come back once the read has caught up. */
  | { kind: 'retry'; reason: string }
  /** `quiet`: routine, like a task event from a host that is not draining. */
  | { kind: 'none'; reason: string; progress?: DrainProgress; quiet?: boolean };

export function decideHost(host: HostSnapshot, policy: DrainPolicy): HostCommand {
  if (host.containerInstances === undefined) {
    return read(host.containerInstanceArns.length > 0 ? 'container-instances' : 'all-container-instances');
  }
  const live = host.containerInstances.filter((instance) => instance.status !== 'INACTIVE');
  const ours = waitsOnOurHook(host.lifecycle, policy);

  if (live.length === 0) {
    if (host.ec2InstanceId === undefined) return none('container instance is unknown to ECS');
    const missing: Observation[] = [];
    if (!host.allContainerInstancesFound) missing.push('all-container-instances');
    if (!ours.known) missing.push('lifecycle');
    if (missing.length > 0 || !ours.known) return { kind: 'read', what: missing };
    return ours.waits
      ? complete('no container instance of the cluster on it: nothing to drain')
      : none(`no container instance left, and ${ours.reason}`);
  }

  const active = live.filter((instance) => instance.status === 'ACTIVE');
  if (ours.waits && active.length > 0) {
    return {
      kind: 'drain',
      containerInstanceArns: active.map((instance) => instance.arn),
      reason: 'terminating lifecycle action of ours waits',
    };
  }
  if (!ours.waits && !live.some((instance) => instance.status === 'DRAINING')) {
    // Reads can lag: an event that stopped a task because the instance is draining, read moments
    // ago as not draining, may be the last event this drain ever sends. Keep it for a second look.
    if (drainSaidRecently(host)) {
      return {
        kind: 'retry',
        reason: 'an event says the instance is draining, but the read does not show it yet',
      };
    }
    return {
      kind: 'none',
      reason: `container instance is not draining (${live.map((i) => i.status).join(', ')})`,
      quiet: true,
    };
  }

  const progress: DrainProgress = {
    tasksWantingToRun: live.reduce((sum, instance) => sum + tasksWantingToRun(instance), 0),
    tasksStopping: [],
    agentDisconnected: live.filter((i) => !i.agentConnected).map((i) => i.arn),
  };
  // The hook's timer restarted when the host's drain started (the earliest start: an instance drained
  // later, one that registered during the drain, restarted no timer), and at every heartbeat since.
  const drainStarts = live.flatMap((instance) => instance.drainStartedAt ?? []);
  const drainStartedAt = drainStarts.length === 0 ? undefined : Math.min(...drainStarts);
  const timerRestartedAt =
    drainStartedAt === undefined && host.lastHeartbeatAt === undefined
      ? undefined
      : Math.max(host.lastHeartbeatAt ?? 0, drainStartedAt ?? 0);
  const keepAlive = (progress: DrainProgress) =>
    keepAliveAfter(timerRestartedAt, host, policy, ours, progress);
  if (progress.tasksWantingToRun > 0) return keepAlive(progress);
  if (live.some((instance) => !host.tasksToldToStop.has(instance.arn))) return read('stopping-tasks');
  progress.tasksStopping = live.flatMap((instance) =>
    tasksStillStopping(host.tasksToldToStop.get(instance.arn) ?? [], host.stoppedByEvents),
  );
  if (progress.tasksStopping.length > 0) return keepAlive(progress);

  // A remembered list misses a task placed after it was made, should the instance have been set
  // ACTIVE and drained again meanwhile by someone else: list once more before letting the host go.
  if (live.some((instance) => host.rememberedLists?.has(instance.arn))) return read('fresh-stopping-tasks');

  // Every container instance registered for the EC2 instance must be empty, not only those the
  // events named. Looked up only now, so that the events before the last one do not pay for it;
  // together with the lifecycle state, which only an empty host needs.
  const missing: Observation[] = [];
  if (!host.allContainerInstancesFound) missing.push('all-container-instances');
  if (ours.known === false) missing.push('lifecycle');
  if (missing.length > 0 || !ours.known) return { kind: 'read', what: missing };
  if (!ours.waits) return none(`host is empty but ${ours.reason}`);
  return complete('no task left on the host');
}

/** How long a read may plausibly lag the events it contradicts; older events are not kept for a second look. */
export const READ_LAG_ALLOWANCE_MS = 60_000;

function drainSaidRecently(host: HostSnapshot): boolean {
  const { observedAt } = host;
  if (observedAt === undefined) return false;
  return host.stoppedByEvents.some(
    (event) =>
      event.stoppedByDrain === true &&
      event.emittedAt !== undefined &&
      observedAt - event.emittedAt < READ_LAG_ALLOWANCE_MS,
  );
}

/** Tasks that have not been told to stop, as the counts of one DescribeContainerInstances read show them. */
export function tasksWantingToRun(instance: ContainerInstanceView): number {
  return instance.runningTasksCount + instance.pendingTasksCount;
}

/**
 * Tasks that still hold the host. A task an event reported STOPPED counts as stopped unless the
 * API shows a newer version of it: reads can lag the event that reported the stop.
 */
export function tasksStillStopping(tasks: TaskView[], knownStopped: KnownStoppedTask[] = []): TaskView[] {
  const stoppedVersions = new Map(knownStopped.map((task) => [task.taskArn, task.version]));
  return tasks.filter((task) => {
    if (task.lastStatus === 'STOPPED') return false;
    if (!stoppedVersions.has(task.taskArn)) return true;
    return isNewer(task.version, stoppedVersions.get(task.taskArn));
  });
}

function isNewer(apiVersion: number | undefined, eventVersion: number | undefined): boolean {
  return apiVersion !== undefined && eventVersion !== undefined && apiVersion > eventVersion;
}

type OurHook = { known: false; waits: false } | { known: true; waits: boolean; reason: string };

/** Whether a lifecycle action of our hook holds the instance, as far as the snapshot tells. */
function waitsOnOurHook(lifecycle: LifecycleView | null | undefined, policy: DrainPolicy): OurHook {
  if (lifecycle === undefined) return { known: false, waits: false };
  if (lifecycle === null) {
    return {
      known: true,
      waits: false,
      reason: 'instance is in no Auto Scaling group (drained by hand, or gone)',
    };
  }
  if (lifecycle.autoScalingGroupName !== policy.autoScalingGroupName) {
    return {
      known: true,
      waits: false,
      reason: `instance belongs to Auto Scaling group ${lifecycle.autoScalingGroupName}`,
    };
  }
  if (!HOOK_WAIT_STATES.has(lifecycle.lifecycleState)) {
    return {
      known: true,
      waits: false,
      reason: `no lifecycle action waits (state ${lifecycle.lifecycleState})`,
    };
  }
  return { known: true, waits: true, reason: `lifecycle action waits (${lifecycle.lifecycleState})` };
}

/**
 * A draining host with tasks left: that is progress, so restart the hook's heartbeat timer, paced
 * to a third of HeartbeatTimeout after the drain started or the last heartbeat this container sent.
 * Nothing to keep alive once we know no action of ours waits.
 */
function keepAliveAfter(
  timerRestartedAt: number | undefined,
  host: HostSnapshot,
  policy: DrainPolicy,
  ours: OurHook,
  progress: DrainProgress,
): HostCommand {
  if (ours.known && !ours.waits) return none(`tasks remain, and ${ours.reason}`, progress);
  const at = host.newestEventAt;
  if (at !== undefined && !heartbeatDue(timerRestartedAt, at, policy.heartbeatTimeoutSeconds)) {
    return none('drain in progress: the hook timer restarted recently', progress);
  }
  return { kind: 'heartbeat', reason: 'drain in progress: tasks remain on the host', progress };
}

function read(what: Observation): HostCommand {
  return { kind: 'read', what: [what] };
}

function complete(reason: string): HostCommand {
  return { kind: 'complete', reason };
}

function none(reason: string, progress?: DrainProgress): HostCommand {
  return { kind: 'none', reason, ...(progress && { progress }) };
}
