import { ClusterShape, demoShape } from '../../sim/scenario';
import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

// The twin at its least kind: ECS's token buckets, the SDK's retries on simulated time, several
// Lambda containers interleaving, reads that lag events, answers lost after the call took effect.
let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation();
});
afterAll(() => sim.close());

describe('an instance refresh under every fault the twin has', () => {
  it('keeps every floor, completes every action itself, and releases no instance with a task still running', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 4,
      shape: demoShape(12),
      ecs: { readLagSeconds: 5, ec2NoticeSeconds: 45 },
      deliveryFaults: { duplicate: 0.3, delay: 0.3, maxDelaySeconds: 60, drop: 0 },
      apiFaults: { tokenBuckets: true, throttle: 0.05, serverError: 0.02, lostResponse: 0.05 },
    });

    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.lifecycleActions.completedByController).toBe(12);
    expect(summary.tasksKilled).toBe(0);
    expect(summary.releasedWithTasksRunning).toBe(0);
    expect(summary.failedEvents).toBe(0);
    // The faults did happen, and were absorbed.
    expect(result.lostResponses).toBeGreaterThan(0);
    expect(result.retries.ecs?.retries).toBeGreaterThan(0);
  });

  it('without the hook, instances go with tasks still running', async () => {
    const { summary } = await sim.rehearse(
      { scenario: 'instance-refresh', seed: 4, shape: demoShape(12) },
      false,
    );

    expect(summary.releasedWithTasksRunning).toBeGreaterThan(0);
  });
});

describe('the cost of a drain, not of the cluster churn', () => {
  it('reads each batch of task events with one DescribeContainerInstances, not one per event', async () => {
    const { result, summary } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 2,
      shape: demoShape(60),
      refresh: { minHealthyPercentage: 50, instanceWarmup: 30 },
    });

    expect(summary.lifecycleActions.completedByController).toBe(60);
    const events = result.taskEventSource?.recordsDelivered ?? 0;
    const batches = result.taskEventSource?.batches ?? 0;
    const startBatches = result.lifecycleEventSource?.batches ?? 0;
    const describes = result.apiCalls['ecs:DescribeContainerInstances'] ?? 0;
    expect(events).toBeGreaterThan(2 * batches);
    // One describe per batch of either queue, however many events or hosts a batch holds, and one
    // per reconciler run that found drains in progress.
    const reconcileRuns = result.recorder.reconcileRuns.length;
    expect(describes).toBeLessThanOrEqual(batches + startBatches + reconcileRuns);
  });

  it('runs several Lambda containers at once when batches overlap, and still completes every drain', async () => {
    const { result, summary } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 2,
      shape: demoShape(60),
      refresh: { minHealthyPercentage: 50, instanceWarmup: 30 },
      apiLatency: [0.2, 0.6],
    });

    expect(result.taskEventSource?.peakConcurrency).toBe(2);
    expect(result.lambdas['finish-drain']?.coldStarts).toBe(2);
    expect(summary.lifecycleActions.completedByController).toBe(60);
    expect(summary.releasedWithTasksRunning).toBe(0);
  });
});

describe('an agent that disconnects during a drain', () => {
  it('is held while its tasks cannot be seen to stop, and let go at the deadline (continue) with alerts', async () => {
    const heartbeatTimeout = 300;
    const drainDeadlineSeconds = 1200;
    const { result } = await sim.rehearse({
      drain: { drainDeadlineSeconds },
      scenario: 'scale-in',
      scaleInBy: 1,
      heartbeatTimeout,
      shape: ClusterShape.parse({
        instances: 3,
        services: [{ name: 'web', desiredCount: 6, minimumHealthyPercent: 50, maximumPercent: 200 }],
      }),
      disconnectAgentOnDrain: true,
    });

    const [action] = result.recorder.actions;
    // Kept alive by the reconciler's heartbeats well past HeartbeatTimeout, released at the deadline.
    expect(action?.endedBy).toBe('completed');
    const held = (action?.endedAt ?? 0) - (action?.startedAt ?? 0);
    expect(held).toBeGreaterThanOrEqual(drainDeadlineSeconds);
    expect(held).toBeLessThan(drainDeadlineSeconds + 2 * 60 + heartbeatTimeout);
    expect(result.recorder.metrics.get('DeadlineReached')).toBe(1);
    const alerts = (result.published ?? []).map((message) => JSON.parse(message.message).key);
    expect(alerts.sort()).toEqual(['cannot-progress', 'deadline']);
    expect(JSON.parse(result.published?.[0]?.message ?? '{}').summary).toMatch(/ECS agent disconnected/);
  });
});
