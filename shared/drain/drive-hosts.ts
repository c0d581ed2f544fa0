import type { AutoScalingAdapter } from '../aws/auto-scaling';
import type { AlertPublisher } from '../aws/sns';
import { chunks, type DrainingResult, type EcsAdapter, UPDATE_STATE_MAX } from '../aws/ecs';
import {
  type ContainerInstanceView,
  type DecisionPath,
  decideHost,
  type DrainPolicy,
  type HostCommand,
  type HostSnapshot,
  type Observation,
  type TaskView,
  tasksWantingToRun,
} from '../decisions/host';
import type { Telemetry } from '../observability';
import { act, alertOnce, bestEffort, drained, restartHookTimer, RetryLaterError } from './act';
import { realTiming, type Timing } from '../aws/pacer';
import { inParallel } from '../in-parallel';
import type { Deadlines } from './sqs-batch';
import type { ControllerConfig } from '../config';
import {
  AnnouncedStops,
  HeartbeatPacer,
  type ListingTurns,
  StoppedTasks,
  StoppingTasks,
} from './container-memory';

/** Everything a path needs to observe and act on hosts: adapters over its own clients, and its memory. */
/** `actBy`, `callsBy`: this invocation's deadlines (setDeadlines); unbounded when absent. */
export interface DrainDeps extends Telemetry, Deadlines {
  ecs: EcsAdapter;
  autoScaling: AutoScalingAdapter;
  policy: DrainPolicy;
  heartbeats: HeartbeatPacer;
  stoppedTasks: StoppedTasks;
  stoppingTasks: StoppingTasks;
  announcedStops: AnnouncedStops;
  timing: Timing;
  alerts: AlertPublisher;
  /** Daemon services per cluster, as DescribeServices told this container (a service keeps its strategy). */
  daemonServices: Map<string, Map<string, boolean>>;
  /**
   * The reconciler: whose turn it is to have its tasks listed this run (a run lists only so many
   * hosts, to end well within its timeout at its read pace). Unbounded when absent.
   */
  listingTurns?: ListingTurns;
}

/** What a function's handler is built from: configuration, adapters over its own clients, telemetry. */
export interface FunctionDependencies {
  config: ControllerConfig;
  ecs: EcsAdapter;
  autoScaling: AutoScalingAdapter;
  telemetry: Telemetry & { publish(): void };
  alerts: AlertPublisher;
  /** The clock: real in Lambda (the default), simulated in the twin. */
  timing?: Timing;
}

/** One Lambda container's drain dependencies: its adapters, and a fresh memory that lives as long as it does. */
export function containerDeps(
  { config, ecs, autoScaling, telemetry, alerts, timing = realTiming }: FunctionDependencies,
  path: DecisionPath,
): DrainDeps {
  return {
    ...telemetry,
    timing,
    ecs,
    autoScaling,
    alerts,
    daemonServices: new Map(),
    policy: { ...config, path },
    heartbeats: new HeartbeatPacer(),
    stoppedTasks: new StoppedTasks(),
    stoppingTasks: new StoppingTasks(),
    announcedStops: new AnnouncedStops(),
  };
}

/** A host of an SQS batch, with the messages that asked about it: they share its fate. */
export type BatchHost = Host & { messageIds: Set<string> };

/** One host on its way through observe, decide, act. */
export interface Host {
  snapshot: HostSnapshot & { tasksToldToStop: Map<string, TaskView[]>; rememberedLists: Set<string> };
  /** Known from the lifecycle notification; otherwise the action is named by instance id. */
  lifecycleActionToken?: string;
  /** What woke us up about this host, for the log line. */
  context: Record<string, unknown>;
  /** Times the host's container instances were read again because a read contradicted an event. */
  secondLooks?: number;
  /** Its action has been started (its Auto Scaling call, if any, is in the pacer or gone): see listInTurn. */
  actedOn?: boolean;
}

export interface HostResult {
  host: Host;
  /** The last command decided for the host (absent if a read failed before any decision). */
  command?: HostCommand;
  /** Set when a read or an action failed: the caller retries whatever woke it up. */
  error?: unknown;
}

