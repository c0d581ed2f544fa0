import { type DrainSettings, loadController, type Transport } from './controller';
import { type DeliveryFaults, NO_DELIVERY_FAULTS } from './delivery';
import { summarize } from './report';
import {
  ClusterShape,
  defaultOptions,
  demoShape,
  type RunResult,
  runScenario,
  type ScenarioOptions,
  twoClustersThreeGroups,
} from './scenario';

/**
 * The fault matrix: an instance refresh of the demo cluster, through the real handlers with ECS's
 * token buckets and the SDK's retries on, under one fault per cell, over several seeds. What must
 * never happen in any cell (the "zero cells"):
 * - a task killed that no deadline decided to let go (DeadlineAction continue);
 * - an instance released while a task on it had not stopped, unless a deadline decided it;
 * - a lifecycle action left to time out where the cluster can drain;
 * - a service below its floor while ECS had room to place its tasks.
 */

export interface Cell {
  name: string;
  /** The fault, in words for the table. */
  fault: string;
  /** Changes to the scenario's defaults (instance refresh, HeartbeatTimeout 600). */
  scenario?: Partial<ScenarioOptions>;
  /** The stack's drain parameters (template defaults otherwise). */
  drain?: DrainSettings;
  /** The cluster, when not the demo's (given its instance count). */
  shape?: (instances: number) => ClusterShape;
  /** Standalone tasks that never end, placed before the refresh. */
  standaloneForever?: number;
  /** False where no drain can finish by design (kept waiting on a task that never ends). */
  canDrain: boolean;
}

export interface CellResult {
  name: string;
  fault: string;
  seeds: number[];
  /** Summed over the seeds. */
  actions: { completedByController: number; timedOut: number };
  tasksKilled: number;
  /** Of those, the tasks of instances a deadline let go (DeadlineAction continue): a decision, not a fault. */
  tasksKilledByDeadline: number;
  /** Instances released while a task (daemon included) had not stopped, that no deadline let go. */
  releasedWithTasksOutsideDeadline: number;
  servicesBelowFloorWithRoomSeconds: number;
  deadlinesReached: number;
  alerts: number;
  alertsByKey: Record<string, number>;
  failedEvents: number;
  /**
   * Of those, messages the queues' redrive moved to the failure queue (the rest are reconciler runs
   * that failed; the next run, a minute later, does their work).
   */
  deadLetters: number;
  /** Proof that the fault was there: what the twin did to the controller. */
  faultsInjected: {
    eventsDropped: number;
    eventsDuplicated: number;
    lostResponses: number;
    throttledCalls: number;
    crashes: number;
    scheduledRunsSkipped: number;
    scheduledRunsDuplicated: number;
  };
  /** Every seed's run settled (the refresh finished and every service is back at its count). */
  settled: boolean;
  /** Zero cells that are not zero, in words. Empty: the cell holds. */
  violations: string[];
  wallSeconds: number;
}

/**
 * A tenth of invocations crash, at a moment within their first half second: most invocations take
 * less than a second, and one that ends before its crash is spared (the JSON says how many crashed).
 */
const CRASHES = { crashShare: 0.1, crashWithinSeconds: 0.5 };

/** The reconciler's schedule at its worst: late by up to 45 s, a fifth of runs twice, one in twenty never. */
const SCHEDULE_FAULTS = { jitterSeconds: 45, duplicate: 0.2, skip: 0.05 };

/** Deadline cells use a short deadline so that runs stay short; the policy is the same at any length. */
const DEADLINE_SECONDS = 900;
const HEARTBEAT_TIMEOUT = 600;

const onlyTaskEvents = (faults: Partial<DeliveryFaults>): Partial<ScenarioOptions> => ({
  deliveryFaults: { ...NO_DELIVERY_FAULTS, ...faults },
  notificationFaults: NO_DELIVERY_FAULTS,
});

