import { answer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import type { World } from '../../sim/world';

// Auto Scaling's describe calls, like ECS's reads, show a change a moment after it happened: a
// controller that reads its own write back must not take the old answer for the truth.

/** The lifecycle state DescribeAutoScalingInstances gives for an instance, or undefined when it lists none. */
function describedState(world: World, instanceId: string): string | undefined {
  const body = new URLSearchParams({
    Action: 'DescribeAutoScalingInstances',
    Version: '2011-01-01',
    'InstanceIds.member.1': instanceId,
  }).toString();
  const { status, body: xml } = answer(world.api, {}, body);
  expect(status).toBe(200);
  return /<LifecycleState>([^<]+)<\/LifecycleState>/.exec(xml)?.[1];
}

function groupInstanceIds(world: World): string[] {
  const body = new URLSearchParams({ Action: 'DescribeAutoScalingGroups', Version: '2011-01-01' }).toString();
  return [...answer(world.api, {}, body).body.matchAll(/<InstanceId>([^<]+)<\/InstanceId>/g)].map(
    (match) => match[1] as string,
  );
}

async function worldWithHook(readLagSeconds: number): Promise<World> {
  const world = buildWorld({ ...defaultOptions(demoShape(3)), autoScaling: { readLagSeconds } }, 'silent');
  await world.clock.run(600);
  return world;
}

/** Scales in by one and answers the leaving instance, what the describe call said as it left, and when. */
async function scaleInByOne(world: World) {
  let left: { id: string; at: number; describedThen: string | undefined } | undefined;
  world.onInstanceChanged = (instance) => {
    if (instance.state === 'Terminating:Wait' && left === undefined)
      left = { id: instance.id, at: world.clock.now, describedThen: describedState(world, instance.id) };
  };
  world.group.setDesiredCapacity(world.group.desired - 1);
  await world.clock.run(world.clock.now + 30, () => left !== undefined);
  if (left === undefined) throw new Error('no instance left');
  return left;
}

describe("Auto Scaling's describe calls", () => {
  it('show an instance entering Terminating:Wait only once the read lag has passed', async () => {
    const world = await worldWithHook(2);
    const left = await scaleInByOne(world);

    expect(left.describedThen).toBe('InService');
    await world.clock.run(left.at + 1.5);
    expect(describedState(world, left.id)).toBe('InService');
    await world.clock.run(left.at + 2.5);
    expect(describedState(world, left.id)).toBe('Terminating:Wait');
  });

  it('list a launched instance a read lag after it launched', async () => {
    const world = await worldWithHook(2);
    let launched: { id: string; at: number; listedThen: boolean } | undefined;
    world.onInstanceChanged = (instance) => {
      if (launched === undefined && instance.state === 'Pending')
        launched = {
          id: instance.id,
          at: world.clock.now,
          listedThen: groupInstanceIds(world).includes(instance.id),
        };
    };
    world.group.setDesiredCapacity(4);
    await world.clock.run(world.clock.now + 30, () => launched !== undefined);

    expect(launched?.listedThen).toBe(false);
    await world.clock.run((launched?.at ?? 0) + 2.5);
    expect(groupInstanceIds(world)).toContain(launched?.id);
  });

  it('answer at once without a lag (the model on its own)', async () => {
    const world = await worldWithHook(0);
    const left = await scaleInByOne(world);
    expect(left.describedThen).toBe('Terminating:Wait');
  });
});
