import { Logger } from '@aws-lambda-powertools/logger';
import { createReconcileHandler } from '../../functions/reconcile/app';
import type { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import type { EcsAdapter } from '../../shared/aws/ecs';
import type { AlertPublisher } from '../../shared/aws/sns';
import { type ControllerConfig, DRAIN_POLICY_DEFAULTS } from '../../shared/config';
import type { Telemetry } from '../../shared/observability';
import {
  type ContainerInstanceView,
  QUIET_BEFORE_LOOK_MS,
  START_FUNCTION_GRACE_MS,
} from '../../shared/decisions/host';

// The reconciler's handler over recording adapters: what it reads and does for one drain found
// in progress, from what ECS and Auto Scaling answer. The decisions themselves: host.test.ts.

const NOW = Date.parse('2026-01-10T12:00:00Z');
const CI = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ci1';
const config: ControllerConfig = {
  clusters: ['prod'],
  groups: [{ autoScalingGroupName: 'asg', cluster: 'prod' }],
  lifecycleHookName: 'ecs-drain',
  heartbeatTimeoutSeconds: 1800,
  ...DRAIN_POLICY_DEFAULTS,
};

interface Task {
  arn: string;
  group: string;
  lastStatus?: string;
  stoppedAt?: number;
}

/** One instance held by our hook, DRAINING for `ageMinutes`, with these tasks wanting to run and told to stop. */
async function reconcileOnce(
  ageMinutes: number,
  wanting: Task[],
  daemonServices: string[],
  policy: Partial<ControllerConfig> = {},
  toldToStop: Task[] = [],
  instanceChanges: Partial<ContainerInstanceView> = {},
  /** Lambda's time left for the run, in ms; without it, the run has no deadline. */
  remainingMs?: number,
) {
  const calls: { name: string; args: unknown[]; at: number }[] = [];
  let clock = NOW;
  const slept: number[] = [];
  const record =
    (name: string, answer: unknown) =>
    async (...args: unknown[]) => {
      calls.push({ name, args, at: clock });
      return typeof answer === 'function' ? (answer as (...a: unknown[]) => unknown)(...args) : answer;
    };
  const every = [...wanting.map((task) => ({ lastStatus: 'RUNNING', ...task })), ...toldToStop];
  const view = {
    arn: CI,
    ec2InstanceId: 'i-1',
    status: 'DRAINING',
    agentConnected: true,
    runningTasksCount: wanting.length,
    pendingTasksCount: 0,
    drainStartedAt: NOW - ageMinutes * 60_000,
    heartbeatAt: NOW - 10_000,
    ...instanceChanges,
  };
  const ecs = {
    listContainerInstancesIn: record('listContainerInstancesIn', [CI]),
    describeContainerInstances: record('describeContainerInstances', { found: [view], missing: [] }),
    listContainerInstancesOf: record('listContainerInstancesOf', [CI]),
    listTasksWantingToRun: record(
      'listTasksWantingToRun',
      wanting.map((task) => task.arn),
    ),
    listTasksToldToStop: record(
      'listTasksToldToStop',
      toldToStop.map((task) => task.arn),
    ),
    describeTasks: record('describeTasks', (_cluster: string, arns: string[]) =>
      every
        .filter((task) => arns.includes(task.arn))
        .map((task) => ({
          taskArn: task.arn,
          containerInstanceArn: CI,
          lastStatus: task.lastStatus,
          version: 2,
          group: task.group,
          ...(task.stoppedAt !== undefined && { stoppedAt: task.stoppedAt }),
        })),
    ),
    daemonServices: record('daemonServices', new Set(daemonServices)),
    stopTasks: record('stopTasks', undefined),
    markHeartbeat: record('markHeartbeat', undefined),
    markAlertsSent: record('markAlertsSent', undefined),
    markDrainStarted: record('markDrainStarted', undefined),
    readsPossibleBy: () => Number.MAX_SAFE_INTEGER,
    // ECS answers with the instances now DRAINING, with the drain start just recorded on them.
    setDraining: record('setDraining', (_cluster: string, arns: string[]) => ({
      draining: arns.map((arn) => ({ ...view, arn, status: 'DRAINING', drainStartedAt: clock })),
      failures: [],
    })),
  };
  const held = { autoScalingGroupName: 'asg', lifecycleState: 'Terminating:Wait' };
  const autoScaling = {
    waitingInstances: record('waitingInstances', [{ instanceId: 'i-1', ...held }]),
    describeInstances: record('describeInstances', new Map([['i-1', held]])),
    completeLifecycleAction: record('completeLifecycleAction', 'done'),
    recordHeartbeat: record('recordHeartbeat', 'done'),
    // Its share is not what these tests are about: any call may go.
    callsPossibleBy: () => Number.MAX_SAFE_INTEGER,
  };
  const counted: string[] = [];
  const telemetry: Telemetry & { publish(): void } = {
    logger: new Logger({ logLevel: 'SILENT' }),
    count: (metric) => counted.push(metric),
    measure: () => undefined,
    publish: () => undefined,
  };
  const handle = createReconcileHandler({
    config: { ...config, ...policy },
    ecs: ecs as unknown as EcsAdapter,
    autoScaling: autoScaling as unknown as AutoScalingAdapter,
    alerts: { enabled: true, publish: record('publish', undefined) } as unknown as AlertPublisher,
    telemetry,
    timing: {
      now: () => clock,
      sleep: async (milliseconds: number) => {
        slept.push(milliseconds);
        clock += milliseconds;
      },
    },
  });
  const deadline = clock + (remainingMs ?? 0);
  const report = await handle(
    undefined,
    remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => deadline - clock },
  );
  const stops = calls.filter((call) => call.name === 'stopTasks').map((call) => call.args);
  const argsOf = (name: string) => calls.filter((call) => call.name === name).map((call) => call.args);
  return {
    report,
    calls: calls.map((call) => call.name),
    stops,
    counted,
    argsOf,
    slept,
    timed: calls.map((call) => ({ name: call.name, atMs: call.at - NOW })),
  };
}

