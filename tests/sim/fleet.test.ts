import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  type ECSClient,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListServicesCommand,
} from '@aws-sdk/client-ecs';
import { answer } from '../../sim/api/server';
import type { Controller } from '../../sim/controller';
import { buildWorld, defaultOptions, Fleet, twoClustersThreeGroups } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { servedWorld } from '../helpers/endpoint';

// One account, two clusters (prod, batch), three groups (prod-ecs-asg and prod-spot-asg feed prod,
// batch-asg feeds batch), one endpoint: real SDK clients must reach the right cluster and group.

const fleetWorld = (hook: 'notify' | 'silent' | 'none' = 'silent', controller?: Controller) =>
  buildWorld({ ...defaultOptions(), fleet: twoClustersThreeGroups(), controller }, hook);

function groupOf(world: World, name: string) {
  const group = world.groups.get(name);
  if (group === undefined) throw new Error(`no group ${name}`);
  return group;
}

function clusterOf(world: World, name: string) {
  const ecs = world.clusters.get(name);
  if (ecs === undefined) throw new Error(`no cluster ${name}`);
  return ecs;
}

const instanceIdsOf = (world: World, group: string) => [...groupOf(world, group).instances.keys()];

describe('a world of two clusters and three groups', () => {
  it("registers every instance a group boots, at the start and later, in that group's cluster only", async () => {
    const world = fleetWorld('none');
    await world.clock.run(600);
    const batch = clusterOf(world, 'batch');
    const prod = clusterOf(world, 'prod');
    const batchGroup = groupOf(world, 'batch-asg');
    for (const id of batchGroup.instances.keys()) {
      expect(batch.containerInstancesOf(id)).toHaveLength(1);
      expect(prod.containerInstancesOf(id)).toHaveLength(0);
    }

    const before = new Set(batchGroup.instances.keys());
    batchGroup.setDesiredCapacity(4);
    await world.clock.run(600 + 200);
    const [launched] = [...batchGroup.instances.keys()].filter((id) => !before.has(id));
    if (launched === undefined) throw new Error('batch-asg launched nothing');

    expect(batch.containerInstancesOf(launched)).toHaveLength(1);
    expect(prod.containerInstancesOf(launched)).toHaveLength(0);
    expect(batch.instances.size).toBe(4);
    expect(prod.instances.size).toBe(6);
  });

  it('draws instance ids that differ across groups', () => {
    const world = fleetWorld('none');
    const ids = [...world.groups.values()].flatMap((group) => [...group.instances.keys()]);

    expect(ids).toHaveLength(9);
    expect(new Set(ids).size).toBe(9);
  });

  it('keeps world.ecs and world.group the first cluster and group', () => {
    const world = fleetWorld('none');

    expect(world.ecs).toBe(world.clusters.get(STACK.clusterName));
    expect(world.group).toBe(world.groups.get(STACK.groupName));
    expect(world.clusterOf(groupOf(world, 'prod-spot-asg'))).toBe(world.ecs);
    expect(world.clusterOf(groupOf(world, 'batch-asg'))).toBe(world.clusters.get('batch'));
  });

  it('records the health of two services of the same name in two clusters apart', async () => {
    const world = fleetWorld('none');
    await world.clock.run(600);

    expect(world.recorder.healthy.get('prod/worker')?.count.at(-1)).toBe(4);
    expect(world.recorder.healthy.get('batch/worker')?.count.at(-1)).toBe(4);
    expect(world.recorder.healthy.has('worker')).toBe(false);
  });

  it('deploys the stack to serve every cluster and group of the account', () => {
    expect(fleetWorld('none').account.stack).toEqual({
      clusters: ['prod', 'batch'],
      groups: [
        { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
        { autoScalingGroupName: 'prod-spot-asg', cluster: 'prod' },
        { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
      ],
    });
  });

  it("takes every group's lifecycle notifications, naming its cluster, and both clusters' task events, to the one queue each", async () => {
    const notifications: Record<string, string>[] = [];
    const taskEvents: { clusterArn: string }[] = [];
    const bodies = (event: unknown) =>
      (event as { Records: { body: string }[] }).Records.map((record) => JSON.parse(record.body));
    const recorder: Controller = {
      deploy: () => ({
        startDrain: () => async (event) => {
          notifications.push(...bodies(event));
          return { batchItemFailures: [] };
        },
        finishDrain: () => async (event) => {
          taskEvents.push(...bodies(event).map((body) => body.detail));
          return { batchItemFailures: [] };
        },
      }),
    };
    const world = fleetWorld('notify', recorder);
    await world.clock.run(600);
    for (const group of world.groups.values()) group.setDesiredCapacity(group.desired - 1);
    await world.clock.run(900);

    const terminating = notifications.filter(
      (message) => message.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING',
    );
    expect(
      terminating.map((message) => [message.AutoScalingGroupName, message.NotificationMetadata]).sort(),
    ).toEqual([
      ['batch-asg', '{"cluster":"batch"}'],
      ['prod-ecs-asg', '{"cluster":"prod"}'],
      ['prod-spot-asg', '{"cluster":"prod"}'],
    ]);
    // No controller drains here, but the instances go when their hooks time out: both clusters' tasks stop.
    await world.clock.run(600 + 1800 + 300);
    expect(new Set(taskEvents.map((detail) => detail.clusterArn.split('/')[1]))).toEqual(
      new Set(['prod', 'batch']),
    );
  });
});

describe('the endpoint of an account of two clusters and three groups', () => {
  let world: World;
  let close: () => Promise<void>;
  let ecs: ECSClient;
  let autoScaling: AutoScalingClient;

  beforeAll(async () => {
    world = fleetWorld('silent');
    await world.clock.run(600);
    ({ ecs, autoScaling, close } = await servedWorld(world));
  });
  afterAll(() => close());
  beforeEach(() => {
    world.api.faults = { tokenBuckets: false, throttle: 0, serverError: 0, lostResponse: 0 };
  });

  const arnsIn = (cluster: string) => [...clusterOf(world, cluster).instances.keys()];

  it("routes container instance reads by cluster: batch does not see prod's instances", async () => {
    const [prodArn] = arnsIn('prod');
    const [batchArn] = arnsIn('batch');

    const onBatch = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: 'batch',
        containerInstances: [prodArn ?? '', batchArn ?? ''],
      }),
    );
    expect(onBatch.containerInstances?.map((instance) => instance.containerInstanceArn)).toEqual([batchArn]);
    expect(onBatch.failures).toEqual([{ arn: prodArn, reason: 'MISSING' }]);

    const listed = await ecs.send(
      new ListContainerInstancesCommand({ cluster: clusterOf(world, 'batch').clusterArn }),
    );
    expect(listed.containerInstanceArns?.sort()).toEqual(arnsIn('batch').sort());
    const byEc2Id = await ecs.send(
      new ListContainerInstancesCommand({
        cluster: 'batch',
        filter: `ec2InstanceId == ${instanceIdsOf(world, 'prod-spot-asg')[0]}`,
      }),
    );
    expect(byEc2Id.containerInstanceArns).toEqual([]);
  });

  it('routes service reads by cluster', async () => {
    const { serviceArns } = await ecs.send(new ListServicesCommand({ cluster: 'batch' }));

    expect(serviceArns?.map((arn) => arn.slice(arn.lastIndexOf(':') + 1)).sort()).toEqual([
      'service/batch/log-router',
      'service/batch/scheduler',
      'service/batch/worker',
    ]);
  });

  it('answers a cluster the account does not have with ClusterNotFoundException', async () => {
    await expect(
      ecs.send(
        new DescribeContainerInstancesCommand({ cluster: 'staging', containerInstances: arnsIn('batch') }),
      ),
    ).rejects.toMatchObject({ name: 'ClusterNotFoundException', $metadata: { httpStatusCode: 400 } });
    await expect(ecs.send(new ListContainerInstancesCommand({}))).rejects.toMatchObject({
      name: 'ClusterNotFoundException',
    });
  });

  it('lists and describes every cluster of the account', async () => {
    const { clusterArns } = await ecs.send(new ListClustersCommand({}));
    expect(clusterArns).toEqual([clusterOf(world, 'prod').clusterArn, clusterOf(world, 'batch').clusterArn]);

    const { clusters, failures } = await ecs.send(
      new DescribeClustersCommand({ clusters: ['batch', clusterOf(world, 'prod').clusterArn, 'staging'] }),
    );
    expect(clusters?.map((c) => [c.clusterName, c.registeredContainerInstancesCount])).toEqual([
      ['batch', 3],
      ['prod', 6],
    ]);
    expect(failures).toEqual([{ arn: 'staging', reason: 'MISSING' }]);
  });

  it('finds instances of any group by id, each with its own group', async () => {
    const spot = instanceIdsOf(world, 'prod-spot-asg')[0] ?? '';
    const batch = instanceIdsOf(world, 'batch-asg')[0] ?? '';

    const { AutoScalingInstances } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [spot, batch, 'i-00000000000000000'] }),
    );
    expect(AutoScalingInstances?.map((i) => [i.InstanceId, i.AutoScalingGroupName]).sort()).toEqual(
      [
        [spot, 'prod-spot-asg'],
        [batch, 'batch-asg'],
      ].sort(),
    );
    const all = await autoScaling.send(new DescribeAutoScalingInstancesCommand({}));
    expect(all.AutoScalingInstances).toHaveLength(9);
  });

  it('describes the groups named (ignoring unknown names), or every group', async () => {
    const named = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['batch-asg', 'nope'] }),
    );
    expect(named.AutoScalingGroups?.map((g) => [g.AutoScalingGroupName, g.Instances?.length])).toEqual([
      ['batch-asg', 3],
    ]);
    const all = await autoScaling.send(new DescribeAutoScalingGroupsCommand({}));
    expect(all.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual([
      'prod-ecs-asg',
      'prod-spot-asg',
      'batch-asg',
    ]);
  });

  it("describes each group's hook with its own cluster in the metadata", async () => {
    const { LifecycleHooks } = await autoScaling.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'batch-asg' }),
    );

    expect(LifecycleHooks).toEqual([
      expect.objectContaining({
        AutoScalingGroupName: 'batch-asg',
        NotificationMetadata: '{"cluster":"batch"}',
      }),
    ]);
  });

  it('completes a lifecycle action only through the group of its instance, as AWS does', async () => {
    const batchGroup = groupOf(world, 'batch-asg');
    batchGroup.setDesiredCapacity(batchGroup.desired - 1);
    await world.clock.run(world.clock.now + 5);
    const waiting = [...batchGroup.instances.values()].find((i) => i.state === 'Terminating:Wait');
    if (waiting === undefined) throw new Error('no instance waiting on its hook');
    const action = {
      LifecycleHookName: STACK.hookName,
      InstanceId: waiting.id,
    };
    const token = waiting.actions[0]?.token;

    for (const wrong of ['prod-ecs-asg', 'prod-spot-asg']) {
      await expect(
        autoScaling.send(
          new CompleteLifecycleActionCommand({
            ...action,
            AutoScalingGroupName: wrong,
            LifecycleActionResult: 'CONTINUE',
          }),
        ),
      ).rejects.toMatchObject({
        name: 'ValidationError',
        message: `No active Lifecycle Action found with instance ID ${waiting.id}`,
      });
      await expect(
        autoScaling.send(
          new RecordLifecycleActionHeartbeatCommand({
            AutoScalingGroupName: wrong,
            LifecycleHookName: STACK.hookName,
            LifecycleActionToken: token,
          }),
        ),
      ).rejects.toMatchObject({
        name: 'ValidationError',
        message: `No active Lifecycle Action found with token ${token}`,
      });
    }
    await expect(
      autoScaling.send(
        new CompleteLifecycleActionCommand({
          ...action,
          AutoScalingGroupName: 'staging-asg',
          LifecycleActionResult: 'CONTINUE',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'AutoScalingGroup name not found - staging-asg',
    });
    expect(waiting.state).toBe('Terminating:Wait');

    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        ...action,
        AutoScalingGroupName: 'batch-asg',
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    expect(waiting.state).toBe('Terminating:Proceed');
  });

  it("draws every cluster's reads from the account's one bucket", () => {
    world.api.faults = { tokenBuckets: true, throttle: 0, serverError: 0, lostResponse: 0 };
    const read = (cluster: string) =>
      answer(
        world.api,
        { 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.ListContainerInstances' },
        JSON.stringify({ cluster }),
      ).status;

    const statuses = [
      ...Array.from({ length: 50 }, () => read('prod')),
      ...Array.from({ length: 50 }, () => read('batch')),
    ];
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(read('batch')).toBe(400);
  });
});

describe('a fleet description', () => {
  const batch = { instances: 3, services: [{ name: 'worker' }] };

  it("gives a group without instances what its cluster's shape leaves", () => {
    const fleet = Fleet.parse({
      clusters: [{ name: 'batch', shape: batch }],
      groups: [
        { name: 'a', cluster: 'batch', instances: 1 },
        { name: 'b', cluster: 'batch' },
      ],
    });

    expect(fleet.groups.map((group) => group.instances)).toEqual([1, 2]);
  });

  it.each([
    ['a group of an unknown cluster', [{ name: 'a', cluster: 'prod' }]],
    ['instances that do not add up', [{ name: 'a', cluster: 'batch', instances: 2 }]],
    [
      'two groups without instances',
      [
        { name: 'a', cluster: 'batch' },
        { name: 'b', cluster: 'batch' },
      ],
    ],
    [
      'a group named twice',
      [
        { name: 'a', cluster: 'batch', instances: 1 },
        { name: 'a', cluster: 'batch', instances: 2 },
      ],
    ],
  ])('refuses %s', (_, groups) => {
    expect(Fleet.safeParse({ clusters: [{ name: 'batch', shape: batch }], groups }).success).toBe(false);
  });
});
