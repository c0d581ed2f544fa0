import {
  type AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeTagsCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { ECSClient, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { servedWorld } from '../helpers/endpoint';

// Group tags, scale-in protection, UpdateAutoScalingGroup and TerminateInstanceInAutoScalingGroup
// in the twin, through the real Auto Scaling client: what a blue/green rollout relies on, with
// Auto Scaling's limits and errors.

const GROUP = STACK.groupName;
let world: World;
let autoScaling: AutoScalingClient;
let ecs: ECSClient;
let close: () => Promise<void>;

beforeEach(async () => {
  world = buildWorld(
    { ...defaultOptions(demoShape(4)), launchTemplate: { name: 'ecs', version: '1' } },
    'silent',
  );
  await world.clock.run(600);
  ({ autoScaling, ecs, close } = await servedWorld(world));
});
afterEach(() => close());

const tag = (Key: string, Value: string, ResourceId: string = GROUP) => ({
  ResourceId,
  ResourceType: 'auto-scaling-group',
  Key,
  Value,
  PropagateAtLaunch: false,
});
const describeGroup = async () =>
  (await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] })))
    .AutoScalingGroups?.[0];
const ids = () => [...world.group.instances.keys()];
const settle = (seconds: number) => world.clock.run(world.clock.now + seconds);

describe('group tags', () => {
  it('creates, updates, describes (by group filter and in DescribeAutoScalingGroups) and deletes a tag', async () => {
    await autoScaling.send(new CreateOrUpdateTagsCommand({ Tags: [tag('ecs-drain:blue-green', 'phase=a')] }));
    await autoScaling.send(new CreateOrUpdateTagsCommand({ Tags: [tag('ecs-drain:blue-green', 'phase=b')] }));

    const { Tags } = await autoScaling.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'auto-scaling-group', Values: [GROUP] }] }),
    );
    expect(Tags).toEqual([
      {
        ResourceId: GROUP,
        ResourceType: 'auto-scaling-group',
        Key: 'ecs-drain:blue-green',
        Value: 'phase=b',
        PropagateAtLaunch: false,
      },
    ]);
    expect((await describeGroup())?.Tags).toMatchObject([{ Key: 'ecs-drain:blue-green', Value: 'phase=b' }]);
    const other = await autoScaling.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'auto-scaling-group', Values: ['other-group'] }] }),
    );
    expect(other.Tags).toEqual([]);

    await autoScaling.send(new DeleteTagsCommand({ Tags: [tag('ecs-drain:blue-green', '')] }));
    expect((await describeGroup())?.Tags ?? []).toEqual([]);
  });

  it('refuses a value over 256 characters, a key over 128, an aws: key, a 51st tag and an unknown group', async () => {
    const refused = (tags: ReturnType<typeof tag>[]) =>
      autoScaling.send(new CreateOrUpdateTagsCommand({ Tags: tags }));
    await expect(refused([tag('k', 'x'.repeat(257))])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(refused([tag('k'.repeat(129), 'v')])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(refused([tag('aws:mine', 'v')])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(refused([tag('k', 'v', 'no-such-group')])).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await refused([tag('k', 'x'.repeat(256))]); // exactly 256 is fine
    const fifty = Array.from({ length: 49 }, (_, n) => tag(`key-${n}`, 'v'));
    await refused(fifty);
    await expect(refused([tag('one-too-many', 'v')])).rejects.toMatchObject({ name: 'LimitExceededFault' });
    expect(world.group.tags.size).toBe(50);
  });
});

describe('scale-in protection', () => {
  it('is shown on the instance, and a lower desired capacity never terminates a protected instance', async () => {
    const [a, b, c] = ids();
    await autoScaling.send(
      new SetInstanceProtectionCommand({
        AutoScalingGroupName: GROUP,
        InstanceIds: [a ?? '', b ?? '', c ?? ''],
        ProtectedFromScaleIn: true,
      }),
    );
    await settle(5);
    const { AutoScalingInstances } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [a ?? ''] }),
    );
    expect(AutoScalingInstances?.[0]?.ProtectedFromScaleIn).toBe(true);

    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, DesiredCapacity: 1 }),
    );
    await settle(60);
    const terminating = [...world.group.instances.values()].filter((i) => i.state !== 'InService');
    // Only the unprotected instance goes; the group stays above its desired capacity.
    expect(terminating.map((i) => i.id)).toEqual(ids().filter((id) => ![a, b, c].includes(id)));
    expect([a, b, c].every((id) => world.group.instances.get(id ?? '')?.state === 'InService')).toBe(true);

    // Protection removed: the lowered desired capacity takes effect.
    await autoScaling.send(
      new SetInstanceProtectionCommand({
        AutoScalingGroupName: GROUP,
        InstanceIds: [a ?? '', b ?? ''],
        ProtectedFromScaleIn: false,
      }),
    );
    await settle(5);
    expect(world.group.instances.get(c ?? '')?.state).toBe('InService');
    expect([a, b].every((id) => world.group.instances.get(id ?? '')?.state.startsWith('Terminating'))).toBe(
      true,
    );
  });

  it('refuses an instance of no group, and more than 50 instances', async () => {
    const send = (InstanceIds: string[]) =>
      autoScaling.send(
        new SetInstanceProtectionCommand({
          AutoScalingGroupName: GROUP,
          InstanceIds,
          ProtectedFromScaleIn: true,
        }),
      );
    await expect(send(['i-0000000000000dead'])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(send(Array.from({ length: 51 }, () => ids()[0] ?? ''))).rejects.toMatchObject({
      name: 'LimitExceededFault',
    });
  });
});