/** The full matrix, as issue 7 lists it. */
export const CELLS: Cell[] = [
  { name: 'no-fault', fault: 'token buckets and SDK retries only', canDrain: true },
  {
    name: 'events-lost-10',
    fault: '10 % of task events lost',
    scenario: onlyTaskEvents({ drop: 0.1 }),
    canDrain: true,
  },
  {
    name: 'events-lost-30',
    fault: '30 % of task events lost',
    scenario: onlyTaskEvents({ drop: 0.3 }),
    canDrain: true,
  },
  {
    name: 'notifications-lost-50',
    fault: 'half the lifecycle notifications lost',
    scenario: { notificationFaults: { ...NO_DELIVERY_FAULTS, drop: 0.5 } },
    canDrain: true,
  },
  {
    name: 'duplicates-reordered',
    fault: '30 % duplicated, 30 % delayed up to 120 s',
    scenario: { deliveryFaults: { duplicate: 0.3, delay: 0.3, maxDelaySeconds: 120, drop: 0 } },
    canDrain: true,
  },
  {
    name: 'api-faults-10',
    fault: '10 % of API calls throttled or failing',
    scenario: { apiFaults: { tokenBuckets: true, throttle: 0.05, serverError: 0.05 } },
    canDrain: true,
  },
  {
    name: 'responses-lost-10',
    fault: '10 % of calls take effect, answer lost',
    scenario: { apiFaults: { tokenBuckets: true, throttle: 0, serverError: 0, lostResponse: 0.1 } },
    canDrain: true,
  },
  {
    name: 'handler-crashes-10',
    fault: '10 % of invocations crash half-way',
    scenario: { lambdaFaults: CRASHES },
    canDrain: true,
  },
  {
    name: 'schedule-unreliable',
    fault: 'reconciler late, twice or never; 30 % of events and notifications lost; HeartbeatTimeout 300',
    // The reconciler is what covers lost events: here it is itself late (up to 45 s), run twice
    // (a fifth of runs) or skipped (one in twenty), with the shortest HeartbeatTimeout the template
    // allows. (A fifth skipped lost drains: four runs in a row missing while a drain's last events
    // were lost leaves nothing running that could restart a 300 s timer.)
    scenario: {
      heartbeatTimeout: 300,
      deliveryFaults: { ...NO_DELIVERY_FAULTS, drop: 0.3 },
      scheduleFaults: SCHEDULE_FAULTS,
    },
    canDrain: true,
  },
  {
    name: 'notifications-lost-crashes',
    fault: 'half the notifications lost, 10 % of invocations crash; HeartbeatTimeout 300',
    // Each crash ends a reconciler container and its memory: the drains it must start cannot wait on it.
    scenario: {
      heartbeatTimeout: 300,
      notificationFaults: { ...NO_DELIVERY_FAULTS, drop: 0.5 },
      lambdaFaults: CRASHES,
    },
    canDrain: true,
  },
  {
    name: 'everything-at-once',
    fault: 'all of the above faults together; HeartbeatTimeout 300',
    scenario: {
      heartbeatTimeout: 300,
      deliveryFaults: { drop: 0.3, duplicate: 0.3, delay: 0.3, maxDelaySeconds: 120 },
      notificationFaults: { ...NO_DELIVERY_FAULTS, drop: 0.5 },
      apiFaults: { tokenBuckets: true, throttle: 0.05, serverError: 0.05, lostResponse: 0.1 },
      lambdaFaults: CRASHES,
      scheduleFaults: SCHEDULE_FAULTS,
    },
    canDrain: true,
  },
  {
    name: 'agent-disconnects',
    fault: 'agent disconnects when its drain starts',
    scenario: { disconnectAgentOnDrain: true },
    drain: { drainDeadlineSeconds: DEADLINE_SECONDS },
    canDrain: true,
  },
  {
    name: 'standalone-continue',
    fault: 'standalone task never ends; continue',
    standaloneForever: 1,
    drain: { drainDeadlineSeconds: DEADLINE_SECONDS, deadlineAction: 'continue' },
    canDrain: true,
  },
  {
    name: 'standalone-stop-tasks',
    fault: 'standalone task never ends; stop-tasks',
    standaloneForever: 1,
    drain: { drainDeadlineSeconds: DEADLINE_SECONDS, deadlineAction: 'stop-tasks' },
    canDrain: true,
  },
  {
    name: 'standalone-keep-waiting',
    fault: 'standalone task never ends; keep-waiting',
    standaloneForever: 1,
    // The global timeout is 100 x HeartbeatTimeout: 300 s keeps the run to about eight simulated hours.
    scenario: { heartbeatTimeout: 300 },
    drain: { drainDeadlineSeconds: DEADLINE_SECONDS, deadlineAction: 'keep-waiting' },
    canDrain: false,
  },
  {
    name: 'two-clusters-three-groups',
    fault: 'one stack, clusters prod and batch, three groups; 10 % of events lost',
    // A fixed fleet of nine instances (prod: 4 on-demand and 2 spot; batch: 3), whatever --instances says.
    scenario: { fleet: twoClustersThreeGroups(), deliveryFaults: { ...NO_DELIVERY_FAULTS, drop: 0.1 } },
    canDrain: true,
  },
  {
    name: 'drains-past-heartbeat',
    fault: 'drains longer than HeartbeatTimeout (300 s)',
    // The demo's services, each taking 400 s to stop (a long deregistration delay): every drain
    // outlasts the hook's timeout at least once.
    shape: (instances) => {
      const demo = demoShape(instances);
      return { ...demo, services: demo.services.map((s) => (s.daemon ? s : { ...s, stopSeconds: 400 })) };
    },
    scenario: { heartbeatTimeout: 300 },
    canDrain: true,
  },
];