/** A fresh snapshot: nothing read yet. */
export function newHost(
  snapshot: Omit<HostSnapshot, 'tasksToldToStop' | 'rememberedLists' | 'allContainerInstancesFound'> &
    Partial<Pick<HostSnapshot, 'allContainerInstancesFound'>>,
  context: Record<string, unknown>,
  lifecycleActionToken?: string,
): Host {
  return {
    snapshot: {
      allContainerInstancesFound: false,
      ...snapshot,
      tasksToldToStop: new Map(),
      rememberedLists: new Set(),
    },
    context,
    ...(lifecycleActionToken !== undefined && { lifecycleActionToken }),
  };
}

/** A decision needs at most: describe, list siblings, list stopping tasks, read lifecycle, act, decide again. */
const MAX_ROUNDS = 10;

/**
 * Observe, decide, act, for many hosts at once. Every pending host is decided; the reads they ask
 * for are made together, batched over hosts (a hundred container instances or tasks per call,
 * twenty EC2 instances per lookup, fifty per Auto Scaling call); drains are batched ten instances
 * per call. Each group of hosts that made the same read goes on as soon as that read is done, so
 * a host one cheap read away from completion does not wait for the slow reads of others. A host
 * whose read or action fails is reported with its error; the others go on.
 */
export async function driveHosts(hosts: Host[], deps: DrainDeps): Promise<HostResult[]> {
  /** Hosts merged into another one (same EC2 instance), which decides for both. */
  const merged = new Map<Host, Host>();
  const results = await drive(hosts, deps, 0, merged);
  // A merged host shares the fate of the one that decided for it (its caller retries what woke it).
  for (const [host, survivor] of merged) {
    const result = results.find((candidate) => candidate.host === survivor);
    // Fail closed: without a result for the host that decided, retry what woke this one up.
    results.push(
      result === undefined ? { host, error: new Error('merged host was not decided') } : { ...result, host },
    );
  }
  return results;
}

async function drive(
  hosts: Host[],
  deps: DrainDeps,
  round: number,
  merged: Map<Host, Host>,
): Promise<HostResult[]> {
  const pending = mergeSameInstance(hosts, merged);
  if (round === MAX_ROUNDS) {
    return pending.map((host) => ({ host, error: new Error('the decision did not settle') }));
  }
  const results: HostResult[] = [];
  const reads = new Map<string, { what: Observation[]; hosts: Host[] }>();
  const drains: Drain[] = [];
  const secondLooks: Host[] = [];
  const actions: { host: Host; command: Exclude<HostCommand, { kind: 'read' | 'drain' }> }[] = [];
  const decided = pending.map((host) => ({ host, command: decideHost(host.snapshot, deps.policy) }));
  takeTurns(decided, deps);
  for (const { host, command } of decided) {
    if (command.kind === 'read') {
      const key = command.what.join('+');
      const group = reads.get(key) ?? { what: command.what, hosts: [] };
      group.hosts.push(host);
      reads.set(key, group);
    } else if (command.kind === 'drain') drains.push({ host, command });
    else if (command.kind === 'retry' && (host.secondLooks ?? 0) < SECOND_LOOK_SECONDS.length) {
      secondLooks.push(host);
    } else actions.push({ host, command });
  }

  const branches: Promise<HostResult[]>[] = [];
  // A read that contradicts an event is looked at again after a short wait, within this invocation.
  for (const host of secondLooks) {
    branches.push(
      (async () => {
        const look = host.secondLooks ?? 0;
        const wait = (SECOND_LOOK_SECONDS[look] ?? 0) * 1000;
        if (deps.actBy !== undefined && deps.timing.now() + wait >= deps.actBy)
          return [
            {
              host,
              error: new RetryLaterError('not looked at again: the invocation is close to its timeout'),
            },
          ];
        host.secondLooks = look + 1;
        await deps.timing.sleep(wait);
        delete host.snapshot.containerInstances;
        return drive([host], deps, round + 1, merged);
      })(),
    );
  }
  branches.push(
    (async () => {
      const again: Host[] = [];
      for (const [host, outcome] of await drainTogether(drains, deps)) {
        if (outcome.error === undefined) again.push(host);
        else results.push({ host, command: outcome.command, error: outcome.error });
      }
      return again.length === 0 ? [] : drive(again, deps, round + 1, merged);
    })(),
  );
  for (const { what, hosts: group } of reads.values()) {
    if (deps.actBy !== undefined && what.some((kind) => LISTS.has(kind))) {
      branches.push(listInTurn(what, group, deps, round, merged));
      continue;
    }
    branches.push(
      (async () => {
        const failed = new Map<Host, unknown>();
        try {
          await Promise.all(what.map((kind) => observe(kind, group, deps, failed)));
        } catch (error) {
          return group.map((host) => ({ host, error }));
        }
        const again = group.filter((host) => !failed.has(host));
        for (const [host, error] of failed) results.push({ host, error });
        return drive(again, deps, round + 1, merged);
      })(),
    );
  }
  await inParallel(actions, ACT_CONCURRENCY, async ({ host, command }) => {
    if (deps.actBy !== undefined && deps.timing.now() >= deps.actBy && command.kind !== 'none') {
      results.push({
        host,
        command,
        error: new RetryLaterError('not acted on: the invocation is close to its timeout'),
      });
      return;
    }
    // Its Auto Scaling call would wait for the container's share past `callsBy`: handed back now, as
    // Lambda would end the invocation mid-wait and send back the messages of every host of the batch.
    if (
      deps.callsBy !== undefined &&
      (command.kind === 'complete' || command.kind === 'heartbeat') &&
      deps.autoScaling.callsPossibleBy(deps.callsBy) < 1
    ) {
      results.push({
        host,
        command,
        error: new RetryLaterError("not acted on: this invocation's Auto Scaling share is spoken for"),
      });
      return;
    }
    host.actedOn = true;
    try {
      await act(host, command, deps);
      results.push({ host, command });
    } catch (error) {
      results.push({ host, command, error });
    }
  });
  for (const branch of await Promise.all(branches)) results.push(...branch);
  return results;
}

