import {
  clusterMatches,
  type ControllerConfig,
  type DeadlineAction,
  servedGroup,
  type ServedGroup,
} from '../config';
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
  /** The AMI its agent reported (the `ecs.ami-id` attribute). */
  amiId?: string;
  /** When the controller started draining it (epoch ms), from its custom attribute. */
  drainStartedAt?: number;
  /** When a heartbeat was last recorded for its host (epoch ms), from its custom attribute. */
  heartbeatAt?: number;
  /** Alerts already sent (see Alert), from its custom attribute. */
  alertsSent?: string[];
  /**
   * The start of the drain those alerts were about (epoch ms), as the attribute records it. An
   * instance drained again later (set ACTIVE by hand, or back from a warm pool) keeps the record of
   * its earlier drain, which must not silence the alerts of this one. Absent: recorded before drains
   * were named, taken as this drain's.
   */
  alertsForDrainStartedAt?: number;
}

export interface TaskView {
  taskArn: string;
  containerInstanceArn: string;
  lastStatus: string;
  version: number | undefined;
  /** `service:<name>` or `family:<name>`: tells an operator what still holds the host. */
  group?: string;
  /** A task of a daemon service (known only when running tasks were read). */
  daemon?: boolean;
  /** When it reached STOPPED (epoch ms), if it has. */
  stoppedAt?: number;
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
  /**
   * Tasks that want to run (desired RUNNING) on the live container instances, with their group and
   * whether they are daemon tasks. Read only when a policy must know what they are: undefined until then.
   */
  tasksWantingToRunListed?: TaskView[];
  /** Stops reported by events; an API read may lag them. */
  stoppedByEvents: KnownStoppedTask[];
  /**
   * Tasks events report as told to stop and not stopped yet: each will send a STOPPED event, so the
   * host need not be listed before then (the task events path only).
   */
  stoppingByEvents?: KnownStoppedTask[];
  /** Those tasks as DescribeTasks shows them now; undefined until read. */
  stoppingByEventsRead?: TaskView[];
  /** undefined: not read yet; null: the instance is in no Auto Scaling group. */
  lifecycle?: LifecycleView | null;
  /** When its container instances were read (epoch ms). */
  observedAt?: number;
  /** Emission time (epoch ms) of the newest event about this host, or of the notification. */
  newestEventAt?: number;
  /** When this Lambda container last recorded a heartbeat for the host, by event time (epoch ms). */
  lastHeartbeatAt?: number;
  /** The reconciler: when it first saw our hook hold the instance (epoch ms), in this container. */
  heldSince?: number;
  /**
   * The reconciler: since when (epoch ms) it has seen no task wanting to run on the host, in this
   * container. The last task events of a drain are on their way then; a drain quiet for longer than
   * its tasks take to stop (QUIET_BEFORE_LOOK_MS) may be one whose last event was lost.
   */
  quietSince?: number;
  /**
   * Not this host's turn to have its tasks listed by the reconciler's run (a run lists only so many,
   * in turn): it is still kept alive, its deadline with `continue` still applies, and a later run
   * lists it.
   */
  listsDeferred?: boolean;
}

/** The lifecycle actions this controller owns, how it paces heartbeats, and what it does to drains that last. */
export type DrainPolicy = Omit<ControllerConfig, 'clusters' | 'alertTopicArn'> & {
  /**
   * Who decides: the start of a drain, a batch of task events, or the reconciler. Only the
   * reconciler looks at what still runs on a long drain (at most one list per drain per run), and
   * only it can tell that an event was lost.
   */
  path: DecisionPath;
};

/** Which function decides: the three drain paths, and launch readiness (which reads, never drains). */
export type DecisionPath = 'start' | 'event' | 'reconciler' | 'launch';

/**
 * Something an operator should hear about, once per drain and key (the keys already sent are kept
 * on the container instance, see ContainerInstanceView.alertsSent).
 */
export interface Alert {
  key: AlertKey;
  summary: string;
}

export type AlertKey = 'deadline' | 'cannot-progress' | 'lost-notification' | 'lost-event';

