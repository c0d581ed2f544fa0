import { CompleteLifecycleActionCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeClustersCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { type ApiFaults, NO_API_FAULTS, type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// Lost responses: the service carries the call out, the caller gets an error anyway (HTTP 500 or a
// 504 gateway timeout), so a retry meets a state that has already changed.

let world: World;
let server: RunningServer;

const LOSE_EVERY_ANSWER: ApiFaults = { tokenBuckets: false, throttle: 0, serverError: 0, lostResponse: 1 };

function clients(maxAttempts: number) {
  return endpointClients(server.url, maxAttempts);
}

async function errorOf(call: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await call;
  } catch (error) {
    const { name, $metadata } = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name, status: $metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

beforeEach(async () => {
  world = buildWorld(defaultOptions(demoShape(6)), 'silent');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterEach(async () => {
  await server.close();
});

describe('lost responses (ApiFaults.lostResponse)', () => {
  it('are off by default', () => {
    expect(NO_API_FAULTS.lostResponse).toBe(0);
  });

  it('drains the instance although UpdateContainerInstancesState answers with an error, and counts the loss', async () => {
    const { ecs } = clients(1);
    const ec2InstanceId = [...world.group.instances.keys()][0] ?? '';
    const [instance] = world.ecs.containerInstancesOf(ec2InstanceId);
    if (instance === undefined) throw new Error('no container instance');
    world.api.faults = LOSE_EVERY_ANSWER;

    const error = await errorOf(
      ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: STACK.clusterName,
          containerInstances: [instance.arn],
          status: 'DRAINING',
        }),
      ),
    );

    expect([500, 504]).toContain(error.status);
    expect(instance.status).toBe('DRAINING');
    expect(world.api.lostResponses?.count).toBe(1);
    expect(world.api.throttled.count).toBe(0);
    ecs.destroy();
  });

  it('answers half as ServerException (500) and half as a gateway timeout (504), both retried by the SDK', async () => {
    const { ecs } = clients(1);
    world.api.faults = LOSE_EVERY_ANSWER;
    const seen = new Map<string, number>();
    for (let n = 0; n < 60; n++) {
      const { name, status } = await errorOf(
        ecs.send(new DescribeClustersCommand({ clusters: [STACK.clusterName] })),
      );
      const key = `${name} ${status}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['RequestTimeoutException 504', 'ServerException 500']);
    for (const count of seen.values()) expect(count).toBeGreaterThan(15);
    expect(world.api.lostResponses?.count).toBe(60);
    ecs.destroy();

    // The SDK's standard retry strategy treats both as transient: three attempts, three calls.
    const retrying = clients(3);
    const before = world.api.calls.get('ecs:DescribeClusters') ?? 0;
    await errorOf(retrying.ecs.send(new DescribeClustersCommand({ clusters: [STACK.clusterName] })));
    expect(world.api.calls.get('ecs:DescribeClusters')).toBe(before + 3);
    retrying.ecs.destroy();
  });

  it('changes the desired capacity although SetDesiredCapacity answers InternalFailure or a timeout', async () => {
    const { autoScaling } = clients(1);
    world.api.faults = LOSE_EVERY_ANSWER;

    const error = await errorOf(
      autoScaling.send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: STACK.groupName, DesiredCapacity: 5 }),
      ),
    );

    expect(['InternalFailure 500', 'RequestTimeout 504']).toContain(`${error.name} ${error.status}`);
    expect(world.group.desired).toBe(5);
    autoScaling.destroy();
  });

  it('completes the lifecycle action although the answer is lost, so the retry finds no active action', async () => {
    const { autoScaling } = clients(1);
    world.group.setDesiredCapacity(5);
    await world.clock.run(610);
    const waiting = [...world.group.instances.values()].find((i) => i.state === 'Terminating:Wait');
    if (waiting === undefined) throw new Error('no instance waits on the hook');
    const complete = new CompleteLifecycleActionCommand({
      AutoScalingGroupName: STACK.groupName,
      LifecycleHookName: STACK.hookName,
      InstanceId: waiting.id,
      LifecycleActionResult: 'CONTINUE',
    });

    world.api.faults = LOSE_EVERY_ANSWER;
    const lost = await errorOf(autoScaling.send(complete));
    world.api.faults = { ...NO_API_FAULTS };
    const retried = await errorOf(autoScaling.send(complete));

    expect([500, 504]).toContain(lost.status);
    expect(waiting.state).not.toBe('Terminating:Wait');
    expect(retried).toEqual({ name: 'ValidationError', status: 400 });
    autoScaling.destroy();
  });
});