describe('UpdateAutoScalingGroup', () => {
  it('sets sizes and the launch template version new instances launch from', async () => {
    const v2 = world.ec2.createLaunchTemplateVersion({
      launchTemplateId: world.group.launchTemplate?.launchTemplateId ?? '',
      sourceVersion: '1',
      data: { imageId: 'ami-0green00000000042' },
    });
    await autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: GROUP,
        MaxSize: 10,
        DesiredCapacity: 6,
        LaunchTemplate: { LaunchTemplateName: 'ecs', Version: String(v2.versionNumber) },
      }),
    );
    await settle(300);
    const group = await describeGroup();
    expect(group).toMatchObject({ MaxSize: 10, DesiredCapacity: 6, LaunchTemplate: { Version: '2' } });
    const launched = group?.Instances?.filter((i) => i.LaunchTemplate?.Version === '2') ?? [];
    expect(launched).toHaveLength(2);
    expect(world.group.instances.get(launched[0]?.InstanceId ?? '')?.amiId).toBe('ami-0green00000000042');
  });

  it('refuses min > max, a desired capacity outside them, and an unknown version, changing nothing', async () => {
    const update = (
      input: Omit<ConstructorParameters<typeof UpdateAutoScalingGroupCommand>[0], 'AutoScalingGroupName'>,
    ) => autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, ...input }));
    const before = { min: world.group.minSize, max: world.group.maxSize, desired: world.group.desired };
    await expect(update({ MinSize: 5, MaxSize: 4 })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(update({ MaxSize: 5, DesiredCapacity: 6 })).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      update({ LaunchTemplate: { LaunchTemplateName: 'ecs', Version: '9' } }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
    expect({ min: world.group.minSize, max: world.group.maxSize, desired: world.group.desired }).toEqual(
      before,
    );
    // A new MinSize above the desired capacity raises it (no desired capacity given).
    await update({ MinSize: 5 });
    expect(world.group.desired).toBe(5);
  });

  it('refuses a launch template change while an instance refresh to a desired configuration runs', async () => {
    const v2 = world.ec2.createLaunchTemplateVersion({
      launchTemplateId: world.group.launchTemplate?.launchTemplateId ?? '',
      sourceVersion: '1',
      data: { imageId: 'ami-0green00000000042' },
    });
    world.group.startInstanceRefresh({
      minHealthyPercentage: 90,
      instanceWarmup: 0,
      desiredConfiguration: {
        launchTemplate: { launchTemplateName: 'ecs', version: String(v2.versionNumber) },
      },
    });
    const update = (
      input: Omit<ConstructorParameters<typeof UpdateAutoScalingGroupCommand>[0], 'AutoScalingGroupName'>,
    ) => autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, ...input }));
    await expect(
      update({ LaunchTemplate: { LaunchTemplateName: 'ecs', Version: '1' } }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('instance refresh'),
    });
    await update({ MaxSize: 12 }); // sizes may still change
    expect(world.group.maxSize).toBe(12);
  });
});

