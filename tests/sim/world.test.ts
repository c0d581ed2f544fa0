import { answer } from '../../sim/api/server';
import type { Controller } from '../../sim/controller';
import type { ScheduleFaults } from '../../sim/world';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { queuePipeline } from '../../sim/template';

const ecsCall = (operation: string) => ({
  'x-amz-target': `AmazonEC2ContainerServiceV20141113.${operation}`,
});

describe("ECS's documented token buckets", () => {
  it('let a burst of 100 reads through, throttle the next, and refill at 20 per second', async () => {
    const world = buildWorld(defaultOptions(demoShape(3)), 'none');
    await world.clock.run(600);
    const read = () =>
      answer(world.api, ecsCall('ListContainerInstances'), JSON.stringify({ cluster: 'prod' })).status;

    const burst = Array.from({ length: 101 }, read);
    expect(burst.filter((status) => status === 200)).toHaveLength(100);
    expect(burst[100]).toBe(400);

    await world.clock.run(601);
    const nextSecond = Array.from({ length: 25 }, read);
    expect(nextSecond.filter((status) => status === 200)).toHaveLength(20);
  });

  it('keep reads and modifications in separate buckets, as ECS does', async () => {
    const world = buildWorld(defaultOptions(demoShape(3)), 'none');
    await world.clock.run(600);
    for (let n = 0; n < 100; n++) answer(world.api, ecsCall('DescribeClusters'), '{}');
    for (let n = 0; n < 100; n++)
      answer(world.api, ecsCall('ListTasks'), JSON.stringify({ cluster: 'prod' }));
    const arn = [...world.ecs.instances.keys()][0];

    const put = answer(
      world.api,
      ecsCall('PutAttributes'),
      JSON.stringify({ cluster: 'prod', attributes: [{ name: 'team', value: 'payments', targetId: arn }] }),
    );
    expect(put.status).toBe(200);
  });
});

describe('custom attributes (PutAttributes)', () => {
  it('are returned by DescribeContainerInstances once reads have caught up, and bad names are refused', async () => {
    const world = buildWorld({ ...defaultOptions(demoShape(3)), ecs: { readLagSeconds: 2 } }, 'none');
    await world.clock.run(600);
    world.api.faults = { tokenBuckets: false, throttle: 0, serverError: 0 };
    const arn = [...world.ecs.instances.keys()][0] ?? '';
    const describe = () =>
      JSON.parse(
        answer(
          world.api,
          ecsCall('DescribeContainerInstances'),
          JSON.stringify({ cluster: 'prod', containerInstances: [arn] }),
        ).body,
      ).containerInstances[0].attributes as { name: string; value: string }[];

    const put = (name: string, value: string) =>
      answer(
        world.api,
        ecsCall('PutAttributes'),
        JSON.stringify({
          cluster: 'prod',
          attributes: [{ name, value, targetType: 'container-instance', targetId: arn }],
        }),
      );
    expect(put('ecs-drain.started-at', '2026-01-10T12:10:00.000Z').status).toBe(200);
    expect(describe()).not.toContainEqual({
      name: 'ecs-drain.started-at',
      value: '2026-01-10T12:10:00.000Z',
    });
    await world.clock.run(603);
    expect(describe()).toContainEqual({ name: 'ecs-drain.started-at', value: '2026-01-10T12:10:00.000Z' });

    expect(JSON.parse(put('bad name!', 'x').body).__type).toBe('InvalidParameterException');
    expect(JSON.parse(put('ok', ' padded').body).__type).toBe('InvalidParameterException');
  });
});

describe('instances released too early', () => {
  it('are recorded with every task that had not stopped, daemon tasks included', async () => {
    const world = buildWorld(defaultOptions(demoShape(3)), 'none');
    await world.clock.run(600);
    world.group.setDesiredCapacity(2);
    await world.clock.run(700);

    const [released] = world.recorder.releasedWithTasks;
    expect(released?.groups).toContain('service:log-router');
    expect(released?.groups.length).toBeGreaterThan(1);
  });
});

describe('the queues in front of the functions', () => {
  it('take their batching, concurrency, visibility and redrive from template.yaml', () => {
    for (const which of ['task-events', 'lifecycle-notifications'] as const) {
      const pipeline = queuePipeline(which);
      expect(pipeline.eventSource.MaximumBatchingWindowInSeconds).toBe(1);
      expect(pipeline.eventSource.ScalingConfig.MaximumConcurrency).toBe(2);
      expect(pipeline.eventSource.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(pipeline.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * pipeline.functionTimeoutSeconds);
      expect(pipeline.maxReceiveCount).toBe(5);
    }
    expect(queuePipeline('task-events').eventSource.BatchSize).toBe(10000);
  });
});

describe("the reconciler's schedule", () => {
  /** A world whose only function of interest records when the reconciler runs. */
  async function runsOver(minutes: number, scheduleFaults?: ScheduleFaults) {
    const runs: number[] = [];
    const noop = () => async () => undefined;
    const controller: Controller = {
      deploy: () => ({
        startDrain: noop,
        finishDrain: noop,
        reconcile: () => async () => {
          runs.push(world.clock.now);
        },
      }),
    };
    const world = buildWorld(
      { ...defaultOptions(demoShape(1)), controller, ...(scheduleFaults && { scheduleFaults }) },
      'none',
    );
    await world.clock.run(minutes * 60 + 30);
    return { runs, world };
  }

  it('runs once a period, on time, when nothing goes wrong', async () => {
    const { runs } = await runsOver(5);
    expect(runs).toHaveLength(5);
    // A cold start (0.4 s) before the first run, none after.
    expect(runs.map((at) => Math.floor(at))).toEqual([60, 120, 180, 240, 300]);
  });

  it('can run late, twice, or not at all, as EventBridge schedules may', async () => {
    const late = await runsOver(20, { jitterSeconds: 30, duplicate: 0, skip: 0 });
    const lateness = late.runs.map((at, n) => at - 60 * (n + 1));
    expect(Math.max(...lateness)).toBeGreaterThan(5);
    expect(Math.max(...lateness)).toBeLessThanOrEqual(31);

    const twice = await runsOver(5, { jitterSeconds: 0, duplicate: 1, skip: 0 });
    expect(twice.runs).toHaveLength(10);
    expect(twice.world.duplicatedScheduledRuns).toBe(5);

    const never = await runsOver(5, { jitterSeconds: 0, duplicate: 0, skip: 1 });
    expect(never.runs).toEqual([]);
    expect(never.world.skippedScheduledRuns).toBe(5);
  });
});
