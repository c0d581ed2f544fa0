import { answer, type ApiTarget, newBuckets } from '../../sim/api/server';
import {
  CIRCUIT_BREAKER_REASON,
  circuitBreakerThreshold,
  type Service,
  type ServiceSpec,
} from '../../sim/ecs';
import { simulatedCluster } from '../helpers/ecs-model';

function spec(changes: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    desiredCount: 4,
    minimumHealthyPercent: 50,
    maximumPercent: 100,
    cpu: 256,
    memory: 512,
    startupSeconds: 30,
    stopSeconds: 20,
    ...changes,
  };
}

/** A cluster with one service, settled; `call` answers as the endpoint does. */
async function withService(changes: Partial<ServiceSpec> = {}, hosts = 3) {
  const cluster = simulatedCluster(hosts, 7);
  const service = cluster.ecs.createService(spec(changes));
  await cluster.clock.run(300);
  return { ...cluster, service };
}

type Call = ReturnType<typeof simulatedCluster>['call'];

/** Revision 2 of `web`, the same as revision 1 but for its image. */
function registerImage(call: Call, image: string): string {
  const { taskDefinition } = call('RegisterTaskDefinition', {
    family: 'web',
    containerDefinitions: [{ name: 'web', image, essential: true, memory: 512 }],
    cpu: '256',
    memory: '512',
  }) as { taskDefinition: { taskDefinitionArn: string } };
  return taskDefinition.taskDefinitionArn;
}

interface Described {
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  deployments: {
    id: string;
    status: string;
    taskDefinition: string;
    desiredCount: number;
    runningCount: number;
    failedTasks: number;
    rolloutState: string;
    rolloutStateReason: string;
  }[];
  events: { message: string }[];
  deploymentConfiguration: Record<string, unknown>;
}

function described(call: Call): Described {
  const { services } = call('DescribeServices', { services: ['web'] }) as { services: Described[] };
  return services[0] as Described;
}

/** Runs the clock second by second to `until`, checking `each` after every step. */
async function step(clock: { run(t: number): Promise<void>; now: number }, until: number, each: () => void) {
  while (clock.now < until) {
    await clock.run(clock.now + 1);
    each();
  }
}

const healthyOf = (service: Service, revision: string) =>
  [...service.tasks].filter((t) => t.healthy && t.taskDefinitionArn === revision).length;

describe('task definitions in the twin', () => {
  it('gives every service family revision 1, registers the next revisions and describes them by family, revision or ARN', () => {
    const { call, ecs } = simulatedCluster(1, 1);
    ecs.createService(spec());
    ecs.runStandaloneTasks({ family: 'nightly', cpu: 128, memory: 128, count: 1 });
    const first = call('DescribeTaskDefinition', { taskDefinition: 'web' }) as {
      taskDefinition: Record<string, unknown>;
    };
    expect(first.taskDefinition).toMatchObject({
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
      family: 'web',
      revision: 1,
      status: 'ACTIVE',
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'web', image: 'public.ecr.aws/ecs-drain-sim/web:1' }],
      compatibilities: expect.arrayContaining(['EC2']),
    });

    const registered = call('RegisterTaskDefinition', {
      family: 'web',
      containerDefinitions: [{ name: 'web', image: 'example/web:2', memory: 256, environment: [] }],
      networkMode: 'bridge',
      tags: [{ key: 'team', value: 'shop' }],
    }) as { taskDefinition: Record<string, unknown>; tags: unknown };
    expect(registered.taskDefinition).toMatchObject({
      revision: 2,
      networkMode: 'bridge',
      containerDefinitions: [{ name: 'web', image: 'example/web:2', memory: 256, environment: [] }],
    });
    expect(registered.tags).toEqual([{ key: 'team', value: 'shop' }]);

    const revisionOf = (ref: string) =>
      (call('DescribeTaskDefinition', { taskDefinition: ref }) as { taskDefinition: { revision: number } })
        .taskDefinition.revision;
    expect(revisionOf('web')).toBe(2);
    expect(revisionOf('web:1')).toBe(1);
    expect(revisionOf('arn:aws:ecs:us-east-1:123456789012:task-definition/web:2')).toBe(2);
    expect(() => call('DescribeTaskDefinition', { taskDefinition: 'web:3' })).toThrow(
      'Unable to describe task definition.',
    );
    expect(() => call('DescribeTaskDefinition', { taskDefinition: 'nope' })).toThrow(
      'Unable to describe task definition.',
    );
    const withTags = call('DescribeTaskDefinition', { taskDefinition: 'web', include: ['TAGS'] });
    expect(withTags.tags).toEqual([{ key: 'team', value: 'shop' }]);

    expect(call('ListTaskDefinitions', {}).taskDefinitionArns).toEqual([
      'arn:aws:ecs:us-east-1:123456789012:task-definition/nightly:1',
      'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
      'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2',
    ]);
    expect(call('ListTaskDefinitions', { familyPrefix: 'web', sort: 'DESC' }).taskDefinitionArns).toEqual([
      'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2',
      'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1',
    ]);
  });

  it.each([
    [{ family: 'web', containerDefinitions: [] }, 'Container list cannot be empty.'],
    [{ family: 'web' }, 'Container list cannot be empty.'],
    [
      {
        family: 'web',
        containerDefinitions: [
          { name: 'a', image: 'x', memory: 1 },
          { name: 'a', image: 'y', memory: 1 },
        ],
      },
      'Duplicate container name',
    ],
    [{ family: 'web', containerDefinitions: [{ name: 'a', memory: 1 }] }, 'image'],
    [{ family: 'web', containerDefinitions: [{ name: 'a', image: 'x' }] }, "'memory' or 'memoryReservation'"],
  ])('refuses RegisterTaskDefinition %j with a ClientException', (input, message) => {
    const { call } = simulatedCluster(1, 1);
    expect(() => call('RegisterTaskDefinition', input)).toThrow(message);
  });
});