/**
 * The reads of a group of hosts that includes a list of each host's tasks (one ListTasks per
 * container instance, paced), in an invocation with a deadline. Listed all together, no host of a
 * large group could be decided before the last list was in: in a refresh of 3,000 instances, a batch
 * of 284 hosts whose drains ended together spent 50 s on 160 lists, reached the end of its time
 * with none acted on, and failed them all back to the queue, five times over, until the failure
 * queue. So the hosts are listed in turns of LIST_TURN, and each turn goes on to its decision and
 * its action as soon as its own lists are in, while the next turn lists. A turn is listed only if
 * its lists can be in by `actBy` and its hosts' completions can leave the Auto Scaling pacer by
 * `callsBy`, with the hosts of the turns before it: the others are handed back at once, unread (their
 * messages come back after the visibility timeout, to this container or the other), instead of
 * spending the reads and the share that the hosts taken on need. The reads the group shares (the
 * lifecycle states, fifty per call; the container instances of the EC2 instances, twenty per list)
 * are made once for the group, as before.
 */
async function listInTurn(
  what: Observation[],
  group: Host[],
  deps: DrainDeps,
  round: number,
  merged: Map<Host, Host>,
): Promise<HostResult[]> {
  const failed = new Map<Host, unknown>();
  const sharedReads = what.filter((kind) => !LISTS.has(kind));
  const lists = what.filter((kind) => LISTS.has(kind));
  const shared = Promise.all(sharedReads.map((kind) => observe(kind, group, deps, failed)));
  // Awaited by every turn; a rejection is each turn's to report, not an unhandled one.
  void shared.catch(() => undefined);
  const results: HostResult[] = [];
  const turns: Promise<HostResult[]>[] = [];
  /**
   * Hosts taken on by the turns before this one (one Auto Scaling call each at most): those not acted on
   * yet still need the share; the calls of those acted on are in the pacer, or gone.
   */
  const takenOn: Host[] = [];
  const turnsOf = [...chunks(group, LIST_TURN)];
  for (const [index, turn] of turnsOf.entries()) {
    // The first turn lists beside the shared reads (a small group waits for one round of reads, not
    // two); the next ones wait for them, or the shared reads, made one after another behind the
    // turns' lists, would hold up every completion while the Auto Scaling share's burst overflows.
    if (index === 1) {
      const sharedError = await shared.then(
        () => undefined,
        (error: unknown) => error ?? new Error('a read shared by the group failed'),
      );
      // Without them no host of the group can be decided: the turns not listed yet are not listed.
      if (sharedError !== undefined) {
        for (const host of turnsOf.slice(index).flat()) results.push({ host, error: sharedError });
        break;
      }
    }
    const now = deps.timing.now();
    const listsNeeded = turn.reduce((sum, host) => sum + listsOf(host, deps), 0);
    // The pacer counts the calls waiting in it; takenOn, the hosts whose calls are still to come.
    const asCalls = deps.callsBy === undefined ? Infinity : deps.autoScaling.callsPossibleBy(deps.callsBy);
    const stillToAct = takenOn.filter((host) => !host.actedOn).length;
    const listBy = deps.actBy ?? Infinity;
    const intime =
      now < listBy &&
      deps.ecs.readsPossibleBy(listBy - LIST_TO_CALL_MS) >= listsNeeded &&
      asCalls >= stillToAct + turn.length;
    if (!intime) {
      for (const host of turnsOf.slice(index).flat()) {
        results.push({
          host,
          error: new RetryLaterError('not read: this invocation could not act on it in time, handed back'),
        });
      }
      break;
    }
    try {
      await Promise.all(lists.map((kind) => observe(kind, turn, deps, failed)));
    } catch (error) {
      // A read shared by the turn (its DescribeTasks) failed: its hosts are retried, the next turns go on.
      results.push(...turn.map((host) => ({ host, error })));
      continue;
    }
    takenOn.push(...turn);
    turns.push(
      (async () => {
        try {
          await shared;
          const out: HostResult[] = [];
          for (const host of turn) {
            const error = failed.get(host);
            if (error !== undefined) out.push({ host, error });
          }
          const again = turn.filter((host) => !failed.has(host));
          return [...out, ...(await drive(again, deps, round + 1, merged))];
        } catch (error) {
          return turn.map((host) => ({ host, error }));
        } finally {
          for (const host of turn) host.actedOn = true;
        }
      })(),
    );
  }
  for (const turn of await Promise.all(turns)) results.push(...turn);
  return results;
}