const WEB = { arn: 'task/web-1', group: 'service:web' };
const LOGS = { arn: 'task/logs-1', group: 'service:logs' };
const JOB = { arn: 'task/job-1', group: 'family:nightly' };

it('at the deadline with stop-tasks, stops the service tasks with a reason, never the daemon task DescribeServices names', async () => {
  const { stops, counted } = await reconcileOnce(61, [WEB, LOGS], ['logs'], { deadlineAction: 'stop-tasks' });
  expect(stops).toEqual([
    ['prod', ['task/web-1'], expect.stringMatching(/^ecs-drain: drain deadline \(3600 s\) reached/)],
  ]);
  expect(counted).toContain('DeadlineReached');
});

it("starts no action in its run's last 15 s: Lambda would end it mid-call (a third of the runs of a 3,000-instance refresh)", async () => {
  const late = await reconcileOnce(
    61,
    [WEB, LOGS],
    ['logs'],
    { deadlineAction: 'stop-tasks' },
    [],
    {},
    10_000,
  );
  expect(late.stops).toEqual([]);
  expect(late.report.failed).toBe(1);

  // With the time a scheduled run has, the same drain is acted on.
  const onTime = await reconcileOnce(
    61,
    [WEB, LOGS],
    ['logs'],
    { deadlineAction: 'stop-tasks' },
    [],
    {},
    60_000,
  );
  expect(onTime.stops).toHaveLength(1);
});

it('alerts about the deadline of a second drain of the instance, and records the alert against that drain', async () => {
  const thisDrain = NOW - 61 * 60_000;
  const earlierDrain = thisDrain - 7 * 24 * 3600_000;
  const { argsOf, counted } = await reconcileOnce(61, [WEB], [], { deadlineAction: 'keep-waiting' }, [], {
    alertsSent: ['deadline'],
    alertsForDrainStartedAt: earlierDrain,
  });
  expect(argsOf('publish')).toEqual([[expect.objectContaining({ key: 'deadline' })]]);
  expect(argsOf('markAlertsSent')).toEqual([['prod', [CI], ['deadline'], thisDrain]]);
  expect(counted).toContain('DeadlineReached');
});

it('drains an instance our hook holds that nobody drained, a few seconds into the same run, restarting the hook timer', async () => {
  // Not DRAINING, no drain start recorded: the lifecycle notification never reached the start function.
  const { calls, argsOf, slept } = await reconcileOnce(0, [WEB], [], {}, [], {
    status: 'ACTIVE',
    drainStartedAt: undefined,
    heartbeatAt: undefined,
  });

  // It left the start function its few seconds, then looked again and drained within the run.
  expect(slept).toEqual([START_FUNCTION_GRACE_MS]);
  expect(calls).toContain('setDraining');
  // Dated by this run, the drain must not count as the hook timer's start: a heartbeat restarts it.
  expect(calls.indexOf('recordHeartbeat')).toBeGreaterThan(calls.indexOf('setDraining'));
  expect(argsOf('publish')).toEqual([[expect.objectContaining({ key: 'lost-notification' })]]);
});

