import { ClusterShape, type ClusterShapeInput, demoShape } from '../../sim/scenario';
import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation();
});
afterAll(() => sim.close());

describe('instance refresh of the demo cluster', () => {
  it('with the controller: no service below its floor, every action completed by it, no task killed', async () => {
    const { summary, result } = await sim.rehearse({ scenario: 'instance-refresh', seed: 7 });

    // The metrics an operator's dashboards and alarms read are emitted (a metric that stops goes red here).
    expect(result.recorder.metrics.get('LifecycleActionCompleted')).toBe(6);
    expect(result.recorder.metrics.get('DrainStarted')).toBeGreaterThanOrEqual(6);
    expect(result.recorder.metrics.get('DrainDurationSeconds')).toBeGreaterThan(0);
    expect(result.recorder.metrics.get('BatchSize')).toBeGreaterThan(0);
    // The reconciler ran all along and never failed a host.
    expect(result.recorder.reconcileRuns.length).toBeGreaterThan(0);
    for (const run of result.recorder.reconcileRuns) expect(run.report).toMatchObject({ failed: 0 });

    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.instancesTerminated).toBe(6);
    expect(summary.lifecycleActions.completedByController).toBe(6);
    expect(summary.lifecycleActions.heartbeatTimeouts + summary.lifecycleActions.globalTimeouts).toBe(0);
    expect(summary.tasksKilled).toBe(0);
    expect(summary.failedEvents).toBe(0);
  });

  it('without it (no termination hook): tasks die with their instances and a service reaches zero', async () => {
    const { summary } = await sim.rehearse({ scenario: 'instance-refresh', seed: 7 }, false);

    expect(summary.tasksKilled).toBeGreaterThan(0);
    expect(servicesBelowFloor(summary).length).toBeGreaterThan(0);
    expect(Math.max(...summary.services.map((s) => s.secondsAtZero))).toBeGreaterThan(0);
  });

  it('launching before terminating (MinHealthy 100, MaxHealthy 110) keeps the floors too', async () => {
    const { summary } = await sim.rehearse({
      scenario: 'instance-refresh',
      refresh: { minHealthyPercentage: 100, maxHealthyPercentage: 110, instanceWarmup: 30 },
    });

    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.lifecycleActions.completedByController).toBe(6);
  });
});

describe('scale-in', () => {
  it('drains the instances removed, keeps every floor, and completes their actions', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'scale-in',
      shape: demoShape(9),
      scaleInBy: 3,
    });

    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.lifecycleActions.completedByController).toBe(3);
    expect(summary.tasksKilled).toBe(0);
    // Every terminated instance was released by the controller only after its drain.
    for (const action of result.recorder.actions)
      expect(action.endedAt - action.startedAt).toBeGreaterThan(30);
  });
});

describe('spot-style hard termination', () => {
  it('completes the action of an instance EC2 already took away instead of waiting for a timeout', async () => {
    const { summary, result } = await sim.rehearse({ scenario: 'spot', interruptions: 2 });

    expect(summary.settled).toBe(true);
    expect(summary.lifecycleActions.completedByController).toBe(2);
    for (const action of result.recorder.actions) expect(action.endedAt - action.startedAt).toBeLessThan(60);
  });
});

describe('at-least-once, unordered delivery and a throttling API', () => {
  it('still keeps every floor and completes every action when events are duplicated, delayed and reordered', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 3,
      deliveryFaults: { duplicate: 0.5, delay: 0.5, maxDelaySeconds: 180, drop: 0 },
      apiFaults: { tokenBuckets: true, throttle: 0.05, serverError: 0.02 },
    });

    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.lifecycleActions.completedByController).toBe(6);
    expect(summary.tasksKilled).toBe(0);
    expect(summary.throttledCalls).toBeGreaterThan(0);
    // Throttled and failed calls were retried by the SDK (and failed hosts by the queue), not lost.
    expect(result.retries.ecs?.retries).toBeGreaterThan(0);
    expect(summary.failedEvents).toBe(0);
  });

  it('drains and releases the instance through the reconciler when every event and notification is lost, and says so', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout: 300,
      deliveryFaults: { duplicate: 0, delay: 0, maxDelaySeconds: 0, drop: 1 },
    });

    expect(summary.settled).toBe(true);
    expect(summary.lifecycleActions.completedByController).toBe(1);
    expect(summary.lifecycleActions.heartbeatTimeouts).toBe(0);
    expect(summary.tasksKilled).toBe(0);
    expect(result.recorder.releasedWithTasks).toEqual([]);
    const alerts = (result.published ?? []).map((message) => JSON.parse(message.message).key);
    expect(alerts).toContain('lost-notification');
    expect(result.recorder.metrics.get('LifecycleActionCompleted')).toBe(1);
    expect(result.recorder.metrics.get('AlertSent')).toBe(alerts.length);
  });

  it('without the reconciler, the hook timeout (DefaultResult CONTINUE) releases the instance when every event is lost', async () => {
    const { summary } = await sim.rehearse({
      drain: { reconciler: false },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout: 300,
      deliveryFaults: { duplicate: 0, delay: 0, maxDelaySeconds: 0, drop: 1 },
    });

    expect(summary.lifecycleActions.completedByController).toBe(0);
    expect(summary.lifecycleActions.heartbeatTimeouts).toBe(1);
  });
});