/** What a run without faults injected. */
export const NO_FAULTS_INJECTED: CellResult['faultsInjected'] = {
  eventsDropped: 0,
  eventsDuplicated: 0,
  lostResponses: 0,
  throttledCalls: 0,
  crashes: 0,
  scheduledRunsSkipped: 0,
  scheduledRunsDuplicated: 0,
};

/** The matrix the tests run: every cell, one seed, the six-instance demo. */
export const SMALL = { instances: 6, seeds: [1] };
/** The matrix `npm run reliability` runs by default. */
export const FULL = { instances: 30, seeds: [1, 2, 3, 4, 5] };

export async function runCell(
  cell: Cell,
  { instances, seeds }: { instances: number; seeds: number[] },
  transport: Transport,
): Promise<CellResult> {
  const started = process.hrtime.bigint();
  const runs: RunResult[] = [];
  for (const seed of seeds) {
    const shape = ClusterShape.parse({
      ...(cell.shape ?? demoShape)(instances),
      standaloneTasks:
        cell.standaloneForever === undefined
          ? []
          : [{ family: 'nightly-export', count: cell.standaloneForever }],
    });
    const options: ScenarioOptions = {
      ...defaultOptions(shape),
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      seed,
      ...cell.scenario,
    };
    const controller = loadController(transport, {
      heartbeatTimeout: options.heartbeatTimeout,
      ...(cell.drain && { drain: cell.drain }),
    });
    runs.push(await runScenario({ ...options, controller }));
  }
  const result = measure(cell, seeds, runs);
  return { ...result, wallSeconds: Math.round(Number(process.hrtime.bigint() - started) / 1e8) / 10 };
}