/** ListTasks calls a host's list of stopping tasks needs (one per container instance not listed yet). */
function listsOf(host: Host, deps: DrainDeps): number {
  return (host.snapshot.containerInstances ?? []).filter(
    (instance) =>
      instance.status !== 'INACTIVE' &&
      !host.snapshot.tasksToldToStop.has(instance.arn) &&
      deps.stoppingTasks.get(instance.arn) === undefined,
  ).length;
}

/**
 * Events about two container instances of one EC2 instance start as two hosts; once their
 * container instances are described they are one host, decided once (one heartbeat, one completion).
 */
function mergeSameInstance(hosts: Host[], merged: Map<Host, Host>): Host[] {
  const kept: Host[] = [];
  const byInstance = new Map<string, Host>();
  for (const host of hosts) {
    const { snapshot } = host;
    const key =
      snapshot.ec2InstanceId === undefined ? undefined : `${snapshot.cluster} ${snapshot.ec2InstanceId}`;
    const survivor = key === undefined ? undefined : byInstance.get(key);
    if (survivor === undefined) {
      if (key !== undefined) byInstance.set(key, host);
      kept.push(host);
      continue;
    }
    const into = survivor.snapshot;
    const instances = new Map((into.containerInstances ?? []).map((instance) => [instance.arn, instance]));
    for (const instance of snapshot.containerInstances ?? []) {
      if (!instances.has(instance.arn)) instances.set(instance.arn, instance);
    }
    into.containerInstances = [...instances.values()];
    into.containerInstanceArns = [
      ...new Set([...into.containerInstanceArns, ...snapshot.containerInstanceArns]),
    ];
    for (const task of snapshot.stoppedByEvents) {
      if (!into.stoppedByEvents.some((known) => known.taskArn === task.taskArn))
        into.stoppedByEvents.push(task);
    }
    if (snapshot.stoppingByEvents !== undefined) {
      into.stoppingByEvents = [...(into.stoppingByEvents ?? []), ...snapshot.stoppingByEvents];
      // Read again for both, should either have been read already.
      delete into.stoppingByEventsRead;
    }
    for (const [arn, tasks] of snapshot.tasksToldToStop) {
      if (!into.tasksToldToStop.has(arn)) into.tasksToldToStop.set(arn, tasks);
    }
    for (const arn of snapshot.rememberedLists) into.rememberedLists.add(arn);
    into.allContainerInstancesFound &&= snapshot.allContainerInstancesFound;
    if (snapshot.newestEventAt !== undefined) {
      into.newestEventAt = Math.max(into.newestEventAt ?? snapshot.newestEventAt, snapshot.newestEventAt);
    }
    into.lifecycle ??= snapshot.lifecycle;
    merged.set(host, survivor);
  }
  return kept;
}

