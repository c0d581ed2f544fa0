import { callRate, handBack, median } from './metrics';
import { plural } from './svg';
import { AMI_SCENARIOS, type ClusterShape, fleetServices, NEW_AMI, type RunResult } from './scenario';

/** What a platform engineer wants to know after a rehearsal, computed from a run. Pure. */

export interface ServiceSummary {
  /** The service's name; `cluster/service` in a run of several clusters. */
  name: string;
  daemon: boolean;
  desiredCount: number;
  /** ceil(desiredCount x minimumHealthyPercent / 100): fewer healthy tasks than this is an outage of capacity. */
  floor: number;
  lowestHealthy: number;
  secondsBelowFloor: number;
  /** Of those, the seconds when ECS had room to place one of its tasks: the drain's doing, not capacity's. */
  secondsBelowFloorWithRoom: number;
  secondsAtZero: number;
}

export interface RunSummary {
  scenario: string;
  withController: boolean;
  seed: number;
  settled: boolean;
  simulatedSeconds: number;
  services: ServiceSummary[];
  lifecycleActions: {
    completedByController: number;
    heartbeatTimeouts: number;
    globalTimeouts: number;
    drainSecondsMedian: number | null;
    drainSecondsMax: number | null;
  };
  instancesTerminated: number;
  /** Non-daemon tasks still running or stopping when their instance was terminated. */
  tasksKilled: number;
  /** Instances let go while a task on them, daemon included, had not reached STOPPED. */
  releasedWithTasksRunning: number;
  /** ECS reads the functions made after the scenario acted (the account's shared read bucket). */
  ecsReads: { total: number; perSecondMean: number; perSecondPeak: number };
  /** Seconds from the last task STOPPED on an instance to its lifecycle action completed. */
  handBackSeconds: { median: number | null; p99: number | null };
  failedEvents: number;
  /** Function invocations, and how many of them threw (and were retried by Lambda). */
  invocations: number;
  invocationErrors: number;
  apiCalls: Record<string, number>;
  throttledCalls: number;
  /**
   * An AMI rollout (ami-update, bad-ami): how it was done (the stack's `rolling` refresh, or without
   * the stack Auto Scaling's `instance-refresh` with its defaults), how it ended, how many instances
   * run the new AMI at the end, and whether it rolled back.
   */
  refresh?: { strategy: string; status: string; instancesReplaced: number; rolledBack: boolean };
  findings: string[];
}

export function summarize(result: RunResult): RunSummary {
  const { recorder, actionAt, endedAt, fleet } = result;
  // Every cluster's services; every group's actions are in recorder.actions.
  const services = fleetServices(fleet).map(({ key, spec }): ServiceSummary => {
    const floor = spec.daemon ? 0 : Math.ceil((spec.desiredCount * spec.minimumHealthyPercent) / 100);
    const series = recorder.healthy.get(key) ?? { t: [], count: [], room: [] };
    const stats = stepStats(series.t, series.count, actionAt, endedAt, floor, series.room);
    return { name: key, daemon: spec.daemon, desiredCount: spec.desiredCount, floor, ...stats };
  });
  const terminations = recorder.actions;
  const durations = terminations.map((a) => a.endedAt - a.startedAt).sort((a, b) => a - b);
  return {
    scenario: result.scenario,
    withController: result.withController,
    seed: result.seed,
    settled: result.settled,
    simulatedSeconds: Math.round(endedAt - actionAt),
    services,
    lifecycleActions: {
      completedByController: terminations.filter((a) => a.endedBy === 'completed').length,
      heartbeatTimeouts: terminations.filter((a) => a.endedBy === 'heartbeat-timeout').length,
      globalTimeouts: terminations.filter((a) => a.endedBy === 'global-timeout').length,
      drainSecondsMedian: durations.length === 0 ? null : round(median(durations) ?? 0),
      drainSecondsMax: durations.length === 0 ? null : round(durations[durations.length - 1] as number),
    },
    instancesTerminated: [...recorder.lanes.values()].filter((lane) => lane.terminatedAt !== undefined)
      .length,
    tasksKilled: recorder.killedTasks.reduce((sum, kill) => sum + kill.groups.length, 0),
    releasedWithTasksRunning: recorder.releasedWithTasks.length,
    ecsReads: callRate(recorder.ecsReadTimes, actionAt, endedAt),
    handBackSeconds: (({ medianSeconds, p99Seconds }) => ({ median: medianSeconds, p99: p99Seconds }))(
      handBack(result),
    ),
    failedEvents:
      Object.values(result.lambdas).reduce((sum, stats) => sum + stats.failed.length, 0) + result.deadLetters,
    invocations: Object.values(result.lambdas).reduce((sum, stats) => sum + stats.invocations, 0),
    invocationErrors: Object.values(result.lambdas).reduce((sum, stats) => sum + stats.errors, 0),
    apiCalls: result.apiCalls,
    throttledCalls: result.throttledCalls,
    ...(AMI_SCENARIOS.includes(result.scenario) && { refresh: refreshSummary(result) }),
    findings: [
      ...(result.settled
        ? []
        : [
            `the run did not settle in ${Math.round((endedAt - actionAt) / 3600)} simulated hours: ` +
              (unsettledServices(result).join(', ') || 'the Auto Scaling action did not finish'),
          ]),
      ...fleet.clusters.flatMap(({ name, shape }) =>
        diagnoseShape(shape).map((finding) =>
          fleet.clusters.length === 1 ? finding : `cluster ${name}: ${finding}`,
        ),
      ),
      ...explainTimeouts(result),
      ...explainDeadlines(result),
      ...explainLaunches(result),
      ...explainRefresh(result),
    ],
  };
}

