import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type InstanceRefresh,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { REFRESH_STALL_SECONDS } from '../../sim/autoscaling';
import { buildWorld, defaultOptions, demoShape, runScenario } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointConfig } from '../helpers/endpoint';

// Instance refresh with a desired launch template version, SkipMatching, checkpoints, cancel,
// rollback and auto-rollback (aws-semantics §2.1), started and watched through the real Auto
// Scaling client. A group of 10 on launch template `ecs` version 1; version 2 has a new AMI.

const NEW_AMI = 'ami-0new0000000000222';

let world: World;
let server: RunningServer;
let autoScaling: AutoScalingClient;
let oldAmi: string;

async function start(options: { brokenAmis?: string[] } = {}) {
  world = buildWorld(
    { ...defaultOptions(demoShape(10)), launchTemplate: { name: 'ecs', version: '1' }, ...options },
    'none',
  );
  await world.clock.run(600);
  oldAmi = world.group.currentAmiId;
  const templateId = world.group.launchTemplate?.launchTemplateId ?? '';
  world.ec2.createLaunchTemplateVersion({
    launchTemplateId: templateId,
    sourceVersion: '1',
    data: { imageId: NEW_AMI },
  });
}
beforeAll(async () => {
  server = await startApiServer(() => world.api);
  autoScaling = new AutoScalingClient(endpointConfig(server.url));
});
afterAll(async () => {
  autoScaling.destroy();
  await server.close();
});

const toVersion = (version: string, preferences: StartInstanceRefreshCommandInput['Preferences'] = {}) =>
  autoScaling.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: STACK.groupName,
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateName: 'ecs', Version: version } },
      Preferences: { MinHealthyPercentage: 80, InstanceWarmup: 30, ...preferences },
    }),
  );

async function latest(): Promise<InstanceRefresh> {
  const { InstanceRefreshes } = await autoScaling.send(
    new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: STACK.groupName }),
  );
  return InstanceRefreshes?.[0] ?? {};
}

/** Run the clock until the refresh reaches one of `statuses` (or `limit` seconds pass). */
async function until(statuses: string[], limit = 4 * 3600) {
  await world.clock.run(world.clock.now + limit, () => statuses.includes(world.group.refresh?.status ?? ''));
  return latest();
}

const alive = () => [...world.group.instances.values()].filter((i) => i.alive);
const onAmi = (amiId: string) => alive().filter((i) => i.amiId === amiId).length;

/** The fewest InService instances seen while the refresh ran, checked every second. */
function watchInService(): { lowest: number } {
  const seen = { lowest: Number.POSITIVE_INFINITY };
  const look = () => {
    seen.lowest = Math.min(seen.lowest, alive().filter((i) => i.state === 'InService').length);
    if (['InProgress', 'RollbackInProgress', 'Cancelling'].includes(world.group.refresh?.status ?? ''))
      world.clock.after(1, look);
  };
  look();
  return seen;
}