it('stops a daemon task left alone a daemon grace after the other tasks stopped', async () => {
  const stoppedWeb = { ...WEB, lastStatus: 'STOPPED', stoppedAt: NOW - 3 * 60_000 };
  const { stops } = await reconcileOnce(11, [LOGS], ['logs'], {}, [stoppedWeb]);
  expect(stops).toEqual([['prod', ['task/logs-1'], expect.stringContaining('only daemon tasks still run')]]);
});

it('leaves a daemon task alone while another task is still stopping', async () => {
  const { stops } = await reconcileOnce(11, [LOGS], ['logs'], {}, [{ ...WEB, lastStatus: 'RUNNING' }]);
  expect(stops).toEqual([]);
});

it('stops only the standalone task after its grace, never a service task', async () => {
  const { stops } = await reconcileOnce(11, [JOB, WEB], [], {
    standaloneTasks: 'stop',
    standaloneGraceSeconds: 600,
  });
  expect(stops.map(([, arns]) => arns)).toEqual([['task/job-1']]);
});

it('finds each drain once, from both sides: the held instance and its DRAINING container instance', async () => {
  const { report } = await reconcileOnce(
    2,
    [WEB, { arn: 'task/web-2', group: 'service:web' }, LOGS, JOB],
    [],
  );
  expect(report).toMatchObject({ held: 1, draining: 1, failed: 0 });
  expect(Object.values(report.commands).reduce((sum, n) => sum + n, 0)).toBe(1);
});

/** Runs, a minute apart, for which a drain with no task wanting to run is left to its task events. */
const QUIET_RUNS = QUIET_BEFORE_LOOK_MS / 60_000;