describe('drains longer than the heartbeat timeout', () => {
  it('stay alive on heartbeats while tasks keep stopping, and are completed by the controller', async () => {
    const heartbeatTimeout = 300;
    // maximumPercent 110 of 12 allows one replacement at a time: the four tasks of the drained
    // instance stop about a minute apart, the whole drain lasts well past the timeout.
    const { result, summary } = await sim.rehearse({
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout,
      shape: ClusterShape.parse({
        instances: 3,
        services: [
          {
            name: 'slow',
            desiredCount: 12,
            minimumHealthyPercent: 100,
            maximumPercent: 110,
            startupSeconds: 60,
            stopSeconds: 150,
          },
        ],
      }),
    });

    const [action] = result.recorder.actions;
    expect(action?.endedBy).toBe('completed');
    expect((action?.endedAt ?? 0) - (action?.startedAt ?? 0)).toBeGreaterThan(heartbeatTimeout);
    expect(result.apiCalls['autoscaling:RecordLifecycleActionHeartbeat']).toBeGreaterThan(0);
    expect(summary.tasksKilled).toBe(0);
  });
});

describe('drains that cannot finish', () => {
  const shape = (extra: Partial<ClusterShapeInput>) =>
    ClusterShape.parse({
      instances: 3,
      services: [
        {
          name: 'web',
          desiredCount: 3,
          minimumHealthyPercent: 50,
          maximumPercent: 200,
          startupSeconds: 20,
          stopSeconds: 30,
        },
      ],
      ...extra,
    });

  it('a service with min 100 / max 100 never drains: the run says why, and the deadline lets it go', async () => {
    const { summary, result } = await sim.rehearse({
      drain: { drainDeadlineSeconds: 900 },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout: 600,
      shape: shape({
        services: [
          { name: 'web', desiredCount: 3, minimumHealthyPercent: 50, maximumPercent: 200 },
          { name: 'ledger', desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 100 },
        ],
      }),
    });

    // Nothing ends it before the deadline; at the deadline DeadlineAction continue lets it go, said once.
    expect(summary.lifecycleActions.completedByController).toBe(1);
    expect(summary.lifecycleActions.heartbeatTimeouts).toBe(0);
    const [action] = result.recorder.actions;
    expect((action?.endedAt ?? 0) - (action?.startedAt ?? 0)).toBeGreaterThanOrEqual(900);
    expect(summary.findings.join('\n')).toMatch(
      /service ledger has minimumHealthyPercent 100 and maximumPercent 100/,
    );
    const alerts = (result.published ?? []).map((message) => JSON.parse(message.message));
    expect(alerts.map((alert) => alert.key).sort()).toEqual(['cannot-progress', 'deadline']);
    expect(result.recorder.metrics.get('DrainCannotProgress')).toBe(1);
    expect(alerts.find((alert) => alert.key === 'deadline')?.summary).toMatch(/ledger: 1/);
    // The rehearsal's findings say what the deadline did.
    expect(summary.findings.join('\n')).toMatch(
      /: drain deadline of 900 s reached: the instance was let go with the tasks below\. Holding it: .*ledger: 1/,
    );
  });

  it('a standalone task keeps its instance in drain until the deadline (policy wait), which lets it go', async () => {
    const heartbeatTimeout = 900;
    const { summary, result } = await sim.rehearse({
      drain: { drainDeadlineSeconds: 1200 },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout,
      shape: shape({ standaloneTasks: [{ family: 'nightly-report', count: 3 }] }),
    });

    const [action] = result.recorder.actions;
    expect(action?.endedBy).toBe('completed');
    expect((action?.endedAt ?? 0) - (action?.startedAt ?? 0)).toBeGreaterThanOrEqual(1200);
    expect(summary.findings.join('\n')).toMatch(/standalone task nightly-report/);
    // The service tasks on it were drained first; only the standalone task was still there.
    const released = result.recorder.releasedWithTasks.map((release) => release.groups);
    expect(released).toEqual([['family:nightly-report']]);
  });

  it('keeps waiting past the deadline with keep-waiting: one deadline alert and count, released only by the global timeout', async () => {
    const heartbeatTimeout = 300; // the harness paces heartbeats for 300 s
    const { result } = await sim.rehearse({
      drain: { drainDeadlineSeconds: 600, deadlineAction: 'keep-waiting' },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout,
      shape: shape({ standaloneTasks: [{ family: 'nightly-report', count: 3 }] }),
    });

    const [action] = result.recorder.actions;
    // Heartbeats kept it past both HeartbeatTimeout and the deadline, up to 100 x HeartbeatTimeout.
    expect(action?.endedBy).toBe('global-timeout');
    expect((action?.endedAt ?? 0) - (action?.startedAt ?? 0)).toBeGreaterThanOrEqual(100 * heartbeatTimeout);
    expect(result.recorder.metrics.get('DeadlineReached')).toBe(1);
    const alerts = (result.published ?? []).map((message) => JSON.parse(message.message).key);
    expect(alerts.filter((key) => key === 'deadline')).toHaveLength(1);
    // Held by heartbeats: about one a third of HeartbeatTimeout, for 100 x HeartbeatTimeout.
    expect(result.recorder.metrics.get('HeartbeatRecorded')).toBeGreaterThan(100);
  }, 30_000);

  it('keeps heartbeating a drain past its deadline when the alert topic is gone: no drain waits on SNS', async () => {
    const { result } = await sim.rehearse({
      drain: {
        drainDeadlineSeconds: 600,
        deadlineAction: 'keep-waiting',
        alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:deleted-topic',
      },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout: 300,
      shape: shape({ standaloneTasks: [{ family: 'nightly-report', count: 3 }] }),
    });

    const [action] = result.recorder.actions;
    expect(action?.endedBy).toBe('global-timeout');
    expect(result.published ?? []).toEqual([]);
    expect(result.recorder.metrics.get('AlertFailed')).toBeGreaterThan(0);
    expect(result.recorder.metrics.get('DeadlineReached')).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('stops a standalone task after its grace when StandaloneTasks is stop, then completes with nothing killed', async () => {
    const { summary, result } = await sim.rehearse({
      drain: { standaloneTasks: 'stop', standaloneGraceSeconds: 300 },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout: 900,
      shape: shape({ standaloneTasks: [{ family: 'nightly-report', count: 3 }] }),
    });

    const [action] = result.recorder.actions;
    expect(action?.endedBy).toBe('completed');
    expect((action?.endedAt ?? 0) - (action?.startedAt ?? 0)).toBeGreaterThanOrEqual(300);
    expect(result.recorder.releasedWithTasks).toEqual([]);
    expect(summary.tasksKilled).toBe(0);
    expect(result.recorder.metrics.get('TasksStoppedByPolicy')).toBeGreaterThan(0);
  });
});

describe('reproducibility', () => {
  it('starts both runs of a comparison from the same cluster: the controller does not perturb its randomness', async () => {
    const without = await sim.rehearse({ scenario: 'instance-refresh', seed: 5 }, false);
    const withController = await sim.rehearse({ scenario: 'instance-refresh', seed: 5 });
    const before = (run: typeof without) =>
      [...run.result.recorder.healthy].map(([name, series]) => [
        name,
        series.t.filter((t) => t <= run.result.actionAt),
      ]);

    expect([...withController.result.recorder.lanes.keys()].slice(0, 6)).toEqual(
      [...without.result.recorder.lanes.keys()].slice(0, 6),
    );
    expect(before(withController)).toEqual(before(without));
  });

  it('gives the same run for the same seed', async () => {
    const first = await sim.rehearse({ scenario: 'instance-refresh', seed: 11 });
    const second = await sim.rehearse({ scenario: 'instance-refresh', seed: 11 });

    expect(second.summary).toEqual(first.summary);
  });
});