type Drain = { host: Host; command: Extract<HostCommand, { kind: 'drain' }> };

/**
 * Sets the container instances of all these hosts to DRAINING, ten per UpdateContainerInstancesState
 * across hosts (a scale-in of a hundred instances costs ten calls, not a hundred). A call that fails
 * fails the hosts whose instances it carried; a refusal fails the host of the refused instance only.
 */
async function drainTogether(
  drains: Drain[],
  deps: DrainDeps,
): Promise<Map<Host, { command: Drain['command']; error?: unknown }>> {
  const outcomes = new Map<Host, { command: Drain['command']; error?: unknown }>();
  for (const [cluster, group] of byCluster(drains.map((drain) => drain.host))) {
    const mine = drains.filter((drain) => group.includes(drain.host));
    const owner = new Map(
      mine.flatMap(({ host, command }) => command.containerInstanceArns.map((arn) => [arn, host])),
    );
    const answers = new Map<Host, DrainingResult>(
      mine.map(({ host }) => [host, { draining: [], failures: [] }]),
    );
    const failed = new Map<Host, unknown>();
    for (const batch of chunks([...owner.keys()], UPDATE_STATE_MAX)) {
      try {
        // The start time first, so that a drained instance seldom lacks it. Should it fail (ECS allows
        // ten custom attributes per instance), drain anyway: without it only the deadline and the
        // heartbeat pacing are lost for that drain, while an undrained host loses its tasks.
        const first = owner.get(batch[0] ?? '');
        const write = () =>
          deps.ecs.markDrainStarted(
            cluster,
            batch.map((arn) => ({ arn, at: owner.get(arn)?.snapshot.newestEventAt ?? deps.timing.now() })),
          );
        if (first !== undefined) await bestEffort('record when the drain started', first, deps, write);
        const result = await deps.ecs.setDraining(cluster, batch);
        for (const instance of result.draining) {
          const host = owner.get(instance.arn);
          if (host !== undefined) answers.get(host)?.draining.push(instance);
        }
        for (const failure of result.failures) {
          // A failure naming no instance we asked about concerns every host of the call.
          const host = owner.get(failure.arn);
          const concerned = host !== undefined ? [host] : batch.flatMap((arn) => owner.get(arn) ?? []);
          for (const each of new Set(concerned)) answers.get(each)?.failures.push(failure);
        }
      } catch (error) {
        for (const arn of batch) {
          const host = owner.get(arn);
          if (host !== undefined && !failed.has(host)) failed.set(host, error);
        }
      }
    }
    for (const { host, command } of mine) {
      if (failed.has(host)) {
        outcomes.set(host, { command, error: failed.get(host) });
        continue;
      }
      try {
        drained(host, command, answers.get(host) ?? { draining: [], failures: [] }, deps);
        // The start function dates a drain by its notification, when the hook's timer started. The
        // reconciler dates it by its run, up to a minute or more later: the timer must restart now,
        // or heartbeats paced from that date come after the hook has timed out.
        if (deps.policy.path === 'reconciler') await restartHookTimer(host, deps);
        if (command.alert !== undefined) await alertOnce(host, command.alert, deps);
        outcomes.set(host, { command });
      } catch (error) {
        outcomes.set(host, { command, error });
      }
    }
  }
  return outcomes;
}

/** Makes one kind of read for these hosts, noting hosts whose own read failed; a shared read that fails throws. */
async function observe(
  what: Observation,
  hosts: Host[],
  deps: DrainDeps,
  failed: Map<Host, unknown>,
): Promise<void> {
  for (const [cluster, group] of byCluster(hosts)) {
    if (what === 'container-instances') await describeNamedInstances(cluster, group, deps);
    else if (what === 'all-container-instances') await findAllInstances(cluster, group, deps);
    else if (what === 'stopping-tasks') await listStoppingTasks(cluster, group, deps, failed);
    else if (what === 'running-tasks') await listRunningTasks(cluster, group, deps, failed);
    else if (what === 'tasks-told-to-stop') await describeAnnouncedStops(cluster, group, deps);
    else if (what === 'fresh-stopping-tasks') {
      for (const { snapshot } of group) {
        for (const arn of snapshot.rememberedLists) snapshot.tasksToldToStop.delete(arn);
        snapshot.rememberedLists.clear();
      }
      await listStoppingTasks(cluster, group, deps, failed, { fresh: true });
    } else await readLifecycle(group, deps);
  }
}