describe('TerminateInstanceInAutoScalingGroup', () => {
  it('goes through the terminate hook, decrements the desired capacity, and answers an activity', async () => {
    const [victim] = ids();
    world.group.setInstanceProtection([victim ?? ''], true); // protection does not stop a manual termination
    const { Activity } = await autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: victim,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(Activity).toMatchObject({
      AutoScalingGroupName: GROUP,
      StatusCode: 'InProgress',
      Description: `Terminating EC2 instance: ${victim}`,
      Cause: expect.stringContaining('shrinking the capacity from 4 to 3'),
    });
    expect(Activity?.ActivityId).toMatch(/^[0-9a-f-]{36}$/);
    expect(world.group.desired).toBe(3);
    await settle(120);
    // The hook holds it (nobody completes the action here), and no replacement was launched.
    expect(world.group.instances.get(victim ?? '')?.state).toBe('Terminating:Wait');
    expect(world.group.instances.size).toBe(4);

    // A second termination of it is refused, and the desired capacity does not drop again.
    await expect(
      autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: victim,
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    expect(world.group.desired).toBe(3);
  });

  it('without decrement launches a replacement; refuses an unknown instance and going below MinSize', async () => {
    const [first, second] = ids();
    await autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: first,
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    await settle(5);
    expect(world.group.desired).toBe(4);
    expect([...world.group.instances.values()].filter((i) => i.state.startsWith('Pending'))).toHaveLength(1);

    await expect(
      autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: 'i-0000000000000dead',
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('Instance Id not found'),
    });

    world.group.updateGroup({ minSize: 4 });
    await expect(
      autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: second,
          ShouldDecrementDesiredCapacity: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('min size') });
    expect(world.group.instances.get(second ?? '')?.state).toBe('InService');
  });
});

describe('ECS: a DRAINING container instance set ACTIVE again', () => {
  it('takes tasks again once the other instances drain (the way back of a blue/green rollout)', async () => {
    const hosts = ids().flatMap((id) => world.ecs.containerInstancesOf(id));
    const arns = hosts.map((ci) => ci.arn);
    const [back, other] = arns;
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: STACK.clusterName,
        containerInstances: [back ?? ''],
        status: 'DRAINING',
      }),
    );
    await settle(600);
    const host = hosts[0];
    expect(host?.status).toBe('DRAINING');
    expect(host?.tasks.size).toBe(0);

    const { containerInstances } = await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: STACK.clusterName,
        containerInstances: [back ?? ''],
        status: 'ACTIVE',
      }),
    );
    expect(containerInstances?.[0]?.status).toBe('ACTIVE');
    // The daemon scheduler puts its task back on it at once (one per ACTIVE instance).
    await settle(60);
    const daemons = [...(host?.tasks ?? [])].filter((task) => task.daemon && task.lastStatus !== 'STOPPED');
    expect(daemons).toHaveLength(1);
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: STACK.clusterName,
        containerInstances: [other ?? ''],
        status: 'DRAINING',
      }),
    );
    await settle(900);
    expect(host?.tasks.size).toBeGreaterThan(0);
    // Every replica service is back at its desired count.
    for (const service of world.ecs.services.values())
      if (!service.spec.daemon) expect(service.healthyCount).toBe(service.spec.desiredCount);
  });
});