function refreshSummary(result: RunResult): NonNullable<RunSummary['refresh']> {
  const [refresh] = result.refreshes;
  const onNewAmi = [...result.recorder.lanes.values()].filter(
    (lane) => lane.amiId === NEW_AMI && lane.inServiceAt !== undefined && lane.terminatedAt === undefined,
  );
  return {
    strategy: refresh?.strategy ?? (result.withController ? 'rolling' : 'instance-refresh'),
    status: refresh?.status ?? 'NotStarted',
    instancesReplaced: onNewAmi.length,
    rolledBack: refresh?.rolledBack ?? false,
  };
}

/** New instances given up before they served (launch readiness), and what became of the capacity. */
function explainLaunches(result: RunResult): string[] {
  const abandoned = result.recorder.launchActions.filter((action) => action.result === 'ABANDON');
  const unready = result.recorder.inServiceUnready.length;
  return [
    ...(abandoned.length > 0
      ? [
          `launch readiness held ${plural(abandoned.length, 'new instance')} out of service and gave ${abandoned.length === 1 ? 'it' : 'them'} up: never ACTIVE in ECS with the agent connected within LaunchTimeout (no old instance was replaced for ${abandoned.length === 1 ? 'it' : 'them'})`,
        ]
      : []),
    ...(unready > 0
      ? [
          `${plural(unready, 'instance')} went into service before ECS could use ${unready === 1 ? 'it' : 'them'} (agent not registered): the refresh counted capacity no task could be placed on`,
        ]
      : []),
  ];
}

/** How each group's refresh ended, when it did not succeed. */
function explainRefresh(result: RunResult): string[] {
  return result.refreshes
    .filter((refresh) => refresh.status !== 'Successful' && refresh.status !== 'InProgress')
    .map(
      (refresh) =>
        `${result.refreshes.length === 1 ? 'the' : `${refresh.group}'s`} ${refresh.strategy === 'blue-green' ? 'blue/green rollout' : 'instance refresh'} ended ${refresh.status}${refresh.rolledBack ? ' (back on the previous launch template version)' : ''}${refresh.statusReason ? `: ${refresh.statusReason}` : ''}`,
    );
}

/** Services that did not get back to their desired count of healthy tasks by the end of a run. */
function unsettledServices(result: RunResult): string[] {
  return fleetServices(result.fleet).flatMap(({ key, spec }) => {
    const series = result.recorder.healthy.get(key);
    const last = series?.count[series.count.length - 1] ?? 0;
    return !spec.daemon && last < spec.desiredCount
      ? [`service ${key} has ${last} of ${spec.desiredCount} healthy tasks`]
      : [];
  });
}

/**
 * Lowest value, time below the floor (in all, and while `room` said a task could be placed) and
 * time at zero of a step function over [from, to]. Without `room`, there always was.
 */
export function stepStats(
  t: number[],
  values: number[],
  from: number,
  to: number,
  floor: number,
  room: boolean[] = [],
): {
  lowestHealthy: number;
  secondsBelowFloor: number;
  secondsBelowFloorWithRoom: number;
  secondsAtZero: number;
} {
  let current = 0;
  let roomNow = true;
  let index = 0;
  for (; index < t.length && (t[index] as number) <= from; index++) {
    current = values[index] as number;
    roomNow = room[index] ?? true;
  }
  let lowest = current;
  let below = 0;
  let belowWithRoom = 0;
  let zero = 0;
  let since = from;
  const account = (until: number) => {
    const span = Math.max(0, until - since);
    if (current < floor) below += span;
    if (current < floor && roomNow) belowWithRoom += span;
    if (current === 0) zero += span;
  };
  for (; index < t.length && (t[index] as number) <= to; index++) {
    account(t[index] as number);
    since = t[index] as number;
    current = values[index] as number;
    roomNow = room[index] ?? true;
    lowest = Math.min(lowest, current);
  }
  account(to);
  return {
    lowestHealthy: lowest,
    secondsBelowFloor: round(below),
    secondsBelowFloorWithRoom: round(belowWithRoom),
    secondsAtZero: round(zero),
  };
}