describe('a run with more drains to look at than its reads allow', () => {
  interface Drain {
    id: string;
    ageMinutes: number;
    /** Its last task has stopped (its STOPPED event was lost); otherwise one task is still stopping. */
    empty?: boolean;
    /** A task still wants to run on it, which the reconciler lists again every run once the drain looks stuck. */
    wanting?: boolean;
  }

  /** A reconciler container over held, DRAINING instances that run nothing; each `run` is a minute later. */
  function reconciler(drains: Drain[], policy: Partial<ControllerConfig>) {
    let now = NOW;
    const arn = (id: string) => `${CI.slice(0, CI.lastIndexOf('/'))}/${id}`;
    const idOf = (ci: string) => ci.slice(ci.lastIndexOf('/') + 1);
    const view = ({ id, ageMinutes, wanting }: Drain) => ({
      arn: arn(id),
      ec2InstanceId: id,
      status: 'DRAINING',
      agentConnected: true,
      runningTasksCount: wanting === true ? 1 : 0,
      pendingTasksCount: 0,
      drainStartedAt: NOW - ageMinutes * 60_000,
      heartbeatAt: NOW - 20 * 60_000,
    });
    const listed: string[] = [];
    const described: string[] = [];
    const heartbeats: string[] = [];
    const completed: string[] = [];
    const held = { autoScalingGroupName: 'asg', lifecycleState: 'Terminating:Wait' };
    const waiting = () => drains.filter((drain) => !completed.includes(drain.id));
    const ecs = {
      listContainerInstancesIn: async () => waiting().map((drain) => arn(drain.id)),
      describeContainerInstances: async () => ({ found: waiting().map(view), missing: [] }),
      listContainerInstancesOf: async (_cluster: string, ids: string[]) => ids.map(arn),
      listTasksToldToStop: async (_cluster: string, ci: string) => {
        listed.push(idOf(ci));
        return [`task/${idOf(ci)}`];
      },
      listTasksWantingToRun: async (_cluster: string, ci: string) => {
        listed.push(idOf(ci));
        return [`task/${idOf(ci)}-web`];
      },
      daemonServices: async () => new Set<string>(),
      describeTasks: async (_cluster: string, arns: string[]) => {
        described.push(...arns);
        return arns.map((taskArn) => {
          const empty = drains.find((drain) => taskArn === `task/${drain.id}`)?.empty === true;
          return {
            taskArn,
            containerInstanceArn: '',
            group: 'service:web',
            lastStatus: taskArn.endsWith('-web') ? 'RUNNING' : empty ? 'STOPPED' : 'STOPPING',
            version: 2,
            ...(empty && { stoppedAt: NOW - 30 * 60_000 }),
          };
        });
      },
      markHeartbeat: async () => undefined,
      markAlertsSent: async () => undefined,
    };
    const autoScaling = {
      waitingInstances: async () => waiting().map(({ id }) => ({ instanceId: id, ...held })),
      describeInstances: async (ids: string[]) => new Map(ids.map((id) => [id, held])),
      recordHeartbeat: async (action: { instanceId: string }) => {
        heartbeats.push(action.instanceId);
        return 'done';
      },
      completeLifecycleAction: async (action: { instanceId: string }) => {
        completed.push(action.instanceId);
        return 'done';
      },
    };
    const handle = createReconcileHandler({
      config: { ...config, ...policy },
      ecs: ecs as unknown as EcsAdapter,
      autoScaling: autoScaling as unknown as AutoScalingAdapter,
      alerts: { enabled: false, publish: async () => undefined } as unknown as AlertPublisher,
      telemetry: {
        logger: new Logger({ logLevel: 'SILENT' }),
        count: () => undefined,
        measure: () => undefined,
        publish: () => undefined,
      },
      timing: { now: () => now, sleep: async () => undefined },
    });
    const run = async () => {
      const report = await handle();
      now += 60_000;
      return report;
    };
    return { run, listed, described, heartbeats, completed };
  }

  /** Ten held instances, DRAINING and running nothing, drained 12 to 21 minutes ago: heartbeats due. */
  async function reconcileMany(ecsReadsPerSecond: number) {
    const drains = Array.from({ length: 10 }, (_, n) => ({ id: `i-${n}`, ageMinutes: 12 + n }));
    const { run, listed, heartbeats } = reconciler(drains, { ecsReadsPerSecond });
    // The first runs see them quiet (no task wants to run) and leave them to their events, which
    // come once their tasks have stopped (minutes behind a load balancer).
    for (let minute = 0; minute < QUIET_RUNS; minute++) await run();
    expect(listed).toEqual([]);
    const report = await run();
    return { report, listed, heartbeats };
  }

  it('lists the oldest drains first, within the reads its pace allows in half its timeout', async () => {
    // EcsReadsPerSecond 2: the reconciler's tenth is 0.2 per second, 6 reads in 30 s; finding the
    // drains took 2 (a ListContainerInstances page and a describe): 4 hosts listed.
    const { listed, report } = await reconcileMany(2);

    expect(listed).toEqual(['i-9', 'i-8', 'i-7', 'i-6']);
    expect(report.failed).toBe(0);
  });

  it('keeps every drain alive all the same, listed or not', async () => {
    const { heartbeats } = await reconcileMany(2);

    expect([...new Set(heartbeats)].sort()).toEqual(Array.from({ length: 10 }, (_, n) => `i-${n}`));
  });

  it('lists every drain when its reads allow', async () => {
    const { listed } = await reconcileMany(20);

    expect(listed).toHaveLength(10);
  });

  it('gives every drain its turn: a drain whose last event was lost is finished behind older ones that never end', async () => {
    // EcsReadsPerSecond 2: four lists a run. Four older drains look stuck (a task still wants to run),
    // so each run would list them again: by age alone they would take every turn, every run.
    const stuck = Array.from({ length: 4 }, (_, n) => ({ id: `i-old-${n}`, ageMinutes: 40, wanting: true }));
    const { run, completed } = reconciler([...stuck, { id: 'i-young', ageMinutes: 5, empty: true }], {
      ecsReadsPerSecond: 2,
    });

    for (let minute = 0; minute < QUIET_RUNS + 2; minute++) await run();

    expect(completed).toEqual(['i-young']);
  });

  it('takes no turn for a host whose lists it remembers (no ListTasks): it is still checked every run', async () => {
    const first = Array.from({ length: 4 }, (_, n) => ({ id: `i-a${n}`, ageMinutes: 30 }));
    const then = Array.from({ length: 4 }, (_, n) => ({ id: `i-b${n}`, ageMinutes: 20 }));
    const { run, listed, described } = reconciler([...first, ...then], { ecsReadsPerSecond: 2 });
    // Quiet for the first time, then for a while: left to their events; then the first four listed.
    for (let minute = 0; minute <= QUIET_RUNS; minute++) await run();
    described.length = 0;

    await run();

    // The second run lists the four it could not list before, and checks the first four from memory.
    expect(listed.slice(4).sort()).toEqual(then.map((drain) => drain.id));
    expect(described).toEqual(expect.arrayContaining(first.map((drain) => `task/${drain.id}`)));
  });

  it('lets a drain that is not its turn go at its deadline with DeadlineAction continue, as the event path does', async () => {
    // Four older drains take this run's four turns; all five are past the 60-minute deadline.
    const older = Array.from({ length: 4 }, (_, n) => ({ id: `i-old-${n}`, ageMinutes: 70 }));
    const { run, completed, listed } = reconciler([...older, { id: 'i-late', ageMinutes: 61 }], {
      ecsReadsPerSecond: 2,
    });

    await run();

    expect(listed).not.toContain('i-late');
    expect(completed).toContain('i-late');
  });
});