describe('an instance refresh to a desired launch template version', () => {
  it('pauses at each checkpoint for CheckpointDelay, never below MinHealthyPercentage, and then the group uses the version', async () => {
    await start();
    const { InstanceRefreshId } = await toVersion('2', {
      CheckpointPercentages: [20, 50, 100],
      CheckpointDelay: 600,
    });
    const inService = watchInService();

    // First checkpoint: 20% of 10 new instances, and the refresh holds still.
    await world.clock.run(world.clock.now + 3600, () => world.group.refresh?.waitingUntil !== undefined);
    const first = await latest();
    expect(first).toMatchObject({
      InstanceRefreshId,
      Status: 'InProgress',
      PercentageComplete: 20,
      InstancesToUpdate: 8,
    });
    expect(first.StatusReason).toMatch(/checkpoint 20%/);
    expect(first.Preferences).toMatchObject({
      CheckpointPercentages: [20, 50, 100],
      CheckpointDelay: 600,
      SkipMatching: false,
    });
    expect(onAmi(NEW_AMI)).toBe(2);
    const pausedAt = world.clock.now;
    await world.clock.run(pausedAt + 590);
    expect(onAmi(NEW_AMI)).toBe(2);
    expect(alive()).toHaveLength(10);

    // Second checkpoint at 50%, no earlier than the delay.
    await world.clock.run(world.clock.now + 3600, () => world.group.refresh?.checkpointsReached === 2);
    expect(world.clock.now).toBeGreaterThanOrEqual(pausedAt + 600);
    expect((await latest()).PercentageComplete).toBe(50);
    expect(onAmi(NEW_AMI)).toBe(5);

    const done = await until(['Successful', 'Failed']);
    expect(done).toMatchObject({ Status: 'Successful', PercentageComplete: 100, InstancesToUpdate: 0 });
    expect(done.EndTime).toBeInstanceOf(Date);
    expect(done.DesiredConfiguration?.LaunchTemplate).toMatchObject({
      LaunchTemplateName: 'ecs',
      Version: '2',
    });
    expect(onAmi(NEW_AMI)).toBe(10);
    expect(inService.lowest).toBeGreaterThanOrEqual(8);
    const { AutoScalingGroups } = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [STACK.groupName] }),
    );
    expect(AutoScalingGroups?.[0]?.LaunchTemplate?.Version).toBe('2');
  });

  it('replaces no more instances than the next checkpoint asks for, though MinHealthyPercentage would allow more', async () => {
    await start();
    await toVersion('2', {
      MinHealthyPercentage: 50,
      CheckpointPercentages: [20, 100],
      CheckpointDelay: 300,
    });
    await world.clock.run(world.clock.now + 3600, () => world.group.refresh?.waitingUntil !== undefined);
    expect(onAmi(NEW_AMI)).toBe(2);
    expect((await latest()).PercentageComplete).toBe(20);

    expect((await until(['Successful', 'Failed'])).Status).toBe('Successful');
    expect(onAmi(NEW_AMI)).toBe(10);
  });

  it('launching ahead (MinHealthyPercentage 100, MaxHealthyPercentage 200), launches no more new instances than the checkpoint asks for, and holds still with their old ones gone', async () => {
    await start();
    await toVersion('2', {
      MinHealthyPercentage: 100,
      MaxHealthyPercentage: 200,
      CheckpointPercentages: [20, 100],
      CheckpointDelay: 600,
    });
    let mostNew = 0;
    await world.clock.run(world.clock.now + 3600, () => {
      mostNew = Math.max(mostNew, onAmi(NEW_AMI));
      return world.group.refresh?.waitingUntil !== undefined;
    });
    expect(mostNew).toBe(2);
    // The two old instances they replace go while the refresh holds still (no hook here: at once).
    await world.clock.run(world.clock.now + 60);
    const alive = [...world.group.instances.values()].filter((instance) => instance.alive);
    expect(alive).toHaveLength(10);
    expect(onAmi(NEW_AMI)).toBe(2);

    expect((await until(['Successful', 'Failed'])).Status).toBe('Successful');
    expect(onAmi(NEW_AMI)).toBe(10);
  });

  it('rolls back when an alarm of its AlarmSpecification goes into ALARM, and refuses more than ten alarms', async () => {
    await start();
    let firing = false;
    world.alarms.set('web-5xx', () => firing);
    await toVersion('2', {
      MinHealthyPercentage: 100,
      MaxHealthyPercentage: 200,
      AutoRollback: true,
      AlarmSpecification: { Alarms: ['web-5xx', 'not-in-this-account'] },
    });
    await world.clock.run(world.clock.now + 600, () => onAmi(NEW_AMI) >= 2);
    expect((await latest()).Status).toBe('InProgress');
    firing = true;
    const rolled = await until(['RollbackSuccessful', 'RollbackFailed', 'Failed', 'Successful']);
    expect(rolled.Status).toBe('RollbackSuccessful');
    expect(rolled.RollbackDetails?.RollbackReason).toMatch(/Alarm web-5xx is in ALARM state/);
    expect(onAmi(NEW_AMI)).toBe(0);

    await expect(
      toVersion('2', { AlarmSpecification: { Alarms: Array.from({ length: 11 }, (_, n) => `alarm-${n}`) } }),
    ).rejects.toThrow(/at most 10/);
  });

  it('waits an hour at a checkpoint when CheckpointDelay is not given, which is no stall', async () => {
    await start();
    await toVersion('2', { CheckpointPercentages: [50, 100] });
    await world.clock.run(world.clock.now + 3600, () => world.group.refresh?.waitingUntil !== undefined);
    const pausedAt = world.clock.now;
    expect((await latest()).Preferences?.CheckpointDelay).toBe(3600);

    await world.clock.run(pausedAt + 3590);
    expect(onAmi(NEW_AMI)).toBe(5);
    expect((await until(['Successful', 'Failed'])).Status).toBe('Successful');
    expect(world.clock.now).toBeGreaterThan(pausedAt + 3600);
  });

  it('with SkipMatching leaves instances already on the version; without it replaces them all', async () => {
    await start();
    const before = new Set(alive().map((i) => i.id));
    await toVersion('1', { SkipMatching: true });
    expect(await until(['Successful'], 600)).toMatchObject({ Status: 'Successful', InstancesToUpdate: 0 });
    expect(new Set(alive().map((i) => i.id))).toEqual(before);

    await toVersion('1');
    expect(await until(['Successful'])).toMatchObject({ Status: 'Successful' });
    expect(alive().filter((i) => before.has(i.id))).toHaveLength(0);
    expect(onAmi(oldAmi)).toBe(10);
  });

  it('refuses a second refresh while one is in progress, and is cancelled: Cancelling, then Cancelled once launches and terminations end', async () => {
    await start();
    await toVersion('2');
    await expect(toVersion('2')).rejects.toMatchObject({ name: 'InstanceRefreshInProgressFault' });
    await world.clock.run(world.clock.now + 20);

    await autoScaling.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: STACK.groupName }));
    expect((await latest()).Status).toBe('Cancelling');
    const cancelled = await until(['Cancelled'], 600);
    expect(cancelled.Status).toBe('Cancelled');
    const mixed = [onAmi(oldAmi), onAmi(NEW_AMI)];
    await world.clock.run(world.clock.now + 1800);
    expect([onAmi(oldAmi), onAmi(NEW_AMI)]).toEqual(mixed);
    expect(mixed[1]).toBeGreaterThan(0);
    expect(mixed[0]).toBeGreaterThan(0);
    await expect(
      autoScaling.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: STACK.groupName })),
    ).rejects.toMatchObject({ name: 'ActiveInstanceRefreshNotFoundFault' });
  });

  it('rolls back on request: the new instances are replaced with the previous version, the group keeps it', async () => {
    await start();
    await toVersion('2', { CheckpointPercentages: [20, 100], CheckpointDelay: 3600 });
    await world.clock.run(world.clock.now + 3600, () => world.group.refresh?.waitingUntil !== undefined);
    expect(onAmi(NEW_AMI)).toBe(2);

    await autoScaling.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: STACK.groupName }));
    const rolling = await latest();
    expect(rolling.Status).toBe('RollbackInProgress');
    expect(rolling.RollbackDetails).toMatchObject({
      PercentageCompleteOnRollback: 20,
      InstancesToUpdateOnRollback: 8,
    });

    expect((await until(['RollbackSuccessful', 'RollbackFailed'])).Status).toBe('RollbackSuccessful');
    expect(onAmi(NEW_AMI)).toBe(0);
    expect(onAmi(oldAmi)).toBe(10);
    expect(world.group.launchTemplate?.version).toBe('1');
  });

  it('rolls back by itself (AutoRollback) when new instances never become healthy for an hour', async () => {
    // A launch hook that lets an instance in only once its ECS agent has registered, as issue 9 needs:
    // the new AMI is broken, so its instances are abandoned at the heartbeat timeout, again and again.
    await start({ brokenAmis: [NEW_AMI] });
    world.group.putLifecycleHook({
      name: 'wait-for-ecs',
      transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      heartbeatTimeout: 300,
      defaultResult: 'ABANDON',
      notify: false,
    });
    const gate = () => {
      for (const instance of world.group.instances.values()) {
        const action = instance.actions.find((a) => a.active && a.hook.name === 'wait-for-ecs');
        if (action && world.ecs.containerInstancesOf(instance.id).length > 0)
          world.group.completeLifecycleAction({
            groupName: STACK.groupName,
            hookName: 'wait-for-ecs',
            result: 'CONTINUE',
            instanceId: instance.id,
          });
      }
      world.clock.after(10, gate);
    };
    gate();
    const startedAt = world.clock.now;
    await toVersion('2', { AutoRollback: true });

    const rolling = await until(['RollbackInProgress', 'Failed', 'Successful']);
    expect(rolling.Status).toBe('RollbackInProgress');
    expect(world.clock.now - startedAt).toBeGreaterThanOrEqual(REFRESH_STALL_SECONDS);
    expect(rolling.RollbackDetails?.RollbackReason).toMatch(/healthy/);

    expect((await until(['RollbackSuccessful', 'RollbackFailed'])).Status).toBe('RollbackSuccessful');
    expect(onAmi(oldAmi)).toBe(10);
    expect(alive().every((i) => world.ecs.containerInstancesOf(i.id).length > 0)).toBe(true);
  });

  it('fails without AutoRollback, leaving the group as it was configured', async () => {
    await start();
    world.group.putLifecycleHook({
      name: 'never',
      transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      heartbeatTimeout: 600,
      defaultResult: 'ABANDON',
      notify: false,
    });
    await toVersion('2');
    const failed = await until(['Failed', 'Successful', 'RollbackInProgress']);
    expect(failed).toMatchObject({ Status: 'Failed' });
    expect(failed.StatusReason).toMatch(/healthy/);
    expect(world.group.launchTemplate?.version).toBe('1');
  });

  it('answers the errors Auto Scaling does for refreshes it cannot start or roll back', async () => {
    await start();
    await expect(toVersion('$Latest', { AutoRollback: true })).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(toVersion('9')).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(toVersion('2', { CheckpointPercentages: [50, 20] })).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      autoScaling.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: STACK.groupName })),
    ).rejects.toMatchObject({ name: 'ActiveInstanceRefreshNotFoundFault' });
    await autoScaling.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: STACK.groupName,
        Preferences: { MinHealthyPercentage: 50 },
      }),
    );
    await expect(
      autoScaling.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: STACK.groupName })),
    ).rejects.toMatchObject({ name: 'IrreversibleInstanceRefreshFault' });
  });
});

describe('the instance-refresh scenario on a group with a launch template', () => {
  it('publishes a new version of the template with the new AMI and refreshes the group to it', async () => {
    const result = await runScenario({
      ...defaultOptions(demoShape(6)),
      launchTemplate: { name: 'ecs', version: '1' },
    });

    expect(result.settled).toBe(true);
    const remaining = [...result.recorder.lanes.values()].filter((lane) => lane.terminatedAt === undefined);
    expect(remaining).toHaveLength(6);
    expect(new Set(remaining.map((lane) => lane.amiId)).size).toBe(1);
    expect(remaining[0]?.amiId).not.toBe(result.recorder.lanes.values().next().value?.amiId);
  });
});