/** The cell's figures over its runs, and the zero cells it breaks. Pure. */
export function measure(cell: Cell, seeds: number[], runs: RunResult[]): Omit<CellResult, 'wallSeconds'> {
  let completedByController = 0;
  let timedOut = 0;
  let tasksKilled = 0;
  let tasksKilledByDeadline = 0;
  let releasedWithTasksOutsideDeadline = 0;
  let servicesBelowFloorWithRoomSeconds = 0;
  let failedEvents = 0;
  let deadLetters = 0;
  const alertsByKey: Record<string, number> = {};
  const faultsInjected = { ...NO_FAULTS_INJECTED };
  let deadlinesReached = 0;
  let settled = true;
  for (const run of runs) {
    const summary = summarize(run);
    const { recorder } = run;
    // An instance a deadline let go: the controller said so (its deadline alert names the instance),
    // and then completed the action (continue), or held it to the hook's global timeout
    // (keep-waiting). A kill the operator was not told of as a deadline's doing is no decision.
    const byPolicy = cell.drain?.deadlineAction === 'keep-waiting' ? 'global-timeout' : 'completed';
    const toldDeadline = new Set(
      (run.published ?? []).flatMap((message) => {
        const alert = JSON.parse(message.message) as { key?: string; instanceId?: string };
        return alert.key === 'deadline' && alert.instanceId !== undefined ? [alert.instanceId] : [];
      }),
    );
    const letGoAtDeadline = new Set(
      recorder.actions
        .filter((action) => action.endedBy === byPolicy && toldDeadline.has(action.instanceId))
        .map((action) => action.instanceId),
    );
    completedByController += summary.lifecycleActions.completedByController;
    timedOut += summary.lifecycleActions.heartbeatTimeouts + summary.lifecycleActions.globalTimeouts;
    tasksKilled += summary.tasksKilled;
    for (const kill of recorder.killedTasks) {
      if (letGoAtDeadline.has(kill.instanceId)) tasksKilledByDeadline += kill.groups.length;
    }
    releasedWithTasksOutsideDeadline += recorder.releasedWithTasks.filter(
      (release) => !letGoAtDeadline.has(release.instanceId),
    ).length;
    servicesBelowFloorWithRoomSeconds += summary.services
      .filter((service) => !service.daemon)
      .reduce((sum, service) => sum + service.secondsBelowFloorWithRoom, 0);
    failedEvents += summary.failedEvents;
    deadLetters += run.deadLetters;
    for (const message of run.published ?? []) {
      const key = (JSON.parse(message.message) as { key?: string }).key ?? 'unknown';
      alertsByKey[key] = (alertsByKey[key] ?? 0) + 1;
    }
    deadlinesReached += recorder.metrics.get('DeadlineReached') ?? 0;
    faultsInjected.eventsDropped += run.droppedEvents;
    faultsInjected.eventsDuplicated += run.duplicatedEvents;
    faultsInjected.scheduledRunsSkipped += run.scheduledRuns.skipped;
    faultsInjected.scheduledRunsDuplicated += run.scheduledRuns.duplicated;
    faultsInjected.lostResponses += run.lostResponses;
    faultsInjected.throttledCalls += run.throttledCalls;
    faultsInjected.crashes += Object.values(run.lambdas).reduce((sum, stats) => sum + stats.crashes, 0);
    settled &&= run.settled;
  }

  const violations: string[] = [];
  const killedOutside = tasksKilled - tasksKilledByDeadline;
  if (killedOutside > 0) violations.push(`${killedOutside} task(s) killed that no deadline let go`);
  if (releasedWithTasksOutsideDeadline > 0) {
    violations.push(`${releasedWithTasksOutsideDeadline} instance(s) released with a task not stopped`);
  }
  if (cell.canDrain && timedOut > 0)
    violations.push(`${timedOut} action(s) timed out where the cluster can drain`);
  if (servicesBelowFloorWithRoomSeconds > 0) {
    violations.push(`services below their floor with room for ${servicesBelowFloorWithRoomSeconds} s`);
  }
  if (cell.canDrain && !settled) violations.push('a run did not settle');
  return {
    name: cell.name,
    fault: cell.fault,
    seeds,
    actions: { completedByController, timedOut },
    tasksKilled,
    tasksKilledByDeadline,
    releasedWithTasksOutsideDeadline,
    servicesBelowFloorWithRoomSeconds,
    deadlinesReached,
    alerts: Object.values(alertsByKey).reduce((sum, n) => sum + n, 0),
    alertsByKey,
    failedEvents,
    deadLetters,
    faultsInjected,
    settled,
    violations,
  };
}

/** The matrix as a terminal table, one line per cell. */
export function formatMatrix(results: CellResult[]): string {
  const header = [
    'cell',
    'fault',
    'seeds',
    'completed',
    'timed out',
    'killed (deadline)',
    'below floor w/ room',
    'deadlines',
    'alerts',
    'failed events',
    'holds',
  ];
  const rows = results.map((r) => [
    r.name,
    r.fault,
    String(r.seeds.length),
    String(r.actions.completedByController),
    String(r.actions.timedOut),
    `${r.tasksKilled} (${r.tasksKilledByDeadline})`,
    `${r.servicesBelowFloorWithRoomSeconds} s`,
    String(r.deadlinesReached),
    String(r.alerts),
    String(r.failedEvents),
    r.violations.length === 0 ? 'yes' : `NO: ${r.violations.join('; ')}`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(
      title.length,
      ...rows.map((row) => (column === header.length - 1 ? 0 : (row[column] ?? '').length)),
    ),
  );
  const line = (cells: string[]) =>
    cells
      .map((text, column) => (column === cells.length - 1 ? text : text.padEnd(widths[column] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