const LISTS: ReadonlySet<Observation> = new Set(['stopping-tasks', 'fresh-stopping-tasks', 'running-tasks']);

/**
 * With turns to take (the reconciler), the hosts of this round that would list tasks and whose turn
 * it is not are marked deferred and decided again, without the list. A host whose lists this
 * container remembers makes no ListTasks, and takes no turn.
 */
function takeTurns(decided: { host: Host; command: HostCommand }[], deps: DrainDeps): void {
  const turns = deps.listingTurns;
  if (turns === undefined) return;
  const listing = decided.filter(
    ({ host, command }) =>
      command.kind === 'read' &&
      command.what.some((what) => LISTS.has(what)) &&
      !listsFromMemory(host, command, deps),
  );
  if (listing.length === 0) return;
  const candidates = listing.map((entry) => ({
    entry,
    key: `${entry.host.snapshot.cluster} ${entry.host.snapshot.ec2InstanceId}`,
    drainStartedAt: Math.min(
      ...(entry.host.snapshot.containerInstances ?? []).map((i) => i.drainStartedAt ?? Infinity),
    ),
  }));
  const taken = turns.take(candidates, deps.timing.now());
  const chosen = new Set(taken);
  // Listed in turn: the hosts longest waiting first (a stable sort keeps the others in place).
  const rank = new Map(taken.map((candidate, index) => [candidate.entry, index]));
  decided.sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity));
  for (const candidate of candidates) {
    if (chosen.has(candidate)) continue;
    const { host } = candidate.entry;
    host.snapshot.listsDeferred = true;
    candidate.entry.command = decideHost(host.snapshot, deps.policy);
  }
}

/** The host would list only instances whose list of stopping tasks this container remembers. */
function listsFromMemory(
  host: Host,
  command: Extract<HostCommand, { kind: 'read' }>,
  deps: DrainDeps,
): boolean {
  if (command.what.some((what) => what !== 'stopping-tasks' && LISTS.has(what))) return false;
  return (host.snapshot.containerInstances ?? [])
    .filter((instance) => instance.status !== 'INACTIVE' && !host.snapshot.tasksToldToStop.has(instance.arn))
    .every((instance) => deps.stoppingTasks.get(instance.arn) !== undefined);
}

/** One DescribeContainerInstances per hundred distinct container instances of the batch. */
async function describeNamedInstances(cluster: string, hosts: Host[], deps: DrainDeps): Promise<void> {
  const arns = hosts.flatMap((host) => host.snapshot.containerInstanceArns);
  const observedAt = deps.timing.now();
  const { found } = await deps.ecs.describeContainerInstances(cluster, arns);
  const byArn = new Map(found.map((instance) => [instance.arn, instance]));
  for (const { snapshot } of hosts) {
    snapshot.observedAt = observedAt;
    snapshot.containerInstances = snapshot.containerInstanceArns.flatMap((arn) => byArn.get(arn) ?? []);
    forgetStaleStoppingLists(snapshot.containerInstances, deps);
    snapshot.ec2InstanceId ??= snapshot.containerInstances[0]?.ec2InstanceId;
    if (snapshot.ec2InstanceId !== undefined) {
      snapshot.lastHeartbeatAt ??= deps.heartbeats.lastSentAt(snapshot.ec2InstanceId);
    }
  }
}

/** Every container instance registered for these EC2 instances: one filtered list per twenty hosts. */
async function findAllInstances(cluster: string, hosts: Host[], deps: DrainDeps): Promise<void> {
  const ids = hosts.flatMap((host) => host.snapshot.ec2InstanceId ?? []);
  const observedAt = deps.timing.now();
  const listed = await deps.ecs.listContainerInstancesOf(cluster, ids);
  const known = new Map<string, ContainerInstanceView>();
  for (const { snapshot } of hosts)
    for (const instance of snapshot.containerInstances ?? []) known.set(instance.arn, instance);
  const { found } = await deps.ecs.describeContainerInstances(
    cluster,
    listed.filter((arn) => !known.has(arn)),
  );
  for (const instance of found) known.set(instance.arn, instance);
  forgetStaleStoppingLists(found, deps);
  for (const { snapshot } of hosts) {
    const mine = [...known.values()].filter((instance) => instance.ec2InstanceId === snapshot.ec2InstanceId);
    const named = (snapshot.containerInstances ?? []).filter((instance) => !mine.includes(instance));
    snapshot.containerInstances = [...named, ...mine];
    snapshot.containerInstanceArns = snapshot.containerInstances.map((instance) => instance.arn);
    snapshot.allContainerInstancesFound = true;
    snapshot.observedAt ??= observedAt;
  }
}