describe('a new instance our launch hook holds, ready for ECS', () => {
  const NEW_CI = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/new';

  /** One reconciler container over recording adapters; each call of `run` is one run, a minute after the last. */
  function reconciler(launchTimeoutSeconds: number) {
    let clock = NOW;
    const completions: unknown[][] = [];
    const pending = { autoScalingGroupName: 'asg', lifecycleState: 'Pending:Wait' };
    const handle = createReconcileHandler({
      config: { ...config, launchHookName: 'ecs-drain-launch', launchTimeoutSeconds },
      ecs: {
        listContainerInstancesIn: async () => [],
        listContainerInstancesOf: async () => [NEW_CI],
        describeContainerInstances: async (_cluster: string, arns: string[]) => ({
          found: arns.includes(NEW_CI)
            ? [{ arn: NEW_CI, ec2InstanceId: 'i-new', status: 'ACTIVE', agentConnected: true }]
            : [],
          missing: [],
        }),
      } as unknown as EcsAdapter,
      autoScaling: {
        waitingInstances: async () => [{ instanceId: 'i-new', ...pending }],
        describeInstances: async () => new Map([['i-new', pending]]),
        completeLifecycleAction: async (...args: unknown[]) => {
          completions.push(args);
          return 'done';
        },
      } as unknown as AutoScalingAdapter,
      alerts: { enabled: false, publish: async () => undefined } as unknown as AlertPublisher,
      telemetry: {
        logger: new Logger({ logLevel: 'SILENT' }),
        count: () => undefined,
        measure: () => undefined,
        publish: () => undefined,
      },
      timing: {
        now: () => clock,
        sleep: async (milliseconds: number) => {
          clock += milliseconds;
        },
      },
    });
    return {
      completions,
      run: async () => {
        const report = await handle();
        clock += 60_000;
        return report;
      },
    };
  }

  it('is left to launch readiness at the run that first sees it held, and let in at the next (its events were lost)', async () => {
    const { run, completions } = reconciler(600);

    const first = await run();
    expect(completions).toEqual([]);
    expect(first.launches).toEqual({});

    const second = await run();
    expect(second.launches).toEqual({ continue: 1 });
    expect(completions).toEqual([
      [
        {
          autoScalingGroupName: 'asg',
          lifecycleHookName: 'ecs-drain-launch',
          instanceId: 'i-new',
        },
        'CONTINUE',
      ],
    ]);
  });

  it('is decided at the first run when LaunchTimeout is so short that the launch may be due to be given up', async () => {
    const { run, completions } = reconciler(300);

    await run();

    expect(completions).toHaveLength(1);
  });
});

describe('a run near its timeout', () => {
  it.each([20_000, 30_000])(
    'with %i ms left, starts no drain (and queues no heartbeat) after its actBy (15 s before the timeout)',
    async (remaining) => {
      const { timed } = await reconcileOnce(
        0,
        [WEB],
        [],
        {},
        [],
        { status: 'ACTIVE', drainStartedAt: undefined, heartbeatAt: undefined },
        remaining,
      );
      const actBy = remaining - 15_000;
      const acting = ['setDraining', 'recordHeartbeat', 'completeLifecycleAction', 'stopTasks'];
      expect(timed.filter((call) => acting.includes(call.name) && call.atMs >= actBy)).toEqual([]);
    },
  );

  it('with 10 s left, does not wait to look again at a drain the start function may still take up', async () => {
    const { slept, timed } = await reconcileOnce(
      0,
      [WEB],
      [],
      {},
      [],
      { status: 'ACTIVE', drainStartedAt: undefined, heartbeatAt: undefined },
      10_000,
    );
    expect(slept).toEqual([]);
    expect(Math.max(...timed.map((call) => call.atMs))).toBeLessThan(10_000);
  });
});