export type Observation =
  | 'container-instances'
  | 'all-container-instances'
  | 'stopping-tasks'
  /** List again the tasks of the instances whose list was remembered: the last check before completing. */
  | 'fresh-stopping-tasks'
  /** The tasks that still want to run, their services, and which are daemon tasks. */
  | 'running-tasks'
  /** Describe the tasks events report as told to stop: are they still stopping? */
  | 'tasks-told-to-stop'
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
  | { kind: 'drain'; containerInstanceArns: string[]; reason: string; alert?: Alert }
  /** `deadline`: the drain reached its deadline and this is what DeadlineAction decided. */
  | { kind: 'complete'; reason: string; deadline?: DeadlineAction; alert?: Alert }
  | { kind: 'heartbeat'; reason: string; progress: DrainProgress; alert?: Alert }
  /** Stop these tasks (StopTask), then wait for them as for any other stopping task. */
  | { kind: 'stop-tasks'; taskArns: string[]; reason: string; deadline?: DeadlineAction; alert?: Alert }
  /** The read contradicts an event: let the event come back once the read has caught up. */
  | { kind: 'retry'; reason: string }
  /**
   * `quiet`: routine, like a task event from a host that is not draining. `recheckAfterMs`: look at
   * the host again this long from now (the reconciler, within its run).
   */
  | {
      kind: 'none';
      reason: string;
      progress?: DrainProgress;
      quiet?: boolean;
      alert?: Alert;
      recheckAfterMs?: number;
    };