/** A remembered list of stopping tasks holds only while the instance drains with no task wanting to run. */
function forgetStaleStoppingLists(instances: ContainerInstanceView[], deps: DrainDeps): void {
  for (const instance of instances) {
    if (instance.status !== 'DRAINING' || tasksWantingToRun(instance) > 0)
      deps.stoppingTasks.forget(instance.arn);
  }
}

/**
 * Tasks told to stop on each container instance that runs no task wanting to run: one ListTasks
 * per container instance (the API has no batched form), unless this container listed it before
 * (see StoppingTasks), then one DescribeTasks per hundred tasks of the whole batch. Tasks an event
 * or this container's memory already knows as STOPPED are not described again.
 */
async function listStoppingTasks(
  cluster: string,
  hosts: Host[],
  deps: DrainDeps,
  failed: Map<Host, unknown>,
  { fresh = false }: { fresh?: boolean } = {},
): Promise<void> {
  let lists: { host: Host; containerInstanceArn: string; taskArns: string[] }[] = [];
  const wanted = hosts.flatMap((host) =>
    (host.snapshot.containerInstances ?? [])
      .filter(
        (instance) => instance.status !== 'INACTIVE' && !host.snapshot.tasksToldToStop.has(instance.arn),
      )
      .map((instance) => ({ host, containerInstanceArn: instance.arn })),
  );
  // ListTasks is one call per container instance: one that fails fails its own host only.
  await inParallel(wanted, LIST_CONCURRENCY, async ({ host, containerInstanceArn }) => {
    if (failed.has(host)) return;
    const remembered = fresh ? undefined : deps.stoppingTasks.get(containerInstanceArn);
    if (remembered !== undefined) {
      lists.push({ host, containerInstanceArn, taskArns: remembered });
      host.snapshot.rememberedLists.add(containerInstanceArn);
      return;
    }
    try {
      // Urgent: with the stops events announce, a list is mostly the last read before a hand-back.
      const taskArns = await deps.ecs.listTasksToldToStop(cluster, containerInstanceArn);
      lists.push({ host, containerInstanceArn, taskArns });
    } catch (error) {
      failed.set(host, error);
    }
  });
  lists = lists.filter(({ host }) => !failed.has(host));

  const knownStopped = (host: Host, taskArn: string) =>
    deps.stoppedTasks.has(taskArn) || host.snapshot.stoppedByEvents.some((task) => task.taskArn === taskArn);
  const read = await readTasks(
    cluster,
    lists.flatMap(({ host, taskArns }) => taskArns.filter((arn) => !knownStopped(host, arn))),
    deps,
  );
  for (const { host, containerInstanceArn, taskArns } of lists) {
    const tasks = taskArns.map((taskArn) => read(taskArn, containerInstanceArn));
    host.snapshot.tasksToldToStop.set(containerInstanceArn, tasks);
    deps.stoppingTasks.set(
      containerInstanceArn,
      tasks.filter((task) => task.lastStatus !== 'STOPPED').map((task) => task.taskArn),
    );
  }
}

/**
 * The tasks events report as told to stop, as ECS shows them now: one DescribeTasks per hundred
 * tasks of the whole batch. Tasks this container saw stop are not described again.
 */
async function describeAnnouncedStops(cluster: string, hosts: Host[], deps: DrainDeps): Promise<void> {
  const announced = (host: Host) => (host.snapshot.stoppingByEvents ?? []).map((task) => task.taskArn);
  const read = await readTasks(
    cluster,
    hosts.flatMap(announced).filter((arn) => !deps.stoppedTasks.has(arn)),
    deps,
  );
  for (const host of hosts) {
    host.snapshot.stoppingByEventsRead = announced(host).map((taskArn) => read(taskArn, ''));
    // A task read as stopped (its STOPPED event went to another container) is announced no more.
    for (const task of host.snapshot.stoppingByEventsRead) {
      if (task.lastStatus !== 'STOPPED') continue;
      deps.stoppedTasks.remember(task.taskArn, task.version);
      for (const arn of host.snapshot.containerInstanceArns) deps.announcedStops.stopped(arn, task.taskArn);
    }
  }
}