/**
 * A cluster that can never run what it is asked to: a rehearsal of it would wait twelve simulated
 * hours for services that never reach their count. Empty when it can.
 */
export function impossibleShape(shape: ClusterShape): string[] {
  const problems: string[] = [];
  const { instances, instanceCpu, instanceMemory } = shape;
  const tasks = [
    ...shape.services.map((s) => ({
      what: `service ${s.name}`,
      ...s,
      count: s.daemon ? instances : s.desiredCount,
    })),
    ...shape.standaloneTasks.map((t) => ({
      what: `standalone task ${t.family}`,
      ...t,
      staticHostPort: false,
    })),
  ];
  for (const task of tasks) {
    if (task.cpu > instanceCpu || task.memory > instanceMemory) {
      problems.push(
        `${task.what}: a task needs ${task.cpu} CPU units and ${task.memory} MiB, more than an instance has ` +
          `(instanceCpu ${instanceCpu}, instanceMemory ${instanceMemory})`,
      );
    }
    if (task.staticHostPort && task.count > instances) {
      problems.push(
        `${task.what}: ${task.count} tasks with a static host port need as many instances, the cluster has ${instances}`,
      );
      continue;
    }
    // However they are spread, an instance holds at most this many of them.
    const perInstance = Math.floor(Math.min(instanceCpu / task.cpu, instanceMemory / task.memory));
    if (perInstance >= 1 && task.count > perInstance * instances) {
      problems.push(
        `${task.what}: ${task.count} tasks of ${task.cpu} CPU units and ${task.memory} MiB, at most ${perInstance} ` +
          `per instance, need ${Math.ceil(task.count / perInstance)} instances; the cluster has ${instances}`,
      );
    }
  }
  const cpu = tasks.reduce((sum, task) => sum + task.cpu * task.count, 0);
  const memory = tasks.reduce((sum, task) => sum + task.memory * task.count, 0);
  if (cpu > instances * instanceCpu || memory > instances * instanceMemory) {
    problems.push(
      `the tasks need ${cpu} CPU units and ${memory} MiB, the ${instances} instances have ` +
        `${instances * instanceCpu} and ${instances * instanceMemory}: the services could never reach their desired count`,
    );
  }
  return problems;
}

/** Settings that make a drain impossible or slow, found before anything runs. */
export function diagnoseShape(shape: ClusterShape): string[] {
  const findings: string[] = [];
  for (const service of shape.services) {
    if (!service.daemon && service.minimumHealthyPercent >= 100 && service.maximumPercent <= 100) {
      findings.push(
        `service ${service.name} has minimumHealthyPercent 100 and maximumPercent 100: ECS may neither stop a task ` +
          'before its replacement is healthy nor start the replacement first, so its instances never finish draining. ' +
          'Lower the minimum or raise the maximum.',
      );
    }
  }
  for (const task of shape.standaloneTasks) {
    if (task.runSeconds === undefined) {
      findings.push(
        `standalone task ${task.family} runs until stopped and draining never moves standalone tasks: ` +
          'its instance stays in drain until the task is stopped or HeartbeatTimeout passes.',
      );
    }
  }
  return findings;
}

function explainTimeouts(result: RunResult): string[] {
  return result.recorder.actions
    .filter((action) => action.endedBy !== 'completed')
    .map((action) => {
      const left = countBy(action.leftOnInstance);
      const what = left.length === 0 ? 'nothing left on it' : `still on it: ${left.join(', ')}`;
      const where = result.fleet.groups.length === 1 ? '' : ` (${action.group})`;
      return `${action.instanceId}${where}: lifecycle action ended by ${action.endedBy} after ${round(action.endedAt - action.startedAt)} s (${what})`;
    });
}

/** What each deadline did, as the controller's alert told the operator. */
function explainDeadlines(result: RunResult): string[] {
  return (result.published ?? []).flatMap((message) => {
    const alert = JSON.parse(message.message) as { key?: string; instanceId?: string; summary?: string };
    return alert.key === 'deadline' ? [`${alert.instanceId ?? 'an instance'}: ${alert.summary ?? ''}`] : [];
  });
}

function countBy(items: string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([item, n]) => (n === 1 ? item : `${item} x${n}`));
}

function round(value: number): number {
  return Math.round(value);
}