export function decideHost(host: HostSnapshot, policy: DrainPolicy): HostCommand {
  if (host.containerInstances === undefined) {
    return read(host.containerInstanceArns.length > 0 ? 'container-instances' : 'all-container-instances');
  }
  const live = host.containerInstances.filter((instance) => instance.status !== 'INACTIVE');
  const ours = waitsOnOurHook(host.lifecycle, policy, host.cluster);

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

  // The reconciler acts only on drains our hook holds. A container instance it found DRAINING whose
  // instance the groups do not show as held is mostly one just let go (ECS notices the termination
  // a minute later): one Auto Scaling read per fifty settles it, before any ECS read.
  if (policy.path === 'reconciler') {
    if (!ours.known) return read('lifecycle');
    if (!ours.waits) return none(`drain in progress, but ${ours.reason}`);
  }

  const active = live.filter((instance) => instance.status === 'ACTIVE');
  if (ours.waits && active.length > 0) {
    // An instance that registered during a drain is drained too; with no drain started at all, the
    // lifecycle notification never reached the start function.
    // The reconciler leaves the start function a few seconds to act, and looks again within the same
    // run (a later run may come late, or never: waiting on it let actions time out). Still undrained
    // by then, the notification was lost, late, or its handling failed: it drains, and says so.
    const neverDrained = live.every((instance) => instance.drainStartedAt === undefined);
    const heldFor = (host.observedAt ?? 0) - (host.heldSince ?? host.observedAt ?? 0);
    if (policy.path === 'reconciler' && neverDrained && heldFor < START_FUNCTION_GRACE_MS) {
      return {
        kind: 'none',
        reason: 'a terminating action of ours waits: the start function has a few seconds to act first',
        recheckAfterMs: START_FUNCTION_GRACE_MS - heldFor,
      };
    }
    return {
      kind: 'drain',
      containerInstanceArns: active.map((instance) => instance.arn),
      reason: 'terminating lifecycle action of ours waits',
      ...(policy.path === 'reconciler' &&
        neverDrained && {
          alert: {
            key: 'lost-notification',
            summary:
              'drain started by the reconciler: the lifecycle notification was lost or late, or its handling failed (a crash, a timeout)',
          },
        }),
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
  const drain = drainClock(host, live);
  const keepAlive = (progress: DrainProgress, alert?: Alert) =>
    withAlert(keepAliveAfter(drain.timerRestartedAt, host, policy, ours, progress), alert);
  if (progress.tasksWantingToRun > 0) {
    return onLongDrain(host, policy, ours, drain, progress) ?? keepAlive(progress);
  }
  if (live.some((instance) => !host.tasksToldToStop.has(instance.arn))) {
    // The task events finish drains; the reconciler looks only at those they may have missed: old
    // enough, and with no task wanting to run since its previous run. (Measured from the drain's start
    // alone, a refresh whose hundred drains end at once had the reconciler list and complete a hundred
    // hosts their own events were about to complete.)
    if (policy.path === 'reconciler' && !quietLongEnough(host, drain)) {
      if (ours.waits && drain.pastDeadline(policy) && policy.deadlineAction === 'continue')
        return deadlineComplete(policy, drain, progress);
      return withReason(keepAlive(progress), 'drain in progress: its task events will finish it');
    }
    if (host.listsDeferred === true) {
      // At the deadline, `continue` needs no list: the event path lets such a host go the same way.
      if (ours.waits && drain.pastDeadline(policy) && policy.deadlineAction === 'continue')
        return deadlineComplete(policy, drain, progress);
      return withReason(
        keepAlive(progress),
        'drain in progress: listed by a later run (this one spent its reads)',
      );
    }
    // A task an event reports as told to stop will send a STOPPED event, and that event will look at
    // the host: no list until then. One DescribeTasks per hundred such tasks of the batch confirms
    // they have not stopped yet (their events may arrive in any order). A read that lags can only
    // postpone the list: at worst until the reconciler looks (QUIET_BEFORE_LOOK_MS and a run).
    const announced = policy.path === 'event' ? announcedStops(host) : [];
    if (announced.length > 0) {
      if (host.stoppingByEventsRead === undefined) return read('tasks-told-to-stop');
      const stopping = tasksStillStopping(
        host.stoppingByEventsRead.filter((task) => announced.includes(task.taskArn)),
        host.stoppedByEvents,
      );
      if (stopping.length > 0) {
        return withReason(
          keepAlive({ ...progress, tasksStopping: stopping }),
          'drain in progress: a task told to stop has not stopped yet, and its STOPPED event will look again',
        );
      }
    }
    return { kind: 'read', what: ['stopping-tasks', ...readsWithList(host, ours, policy)] };
  }
  progress.tasksStopping = live.flatMap((instance) =>
    tasksStillStopping(host.tasksToldToStop.get(instance.arn) ?? [], host.stoppedByEvents),
  );
  if (progress.tasksStopping.length > 0) {
    // Tasks told to stop take their stop timeout; only `continue` cuts them short at the deadline.
    if (ours.waits && drain.pastDeadline(policy)) {
      if (policy.deadlineAction === 'continue') return deadlineComplete(policy, drain, progress);
      return keepAlive(progress, drain.once(deadlineAlert(policy, progress)));
    }
    const looksStuck = (drain.age ?? 0) >= policy.drainDeadlineSeconds * 1000 * CANNOT_PROGRESS_SHARE;
    if (policy.path === 'reconciler' && ours.waits && looksStuck) {
      return keepAlive(
        progress,
        drain.once({ key: 'cannot-progress', summary: whyNoProgress(undefined, progress) }),
      );
    }
    return keepAlive(progress);
  }

  // A remembered list misses a task placed after it was made, should the instance have been set
  // ACTIVE and drained again meanwhile by someone else: list once more before letting the host go.
  if (live.some((instance) => host.rememberedLists?.has(instance.arn))) {
    if (host.listsDeferred === true) {
      return withReason(
        keepAlive(progress),
        'drain looks done: listed by a later run (this one spent its reads)',
      );
    }
    return { kind: 'read', what: ['fresh-stopping-tasks', ...readsWithList(host, ours, policy)] };
  }

  const missing = completionReads(host, ours);
  if (missing.length > 0 || !ours.known) return { kind: 'read', what: missing };
  if (!ours.waits) return none(`host is empty but ${ours.reason}`);
  return {
    kind: 'complete',
    reason: 'no task left on the host',
    ...(policy.path === 'reconciler' &&
      eventLost(host, drain) && {
        alert: {
          key: 'lost-event',
          summary: 'drain finished by the reconciler: the last task STOPPED event was lost or late',
        },
      }),
  };
}

/**
 * What only a completion needs: every container instance registered for the EC2 instance must be
 * empty, not only those the events named, and our hook must hold it.
 */
function completionReads(host: HostSnapshot, ours: OurHook): Observation[] {
  const reads: Observation[] = [];
  if (!host.allContainerInstancesFound) reads.push('all-container-instances');
  if (!ours.known) reads.push('lifecycle');
  return reads;
}

/**
 * The completion reads made together with a list of the host's stopping tasks. The event paths read
 * them in parallel with their last list, so that the hand-back waits for one round of reads, not
 * three; the events before the last one of a drain do not list, so they do not pay for these either.
 * The reconciler reads them only once its list shows the host empty: most hosts it lists are drains
 * whose tasks still stop (listed again each run), and a drain whose last event was lost can wait one
 * more round. With them, a ListContainerInstances per twenty such hosts each run was a sixth of its
 * reads in the designs refresh.
 */
function readsWithList(host: HostSnapshot, ours: OurHook, policy: DrainPolicy): Observation[] {
  return policy.path === 'reconciler' ? [] : completionReads(host, ours);
}

/** Tasks that events report as told to stop, with no STOPPED event seen for them. */
function announcedStops(host: HostSnapshot): string[] {
  const stopped = new Set(host.stoppedByEvents.map((task) => task.taskArn));
  return (host.stoppingByEvents ?? []).flatMap((task) => (stopped.has(task.taskArn) ? [] : [task.taskArn]));
}

/**
 * How long the reconciler leaves a drain to the event paths before it looks at it: longer than an
 * event takes to arrive and be handled (seconds), short enough that a lost event costs little.
 */
export const RECONCILER_PATIENCE_MS = 90_000;

/**
 * How long a drain must have had no task wanting to run before the reconciler lists its stopping
 * tasks, looking for a lost last event. Its tasks are then stopping: behind a load balancer, for
 * the target group's deregistration delay (300 s by default) and the stop timeout. The task events
 * finish those drains within seconds of the last stop, so a reconciler that looked after 45 s listed
 * almost every drain of a refresh once, and described their stopping tasks every run after (in the
 * designs refresh, 57 of its 114 reads, for no completion). The price: a drain whose last event is
 * lost waits up to this long, and a run, before the reconciler finishes it (heartbeats go on).
 */
export const QUIET_BEFORE_LOOK_MS = 5 * 60_000;

/** The reconciler finishes a drain itself only when it was old and quiet for a while. */
function quietLongEnough(host: HostSnapshot, drain: DrainClock): boolean {
  if ((drain.age ?? Infinity) < RECONCILER_PATIENCE_MS) return false;
  return (
    host.quietSince !== undefined &&
    host.observedAt !== undefined &&
    host.observedAt - host.quietSince >= QUIET_BEFORE_LOOK_MS
  );
}

/**
 * How long the reconciler leaves a terminating action of ours to the start function before it
 * drains the instance itself: the notification's delivery, its batching window and a drain take
 * a few seconds; a retry after a failure takes minutes, and the hook's timer runs meanwhile.
 */
export const START_FUNCTION_GRACE_MS = 15_000;

/** A drain's age, and when the hook's timer last restarted, from what the snapshot tells. */
interface DrainClock {
  startedAt?: number;
  /** Milliseconds since the drain started, at the time of the read. */
  age?: number;
  timerRestartedAt?: number;
  pastDeadline(policy: DrainPolicy): boolean;
  /** The alert, unless it was already sent for this drain. */
  once(alert: Alert): Alert | undefined;
}

function drainClock(host: HostSnapshot, live: ContainerInstanceView[]): DrainClock {
  // The hook's timer restarted when the host's drain started (the earliest start: an instance drained
  // later, one that registered during the drain, restarted no timer), and at every heartbeat since.
  const startedAt = drainStartOf(live);
  const restarts = [startedAt, host.lastHeartbeatAt, ...live.map((instance) => instance.heartbeatAt)].filter(
    (at): at is number => at !== undefined,
  );
  const age =
    startedAt === undefined || host.observedAt === undefined ? undefined : host.observedAt - startedAt;
  const sent = new Set(alertsSentInDrain(live, startedAt));
  return {
    ...(startedAt !== undefined && { startedAt }),
    ...(age !== undefined && { age }),
    ...(restarts.length > 0 && { timerRestartedAt: Math.max(...restarts) }),
    pastDeadline: (policy) => age !== undefined && age >= policy.drainDeadlineSeconds * 1000,
    once: (alert) => (sent.has(alert.key) ? undefined : alert),
  };
}

/** The host's drain start: the earliest recorded on its live container instances. */
export function drainStartOf(instances: ContainerInstanceView[]): number | undefined {
  const live = instances.filter((instance) => instance.status !== 'INACTIVE');
  const starts = live.flatMap((instance) => instance.drainStartedAt ?? []);
  return starts.length === 0 ? undefined : Math.min(...starts);
}

/** The alert keys already sent about the drain that started at `startedAt`, not about an earlier one. */
export function alertsSentInDrain(
  instances: ContainerInstanceView[],
  startedAt: number | undefined,
): string[] {
  return instances.flatMap((instance) =>
    instance.alertsForDrainStartedAt === undefined || instance.alertsForDrainStartedAt === startedAt
      ? (instance.alertsSent ?? [])
      : [],
  );
}

/** A drain older than this share of its deadline, with tasks that still want to run, is worth a look. */
export const CANNOT_PROGRESS_SHARE = 0.5;

/**
 * Tasks still want to run on a drain of ours: is it time for a policy? The deadline, standalone
 * tasks past their grace, daemon tasks left alone, a drain that does not move. Only the reconciler
 * reads what runs (one list per such drain per run); the event paths only keep the drain alive.
 */
function onLongDrain(
  host: HostSnapshot,
  policy: DrainPolicy,
  ours: OurHook,
  drain: DrainClock,
  progress: DrainProgress,
): HostCommand | undefined {
  const { age } = drain;
  if (!ours.waits || age === undefined) return undefined;
  const pastDeadline = drain.pastDeadline(policy);
  if (policy.path !== 'reconciler') {
    return pastDeadline && policy.deadlineAction === 'continue'
      ? deadlineComplete(policy, drain, progress)
      : undefined;
  }

  const standaloneDue = policy.standaloneTasks === 'stop' && age >= policy.standaloneGraceSeconds * 1000;
  const looksStuck = age >= policy.drainDeadlineSeconds * 1000 * CANNOT_PROGRESS_SHARE;
  // Daemon tasks can be all that is left only once few tasks want to run, and ECS itself stops them
  // seconds after the others: a look (two lists) is worth it only on a drain that has lasted.
  const daemonsMayBeAlone =
    age >= Math.max(policy.daemonGraceSeconds * 1000, LONE_DAEMON_LOOK_AFTER_MS) &&
    progress.tasksWantingToRun <= DAEMON_TASKS_PER_HOST_MAX;
  if (!pastDeadline && !standaloneDue && !looksStuck && !daemonsMayBeAlone) return undefined;
  const running = host.tasksWantingToRunListed;
  if (running === undefined) {
    if (host.listsDeferred !== true) return read('running-tasks');
    // Not this run's turn: only `continue` acts at the deadline without knowing what still runs.
    return pastDeadline && policy.deadlineAction === 'continue'
      ? deadlineComplete(policy, drain, progress)
      : undefined;
  }

  // The reconciler names what it lets go with: the alert says which services lost their tasks.
  if (pastDeadline && policy.deadlineAction === 'continue')
    return deadlineComplete(policy, drain, progress, running);
  const others = running.filter((task) => task.daemon !== true);
  const daemons = running.filter((task) => task.daemon === true);
  const standalone = running.filter(isStandalone);
  if (pastDeadline && policy.deadlineAction === 'stop-tasks' && others.length > 0) {
    return {
      kind: 'stop-tasks',
      taskArns: others.map((task) => task.taskArn),
      reason: `drain deadline (${policy.drainDeadlineSeconds} s) reached: stopping the tasks that still run`,
      deadline: 'stop-tasks',
      ...withKey(drain.once(deadlineAlert(policy, progress, running))),
    };
  }
  if (standaloneDue && standalone.length > 0) {
    return {
      kind: 'stop-tasks',
      taskArns: standalone.map((task) => task.taskArn),
      reason: `standalone tasks still run ${policy.standaloneGraceSeconds} s after the drain started: stopping them`,
    };
  }
  if (others.length === 0 && daemons.length > 0) {
    // ECS stops daemon tasks once every other task has stopped: a grace after the last of those.
    if (!everyListed(host)) return host.listsDeferred === true ? undefined : read('stopping-tasks');
    const othersStoppedAt = lastStopOfOthers(host, drain);
    if (
      othersStoppedAt !== undefined &&
      (host.observedAt ?? 0) - othersStoppedAt >= policy.daemonGraceSeconds * 1000
    ) {
      return {
        kind: 'stop-tasks',
        taskArns: daemons.map((task) => task.taskArn),
        reason: `only daemon tasks still run, ${policy.daemonGraceSeconds} s after the other tasks stopped: stopping them`,
      };
    }
  }
  if (pastDeadline) {
    return withAlert(
      keepAliveAfter(drain.timerRestartedAt, host, policy, ours, progress),
      drain.once(deadlineAlert(policy, progress, running)),
    );
  }
  if (looksStuck) {
    return withAlert(
      keepAliveAfter(drain.timerRestartedAt, host, policy, ours, progress),
      drain.once({ key: 'cannot-progress', summary: whyNoProgress(running, progress) }),
    );
  }
  return undefined;
}

function deadlineComplete(
  policy: DrainPolicy,
  drain: DrainClock,
  progress: DrainProgress,
  running?: TaskView[],
): HostCommand {
  return {
    kind: 'complete',
    reason: `drain deadline (${policy.drainDeadlineSeconds} s) reached: letting the instance go (DeadlineAction continue)`,
    deadline: 'continue',
    ...withKey(drain.once(deadlineAlert(policy, progress, running))),
  };
}

function deadlineAlert(policy: DrainPolicy, progress: DrainProgress, running?: TaskView[]): Alert {
  const done = {
    continue: 'the instance was let go with the tasks below',
    'stop-tasks': 'the tasks below were stopped; the instance goes once they have stopped',
    'keep-waiting': "still waiting (heartbeats go on until the hook's global timeout)",
  }[policy.deadlineAction];
  return {
    key: 'deadline',
    summary: `drain deadline of ${policy.drainDeadlineSeconds} s reached: ${done}. ${whyNoProgress(running, progress)}`,
  };
}

/** What the controller can see holding a drain, in words an operator can act on. */
export function whyNoProgress(running: TaskView[] | undefined, progress: DrainProgress): string {
  const reasons: string[] = [];
  const byGroup = new Map<string, number>();
  // Daemon tasks are never replaced elsewhere: ECS stops them once the others have gone.
  for (const task of (running ?? []).filter((task) => task.daemon !== true)) {
    const group = task.group ?? 'unknown';
    byGroup.set(group, (byGroup.get(group) ?? 0) + 1);
  }
  const standalone = (running ?? []).filter(isStandalone).length;
  if (standalone > 0) reasons.push(`${standalone} standalone task(s), which draining never moves`);
  const services = [...byGroup].filter(([group]) => group.startsWith('service:'));
  if (services.length > 0) {
    reasons.push(
      `service task(s) not replaced yet (${services.map(([group, n]) => `${group.slice(8)}: ${n}`).join(', ')}): ` +
        'the service may lack room to place replacements, or its deployment bounds forbid stopping them',
    );
  }
  if (running === undefined && progress.tasksWantingToRun > 0) {
    reasons.push(`${progress.tasksWantingToRun} task(s) still want to run`);
  }
  if (progress.tasksStopping.length > 0)
    reasons.push(`${progress.tasksStopping.length} task(s) still stopping`);
  if (progress.agentDisconnected.length > 0) {
    reasons.push(`ECS agent disconnected on ${progress.agentDisconnected.join(', ')}`);
  }
  return reasons.length === 0 ? 'Nothing visible holds it.' : `Holding it: ${reasons.join('; ')}.`;
}

/** How many daemon tasks a host may run: with more tasks wanting to run, some are not daemon tasks. */
export const DAEMON_TASKS_PER_HOST_MAX = 3;

/**
 * From what drain age the reconciler looks for daemon tasks left alone. Looking every minute from
 * DaemonGrace on cost a refresh of 1,000 instances 2,200 more ECS reads (6,233 against 4,031), for
 * daemon tasks ECS stopped itself seconds later; so a lone daemon task holds a drain at most this
 * long, or DaemonGrace after the other tasks stopped if that is later.
 */
export const LONE_DAEMON_LOOK_AFTER_MS = 10 * 60_000;

/** The tasks told to stop have been listed on every live container instance of the host. */
function everyListed(host: HostSnapshot): boolean {
  const live = (host.containerInstances ?? []).filter((instance) => instance.status !== 'INACTIVE');
  return live.every((instance) => host.tasksToldToStop.has(instance.arn));
}

/**
 * When the last of the host's other tasks stopped: undefined while one is still stopping. With no
 * stop time known (none was described), the drain's start stands in for it.
 */
function lastStopOfOthers(host: HostSnapshot, drain: DrainClock): number | undefined {
  const listed = [...host.tasksToldToStop.values()].flat();
  if (tasksStillStopping(listed, host.stoppedByEvents).length > 0) return undefined;
  const stops = listed.flatMap((task) => task.stoppedAt ?? []);
  return stops.length > 0 ? Math.max(...stops) : drain.startedAt;
}

function isStandalone(task: TaskView): boolean {
  return task.daemon !== true && !(task.group ?? '').startsWith('service:');
}

/** How long after a drain's last known stop a completion by the reconciler means an event was lost: the event path takes seconds (p99 under throttling about 9 s). */
export const EVENT_LOSS_AFTER_MS = 20_000;

function eventLost(host: HostSnapshot, drain: DrainClock): boolean {
  if (host.observedAt === undefined) return false;
  // Empty before our hook held it (a blue/green rollout's standby fleet, drained and emptied long
  // before it is retired): no task event was due during the hold, none was lost. Held but not yet
  // when this run listed the held instances: the hold began during the run.
  const heldFrom = host.heldSince ?? host.observedAt;
  if (host.quietSince !== undefined && host.quietSince < heldFrom) return false;
  const stops = [...host.tasksToldToStop.values()].flat().flatMap((task) => task.stoppedAt ?? []);
  const lastKnown = stops.length > 0 ? Math.max(...stops) : drain.startedAt;
  return lastKnown !== undefined && host.observedAt - lastKnown > EVENT_LOSS_AFTER_MS;
}

function withKey(alert: Alert | undefined): { alert?: Alert } {
  return alert === undefined ? {} : { alert };
}

function withReason(command: HostCommand, reason: string): HostCommand {
  return command.kind === 'none' ? { ...command, reason } : command;
}

function withAlert(command: HostCommand, alert: Alert | undefined): HostCommand {
  if (alert === undefined) return command;
  if (command.kind === 'heartbeat' || command.kind === 'none') return { ...command, alert };
  return command;
}

/** How long a read may plausibly lag the events it contradicts; older events are not kept for a second look. */
export const READ_LAG_ALLOWANCE_MS = 60_000;

function drainSaidRecently(host: HostSnapshot): boolean {
  const { observedAt } = host;
  if (observedAt === undefined) return false;
  // Only a STOPPED event can be the last of a drain; a task told to stop will send one.
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
function waitsOnOurHook(
  lifecycle: LifecycleView | null | undefined,
  policy: DrainPolicy,
  cluster: string,
): OurHook {
  if (lifecycle === undefined) return { known: false, waits: false };
  if (lifecycle === null) {
    return {
      known: true,
      waits: false,
      reason: 'instance is in no Auto Scaling group (drained by hand, or gone)',
    };
  }
  if (servedGroup(policy.groups, lifecycle.autoScalingGroupName, cluster) === undefined) {
    return {
      known: true,
      waits: false,
      reason: `instance belongs to Auto Scaling group ${lifecycle.autoScalingGroupName}, not served for this cluster`,
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
 * to a third of HeartbeatTimeout (less for short timeouts: see heartbeatEverySeconds) after the drain
 * started or the last heartbeat this container sent.
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
  // A heartbeat names the group: with several served for the cluster, read which one holds it (with
  // one, a heartbeat for an action that is not there is refused harmlessly).
  if (!ours.known && onlyGroupOf(policy, host.cluster) === undefined) return read('lifecycle');
  return { kind: 'heartbeat', reason: 'drain in progress: tasks remain on the host', progress };
}

/** The one group served for this cluster, if there is exactly one. */
export function onlyGroupOf(policy: Pick<DrainPolicy, 'groups'>, cluster: string): ServedGroup | undefined {
  const groups = policy.groups.filter((group) => clusterMatches(cluster, group.cluster));
  return groups.length === 1 ? groups[0] : undefined;
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
