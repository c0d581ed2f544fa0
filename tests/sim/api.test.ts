import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  paginateListTasks,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { servedWorld } from '../helpers/endpoint';

// Real SDK clients, with their real serializers and error parsing, against the local endpoint.
let world: World;
let close: () => Promise<void>;
let ecs: ECSClient;
let autoScaling: AutoScalingClient;

beforeAll(async () => {
  world = buildWorld(defaultOptions(demoShape(6)), 'silent');
  await world.clock.run(600);
  ({ ecs, autoScaling, close } = await servedWorld(world));
});
afterAll(() => close());
beforeEach(() => {
  world.api.faults = { tokenBuckets: false, throttle: 0, serverError: 0, lostResponse: 0 };
});

const firstInstanceId = () => [...world.group.instances.keys()][0] ?? '';

describe('the local ECS endpoint (awsJson1_1)', () => {
  it('finds a container instance by EC2 instance id and describes it with its counts and dates', async () => {
    const { containerInstanceArns } = await ecs.send(
      new ListContainerInstancesCommand({
        cluster: STACK.clusterName,
        filter: `ec2InstanceId == ${firstInstanceId()}`,
      }),
    );
    expect(containerInstanceArns).toHaveLength(1);

    const { containerInstances, failures } = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: STACK.clusterName,
        containerInstances: [...(containerInstanceArns ?? []), 'gone'],
      }),
    );
    expect(containerInstances?.[0]).toMatchObject({
      ec2InstanceId: firstInstanceId(),
      status: 'ACTIVE',
      agentConnected: true,
    });
    expect(containerInstances?.[0]?.runningTasksCount).toBeGreaterThan(0);
    expect(containerInstances?.[0]?.registeredAt).toBeInstanceOf(Date);
    expect(failures).toEqual([{ arn: 'gone', reason: 'MISSING' }]);
  });

  it('lists tasks by desired status and pages with nextToken, and describes them', async () => {
    const pages = [];
    for await (const page of paginateListTasks({ client: ecs, pageSize: 5 }, { cluster: STACK.clusterName }))
      pages.push(page);
    const arns = pages.flatMap((page) => page.taskArns ?? []);
    expect(pages.length).toBeGreaterThan(1);
    expect(new Set(arns).size).toBe(world.ecs.tasks.size);

    const { tasks } = await ecs.send(
      new DescribeTasksCommand({ cluster: STACK.clusterName, tasks: arns.slice(0, 3) }),
    );
    expect(tasks?.map((task) => task.lastStatus)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    expect(tasks?.[0]?.createdAt).toBeInstanceOf(Date);

    const stopped = await ecs.send(
      new ListTasksCommand({ cluster: STACK.clusterName, desiredStatus: 'STOPPED' }),
    );
    expect(stopped.taskArns).toEqual([]);
  });

  it('rejects more than ten instances per UpdateContainerInstancesState, as ECS does', async () => {
    const arns = Array.from({ length: 11 }, (_, n) => `ci-${n}`);
    await expect(
      ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: STACK.clusterName,
          containerInstances: arns,
          status: 'DRAINING',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('answers an unknown cluster with ClusterNotFoundException, and a throttled call with ThrottlingException', async () => {
    await expect(ecs.send(new ListContainerInstancesCommand({ cluster: 'nope' }))).rejects.toMatchObject({
      name: 'ClusterNotFoundException',
    });
    world.api.faults = { tokenBuckets: false, throttle: 1, serverError: 0, lostResponse: 0 };
    await expect(
      ecs.send(new ListContainerInstancesCommand({ cluster: STACK.clusterName })),
    ).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('the local Auto Scaling endpoint (awsQuery)', () => {
  it('describes an instance of the group with its lifecycle state, and ignores unknown ids', async () => {
    const { AutoScalingInstances } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [firstInstanceId(), 'i-00000000000000000'] }),
    );
    expect(AutoScalingInstances).toEqual([
      expect.objectContaining({
        InstanceId: firstInstanceId(),
        AutoScalingGroupName: STACK.groupName,
        LifecycleState: 'InService',
      }),
    ]);
  });

  it('answers a completion without an action with the ValidationError the controller treats as done', async () => {
    await expect(
      autoScaling.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: STACK.groupName,
          LifecycleHookName: STACK.hookName,
          InstanceId: firstInstanceId(),
          LifecycleActionResult: 'CONTINUE',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: `No active Lifecycle Action found with instance ID ${firstInstanceId()}`,
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('answers throttling with the Throttling code', async () => {
    world.api.faults = { tokenBuckets: false, throttle: 1, serverError: 0, lostResponse: 0 };
    await expect(autoScaling.send(new DescribeAutoScalingInstancesCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
    });
  });
});