/**
 * Describes `unknown` (a hundred per call) and returns how to view any task: as described, or else
 * STOPPED, for a task known stopped (from an event or this container's memory) or that ECS no
 * longer describes (long stopped).
 */
async function readTasks(
  cluster: string,
  unknown: string[],
  deps: DrainDeps,
): Promise<(taskArn: string, containerInstanceArn: string) => TaskView> {
  const described = new Map(
    (await deps.ecs.describeTasks(cluster, unknown)).map((task) => [task.taskArn, task]),
  );
  return (taskArn, containerInstanceArn) =>
    described.get(taskArn) ?? {
      taskArn,
      containerInstanceArn,
      lastStatus: 'STOPPED',
      version: deps.stoppedTasks.version(taskArn),
    };
}

/**
 * What still wants to run on long drains (the reconciler asks, once per such drain per run): one
 * ListTasks per container instance, one DescribeTasks per hundred tasks, and DescribeServices for
 * services this container has not seen yet, to tell daemon tasks from the others.
 */
async function listRunningTasks(
  cluster: string,
  hosts: Host[],
  deps: DrainDeps,
  failed: Map<Host, unknown>,
): Promise<void> {
  const lists: { host: Host; taskArns: string[] }[] = [];
  for (const host of hosts) {
    const live = (host.snapshot.containerInstances ?? []).filter(
      (instance) => instance.status !== 'INACTIVE',
    );
    try {
      const taskArns: string[] = [];
      for (const instance of live)
        taskArns.push(...(await deps.ecs.listTasksWantingToRun(cluster, instance.arn)));
      lists.push({ host, taskArns });
    } catch (error) {
      failed.set(host, error);
    }
  }
  const tasks = await deps.ecs.describeTasks(
    cluster,
    lists.flatMap(({ taskArns }) => taskArns),
  );
  const known = deps.daemonServices.get(cluster) ?? new Map<string, boolean>();
  deps.daemonServices.set(cluster, known);
  const services = [...new Set(tasks.flatMap((task) => serviceOf(task) ?? []))];
  const unknown = services.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    const daemons = await deps.ecs.daemonServices(cluster, unknown);
    for (const name of unknown) known.set(name, daemons.has(name));
  }
  const byArn = new Map(tasks.map((task) => [task.taskArn, task]));
  for (const { host, taskArns } of lists) {
    host.snapshot.tasksWantingToRunListed = taskArns.flatMap((arn) => {
      const task = byArn.get(arn);
      if (task === undefined || task.lastStatus === 'STOPPED') return [];
      const service = serviceOf(task);
      return [{ ...task, daemon: service !== undefined && known.get(service) === true }];
    });
  }
}

function serviceOf(task: TaskView): string | undefined {
  return task.group?.startsWith('service:') ? task.group.slice('service:'.length) : undefined;
}

/** Auto Scaling's view of the hosts that look empty: fifty instances per call. */
async function readLifecycle(hosts: Host[], deps: DrainDeps): Promise<void> {
  const views = await deps.autoScaling.describeInstances(
    hosts.flatMap((host) => host.snapshot.ec2InstanceId ?? []),
  );
  for (const { snapshot } of hosts) {
    snapshot.lifecycle = (snapshot.ec2InstanceId !== undefined && views.get(snapshot.ec2InstanceId)) || null;
  }
}

/** Waits before reading a host again when the read contradicted an event (reads lag by seconds). */
const SECOND_LOOK_SECONDS = [2, 4, 8];

/**
 * Hosts listed per turn when a group lists (see listInTurn): a few seconds of the task-event
 * container's read share, so that the first completions start seconds after the batch does.
 */
const LIST_TURN = 10;

/** Room between a turn's last list and its hosts' actions: a DescribeTasks, and the decision. */
const LIST_TO_CALL_MS = 1_000;

/** Lifecycle calls (complete, heartbeat) in flight at once. */
const ACT_CONCURRENCY = 4;

/** ListTasks calls in flight at once: fast enough for a large batch, gentle on the shared bucket. */
const LIST_CONCURRENCY = 4;

function byCluster(hosts: Host[]): Map<string, Host[]> {
  const groups = new Map<string, Host[]>();
  for (const host of hosts)
    groups.set(host.snapshot.cluster, [...(groups.get(host.snapshot.cluster) ?? []), host]);
  return groups;
}