/** The run without the controller (if any) and the run with it, side by side, as a terminal table. */
export function formatComparison(without: RunSummary | undefined, controlled: RunSummary): string {
  const lines: string[] = [];
  const runs = without ? [without, controlled] : [controlled];
  const nameWidth = Math.max(12, ...controlled.services.map((service) => service.name.length + 2));
  lines.push(`Scenario: ${controlled.scenario}, seed ${controlled.seed}`);
  lines.push('');
  lines.push(
    pad('service', nameWidth) +
      runs.map((run) => pad(run.withController ? 'with controller' : 'without (no hook)', 40)).join(''),
  );
  lines.push(pad('', nameWidth) + runs.map(() => pad('lowest/floor  below floor  at zero', 40)).join(''));
  for (const [index, service] of controlled.services.entries()) {
    const cells = runs.map((run) => {
      const s = run.services[index] as ServiceSummary;
      const floor = s.daemon ? 'daemon' : `${s.lowestHealthy}/${s.floor}`;
      const flag = !s.daemon && s.lowestHealthy < s.floor ? ' !' : '';
      return pad(`${pad(floor + flag, 14)}${pad(`${s.secondsBelowFloor} s`, 13)}${s.secondsAtZero} s`, 40);
    });
    lines.push(pad(service.name, nameWidth) + cells.join(''));
  }
  const anyBelow = runs.some((run) => run.services.some((s) => !s.daemon && s.lowestHealthy < s.floor));
  lines.push(
    '',
    ...(anyBelow ? ['! : the service fell below its floor (lowest healthy tasks / floor).', ''] : []),
  );
  for (const run of runs) {
    const l = run.lifecycleActions;
    const label = run.withController ? 'with controller' : 'without';
    lines.push(
      `${pad(label, 16)} instances terminated ${run.instancesTerminated}, tasks killed ${run.tasksKilled}, ` +
        `lifecycle actions: ${l.completedByController} completed by the controller, ${l.heartbeatTimeouts + l.globalTimeouts} timed out` +
        (l.drainSecondsMedian === null
          ? ''
          : `, drain median ${l.drainSecondsMedian} s / max ${l.drainSecondsMax} s`) +
        `, ${run.simulatedSeconds} s simulated${run.settled ? '' : ' (did not settle)'}`,
    );
    if (run.refresh !== undefined) {
      const r = run.refresh;
      lines.push(
        `${pad('', 16)} refresh (${r.strategy}): ${r.status}, ${r.instancesReplaced} instance(s) on the new AMI${r.rolledBack ? ', rolled back' : ''}`,
      );
    }
  }
  if (without !== undefined) lines.push(savedLine(without, controlled));
  const calls = Object.values(controlled.apiCalls).reduce((sum, n) => sum + n, 0);
  lines.push(
    `controller: ${controlled.invocations} invocations (${controlled.invocationErrors} failed), ` +
      `${calls} API calls (${controlled.throttledCalls} throttled), ${controlled.failedEvents} events failed every retry`,
  );
  if (controlled.handBackSeconds.median !== null) {
    lines.push(
      `            ${controlled.ecsReads.total} ECS reads (peak ${controlled.ecsReads.perSecondPeak}/s), ` +
        `hand-back after the last task stopped: median ${controlled.handBackSeconds.median} s, ` +
        `p99 ${controlled.handBackSeconds.p99} s`,
    );
  }
  if (controlled.findings.length > 0) {
    lines.push('', 'Findings:');
    for (const finding of controlled.findings) lines.push(`  - ${finding}`);
  }
  return lines.join('\n');
}

/** What the controller changed, in one line: the figures better with it, and any that are worse. */
export function savedLine(without: RunSummary, controlled: RunSummary): string {
  const services = (run: RunSummary) => run.services.filter((s) => !s.daemon && s.desiredCount > 0);
  const figures: [string, (run: RunSummary) => number][] = [
    ['tasks killed', (run) => run.tasksKilled],
    ['service-seconds below floor', (run) => services(run).reduce((sum, s) => sum + s.secondsBelowFloor, 0)],
    ['service-seconds at zero', (run) => services(run).reduce((sum, s) => sum + s.secondsAtZero, 0)],
  ];
  const change = (better: boolean) =>
    figures.flatMap(([name, of]) => {
      const [before, after] = [of(without), of(controlled)];
      return (better ? after < before : after > before) ? [`${name} ${before} -> ${after}`] : [];
    });
  const saved = change(true);
  const worse = change(false);
  const parts = [
    ...(saved.length > 0 ? [`the controller saved: ${saved.join(', ')}`] : []),
    ...(worse.length > 0 ? [`worse with it: ${worse.join(', ')}`] : []),
  ];
  if (parts.length > 0) return parts.join('; ');
  const unharmed = figures.every(([, of]) => of(controlled) === 0);
  return unharmed
    ? 'the controller saved: nothing this time (both runs kept every floor, no task was killed)'
    : 'the controller changed nothing this time: both runs lost the same (see the table)';
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}