describe('service deployments in the twin', () => {
  it.each([
    [50, 100],
    [100, 200],
  ])(
    'min %i / max %i: UpdateService rolls the new revision out, never below the floor, then completes',
    async (minimumHealthyPercent, maximumPercent) => {
      const { clock, call, service, ecs } = await withService({ minimumHealthyPercent, maximumPercent });
      const floor = service.floor;
      const revision2 = registerImage(call, 'example/web:2');
      const updated = call('UpdateService', { service: 'web', taskDefinition: 'web' }) as {
        service: Described;
      };
      expect(updated.service.taskDefinition).toBe(revision2);
      expect(updated.service.deployments.map((d) => [d.status, d.rolloutState])).toEqual([
        ['PRIMARY', 'IN_PROGRESS'],
        ['ACTIVE', 'COMPLETED'],
      ]);

      let lowest = Infinity;
      let highestLive = 0;
      await step(clock, clock.now + 600, () => {
        lowest = Math.min(lowest, service.healthyCount);
        highestLive = Math.max(
          highestLive,
          [...service.tasks].filter((t) => t.desiredStatus === 'RUNNING').length,
        );
      });

      expect(lowest).toBeGreaterThanOrEqual(floor);
      expect(highestLive).toBeLessThanOrEqual((4 * maximumPercent) / 100);
      const after = described(call);
      expect(after.deployments).toEqual([
        expect.objectContaining({
          status: 'PRIMARY',
          taskDefinition: revision2,
          rolloutState: 'COMPLETED',
          desiredCount: 4,
          runningCount: 4,
          failedTasks: 0,
        }),
      ]);
      expect(after.events[0]?.message).toBe('(service web) has reached a steady state.');
      expect(healthyOf(service, revision2)).toBe(4);
      expect(
        [...ecs.tasks.values()].filter(
          (t) => t.taskDefinitionArn.endsWith('web:1') && t.lastStatus !== 'STOPPED',
        ),
      ).toEqual([]);
    },
  );

  it('UpdateService with the same revision starts no deployment; forceNewDeployment does', async () => {
    const { call } = await withService();
    call('UpdateService', { service: 'web', taskDefinition: 'web:1', desiredCount: 4 });
    expect(described(call).deployments).toHaveLength(1);
    call('UpdateService', { service: 'web', forceNewDeployment: true });
    expect(described(call).deployments.map((d) => d.status)).toEqual(['PRIMARY', 'ACTIVE']);
    expect(() => call('UpdateService', { service: 'nope' })).toThrow('Service not found.');
    expect(() => call('UpdateService', { service: 'web', taskDefinition: 'web:9' })).toThrow(
      'TaskDefinition not found.',
    );
  });

  it.each([
    ['listed in brokenImages', 'example/web:2'],
    ['tagged -broken', 'example/web:2-broken'],
  ])(
    'an image %s: tasks crash, the circuit breaker fails the deployment at its threshold and rolls back',
    async (_, image) => {
      const { clock, call, service, ecs, events } = await withService({
        deploymentCircuitBreaker: { enable: true, rollback: true },
      });
      if (image === 'example/web:2') ecs.taskDefinitions.brokenImages.add(image);
      const floor = service.floor;
      const revision2 = registerImage(call, image);
      call('UpdateService', { service: 'web', taskDefinition: revision2 });
      const threshold = circuitBreakerThreshold(4);
      expect(threshold).toBe(3);

      let lowest = Infinity;
      await step(clock, clock.now + 900, () => {
        lowest = Math.min(lowest, service.healthyCount);
        const failing = service.deployments.find((d) => d.taskDefinition.taskDefinitionArn === revision2);
        if (failing !== undefined)
          expect(failing.rolloutState === 'FAILED').toBe(failing.failedTasks >= threshold);
      });

      const crashed = events.filter((e) => e.stopCode === 'EssentialContainerExited');
      expect(crashed.length).toBeGreaterThanOrEqual(threshold);
      expect(crashed[0]?.stoppedReason).toBe('Essential container in task exited');
      expect(lowest).toBeGreaterThanOrEqual(floor);
      const after = described(call);
      expect(after.taskDefinition).toMatch(/task-definition\/web:1$/);
      expect(after.deployments).toEqual([
        expect.objectContaining({
          status: 'PRIMARY',
          taskDefinition: expect.stringMatching(/web:1$/),
          rolloutState: 'COMPLETED',
        }),
      ]);
      const messages = after.events.map((e) => e.message);
      expect(messages[0]).toBe('(service web) has reached a steady state.');
      expect(messages).toContainEqual(expect.stringMatching(/deployment failed: tasks failed to start\./));
      expect(messages).toContainEqual(
        expect.stringMatching(/^\(service web\) rolling back to deployment ecs-svc\//),
      );
      expect(healthyOf(service, after.taskDefinition)).toBe(4);
    },
  );

  it('reports FAILED with the circuit breaker reason while the rollback runs', async () => {
    const { clock, call } = await withService({ deploymentCircuitBreaker: { enable: true, rollback: true } });
    call('UpdateService', { service: 'web', taskDefinition: registerImage(call, 'example/web:broken') });
    let seen: Described['deployments'] = [];
    await clock.run(clock.now + 900, () => {
      seen = described(call).deployments;
      return seen.some((d) => d.rolloutState === 'FAILED');
    });
    expect(seen).toEqual([
      expect.objectContaining({
        status: 'PRIMARY',
        rolloutState: 'IN_PROGRESS',
        taskDefinition: expect.stringMatching(/web:1$/),
      }),
      expect.objectContaining({
        status: 'ACTIVE',
        rolloutState: 'FAILED',
        rolloutStateReason: CIRCUIT_BREAKER_REASON,
        failedTasks: 3,
      }),
      expect.objectContaining({ status: 'ACTIVE', rolloutState: 'COMPLETED' }),
    ]);
  });

  it('without the circuit breaker, a broken image keeps failing and the deployment stays IN_PROGRESS', async () => {
    const { clock, call, service } = await withService();
    const floor = service.floor;
    call('UpdateService', { service: 'web', taskDefinition: registerImage(call, 'example/web:broken') });
    let lowest = Infinity;
    await step(clock, clock.now + 1800, () => (lowest = Math.min(lowest, service.healthyCount)));
    const [primary, old] = described(call).deployments;
    expect(primary).toMatchObject({ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' });
    expect(primary?.failedTasks).toBeGreaterThan(3 * circuitBreakerThreshold(4));
    expect(old).toMatchObject({ status: 'ACTIVE', taskDefinition: expect.stringMatching(/web:1$/) });
    expect(lowest).toBeGreaterThanOrEqual(floor);
  });

  it('a deployment during a drain: both finish, no task left on the draining instance, never below the floor', async () => {
    const { clock, call, service, ecs, instances } = await withService(
      { minimumHealthyPercent: 100, maximumPercent: 200, desiredCount: 6 },
      4,
    );
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');
    expect(drained.tasks.size).toBeGreaterThan(0);
    const revision2 = registerImage(call, 'example/web:2');
    call('UpdateService', { service: 'web', taskDefinition: revision2 });
    await clock.run(clock.now + 10);
    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    let lowest = Infinity;
    await step(clock, clock.now + 900, () => (lowest = Math.min(lowest, service.healthyCount)));

    expect(lowest).toBeGreaterThanOrEqual(service.floor);
    expect(drained.tasks.size).toBe(0);
    expect(described(call).deployments).toEqual([
      expect.objectContaining({ taskDefinition: revision2, rolloutState: 'COMPLETED', runningCount: 6 }),
    ]);
    expect(healthyOf(service, revision2)).toBe(6);
  });

  it('UpdateService draws on the service-modify bucket: 50 at once, then 5 per second', () => {
    const { ecs } = simulatedCluster(1, 1);
    ecs.createService(spec());
    const target = {
      clusters: new Map([['test', ecs]]),
      taskDefinitions: ecs.taskDefinitions,
      clock: { now: 0 },
      random: { chance: () => false },
      faults: { tokenBuckets: true, throttle: 0, serverError: 0 },
      calls: new Map(),
      throttled: { count: 0 },
      buckets: newBuckets(),
      groups: new Map(),
    } as unknown as ApiTarget;
    const update = () =>
      answer(
        target,
        { 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.UpdateService' },
        JSON.stringify({ cluster: 'test', service: 'web', desiredCount: 4 }),
      ).status;
    const statuses = Array.from({ length: 51 }, update);
    expect(statuses.slice(0, 50).every((s) => s === 200)).toBe(true);
    expect(statuses[50]).toBe(400);
  });
});
