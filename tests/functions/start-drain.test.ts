import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import type { SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/start-drain/handler';
import { logger } from '../../shared/observability';
import {
  autoScalingValidationError,
  expectDroppedNaming,
  containerInstance,
  ecsThrottling,
  noActiveLifecycleAction,
  task,
} from '../helpers/aws';
import {
  CONTAINER_INSTANCE_ARN,
  INSTANCE_ID,
  lambdaContext,
  loadEvent,
  noCallback,
  notificationWithMessage,
  TOKEN,
  terminatingNotification,
} from '../helpers/events';

const ecs = mockClient(ECSClient);
const autoScaling = mockClient(AutoScalingClient);

const invoke = (event: SNSEvent) => handler(event, lambdaContext, noCallback);

/** ECS knows the EC2 instance as these container instances, and returns them DRAINING once asked. */
function givenContainerInstances(...instances: ReturnType<typeof containerInstance>[]) {
  ecs
    .on(ListContainerInstancesCommand)
    .resolves({ containerInstanceArns: instances.map((i) => i.containerInstanceArn ?? '') });
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: instances, failures: [] });
  ecs.on(UpdateContainerInstancesStateCommand).callsFake((input: { containerInstances: string[] }) => ({
    containerInstances: instances
      .filter((i) => input.containerInstances.includes(i.containerInstanceArn ?? ''))
      .map((i) => ({ ...i, status: 'DRAINING' })),
    failures: [],
  }));
}

function givenTasksToldToStop(...tasks: ReturnType<typeof task>[]) {
  ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => t.taskArn ?? '') });
  ecs.on(DescribeTasksCommand).resolves({ tasks });
}

beforeEach(() => {
  ecs.reset();
  autoScaling.reset();
  jest.restoreAllMocks();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
});

describe('start-drain handler', () => {
  it('sets the container instance of a terminating EC2 instance to DRAINING and waits while tasks run', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 3 }));

    await invoke(terminatingNotification());

    expect(ecs).toHaveReceivedCommandWith(ListContainerInstancesCommand, {
      cluster: 'prod',
      filter: `ec2InstanceId == ${INSTANCE_ID}`,
    });
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [CONTAINER_INSTANCE_ARN],
      status: 'DRAINING',
    });
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('completes the lifecycle action at once when the instance is no container instance of the cluster', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });

    await invoke(terminatingNotification());

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: 'prod-ecs-asg',
      LifecycleHookName: 'ecs-drain',
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
  });

  it('completes the lifecycle action at once when the drained instance has no task left', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop(task('arn:task/old', 'STOPPED'));

    await invoke(terminatingNotification());

    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { status: 'DRAINING' });
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      containerInstance: CONTAINER_INSTANCE_ARN,
      desiredStatus: 'STOPPED',
    });
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('does not complete while a task told to stop is still stopping, although runningTasksCount is 0', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop(task('arn:task/a', 'STOPPED'), task('arn:task/b', 'DEACTIVATING'));

    await invoke(terminatingNotification());

    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('leaves an instance that is already DRAINING as it is, and does not complete while it is busy', async () => {
    givenContainerInstances(containerInstance({ status: 'DRAINING', runningTasksCount: 1 }));

    await invoke(terminatingNotification());

    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('drains in the cluster named by the hook metadata, and in the stack cluster when there is none', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });

    await invoke(terminatingNotification({ NotificationMetadata: '{"cluster":"batch"}' }));
    await invoke(terminatingNotification({ NotificationMetadata: undefined }));

    expect(ecs.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.cluster)).toEqual(
      ['batch', 'prod'],
    );
  });

  it('drains every container instance registered for the EC2 instance, ten per call', async () => {
    const instances = Array.from({ length: 12 }, (_, n) =>
      containerInstance({
        containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${n}`,
      }),
    );
    givenContainerInstances(...instances);
    givenTasksToldToStop();

    await invoke(terminatingNotification());

    const batches = ecs
      .commandCalls(UpdateContainerInstancesStateCommand)
      .map((c) => c.args[0].input.containerInstances);
    expect(batches.map((batch) => batch?.length)).toEqual([10, 2]);
    expect(new Set(batches.flat()).size).toBe(12);
  });

  it('describes container instances at most a hundred per call', async () => {
    const arns = Array.from(
      { length: 150 },
      (_, n) => `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${n}`,
    );
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: arns });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [] });

    await invoke(terminatingNotification());

    const described = ecs
      .commandCalls(DescribeContainerInstancesCommand)
      .map((c) => c.args[0].input.containerInstances);
    expect(described.map((batch) => batch?.length)).toEqual([100, 50]);
    expect(new Set(described.flat()).size).toBe(150);
  });

  it('follows pagination when listing container instances and tasks', async () => {
    const first = containerInstance({ containerInstanceArn: 'arn:ci/first' });
    const second = containerInstance({ containerInstanceArn: 'arn:ci/second', runningTasksCount: 0 });
    ecs
      .on(ListContainerInstancesCommand)
      .resolvesOnce({ containerInstanceArns: ['arn:ci/first'], nextToken: 'page-2' })
      .resolvesOnce({ containerInstanceArns: ['arn:ci/second'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [first, second] });
    ecs.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [first, second].map((i) => ({ ...i, status: 'DRAINING' })),
    });
    const manyTasks = Array.from({ length: 150 }, (_, n) => task(`arn:task/${n}`, 'STOPPED'));
    ecs
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: manyTasks.slice(0, 100).map((t) => t.taskArn ?? ''), nextToken: 't2' })
      .resolvesOnce({ taskArns: manyTasks.slice(100).map((t) => t.taskArn ?? '') })
      .resolves({ taskArns: [] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });

    await invoke(terminatingNotification());

    expect(ecs).toHaveReceivedCommandWith(ListContainerInstancesCommand, { nextToken: 'page-2' });
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      containerInstances: ['arn:ci/first', 'arn:ci/second'],
    });
    // 150 tasks of the first instance: two DescribeTasks calls, of at most 100 each.
    const described = ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length);
    expect(described).toEqual([100, 50]);
  });

  it('treats a container instance deregistered meanwhile (failure MISSING) as gone', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CONTAINER_INSTANCE_ARN] });
    ecs
      .on(DescribeContainerInstancesCommand)
      .resolves({ containerInstances: [containerInstance({ runningTasksCount: 2 })] });
    ecs.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CONTAINER_INSTANCE_ARN, reason: 'MISSING' }],
    });

    await invoke(terminatingNotification());

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('throws, and completes nothing, when ECS refuses to drain an instance for another reason', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CONTAINER_INSTANCE_ARN] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance()] });
    ecs.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CONTAINER_INSTANCE_ARN, reason: 'INVALID_STATE' }],
    });

    await expect(invoke(terminatingNotification())).rejects.toThrow(/INVALID_STATE/);
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('drains an instance going into a warm pool exactly like a terminating one', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 1 }));

    await invoke(loadEvent<SNSEvent>('lifecycle-terminating-warm-pool.json'));

    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { status: 'DRAINING' });
  });

  it('lets a transient AWS error propagate so that Lambda retries the event', async () => {
    ecs.on(ListContainerInstancesCommand).rejects(ecsThrottling());

    await expect(invoke(terminatingNotification())).rejects.toThrow('Rate exceeded');
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('succeeds when the lifecycle action is already gone, so a repeated message is harmless', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    autoScaling.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());

    await expect(invoke(terminatingNotification())).resolves.toBeUndefined();
    await expect(invoke(terminatingNotification())).resolves.toBeUndefined();
  });

  it('propagates any other Auto Scaling validation error', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    autoScaling
      .on(CompleteLifecycleActionCommand)
      .rejects(autoScalingValidationError('AutoScalingGroup name not found - prod-ecs-asg'));

    await expect(invoke(terminatingNotification())).rejects.toThrow('AutoScalingGroup name not found');
  });

  describe('messages that are not ours to act on', () => {
    it('skips the test notification without any AWS call', async () => {
      const info = jest.spyOn(logger, 'info');

      await invoke(loadEvent<SNSEvent>('lifecycle-test-notification.json'));

      expect(ecs.calls()).toHaveLength(0);
      expect(autoScaling.calls()).toHaveLength(0);
      expect(info).toHaveBeenCalledWith(
        'message skipped',
        expect.objectContaining({ reason: expect.any(String) }),
      );
    });

    it('skips a launching lifecycle action without any AWS call', async () => {
      await invoke(terminatingNotification({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }));

      expect(ecs.calls()).toHaveLength(0);
      expect(autoScaling.calls()).toHaveLength(0);
    });

    it.each([
      [
        'another hook',
        terminatingNotification({ LifecycleHookName: 'ecs-managed-draining-termination-hook' }),
        'LifecycleHookName',
      ],
      ['another group', terminatingNotification({ AutoScalingGroupName: 'web-asg' }), 'AutoScalingGroupName'],
      ['no instance id', terminatingNotification({ EC2InstanceId: undefined }), 'EC2InstanceId'],
      [
        'an unknown transition',
        terminatingNotification({ LifecycleTransition: 'autoscaling:X' }),
        'LifecycleTransition',
      ],
      ['a Message that is not JSON', notificationWithMessage('Auto Scaling: lifecycle action'), 'Message'],
    ])(
      'drops a message with %s: one error line naming the field, no AWS call',
      async (_case, event, field) => {
        const error = jest.spyOn(logger, 'error');

        await expect(invoke(event)).resolves.toBeUndefined();

        expectDroppedNaming(field, [ecs, autoScaling], error);
      },
    );

    it('drops an event that is not an SNS notification at all', async () => {
      const error = jest.spyOn(logger, 'error');

      await invoke({ detail: {} } as unknown as SNSEvent);

      expect(ecs.calls()).toHaveLength(0);
      expect(error).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ field: 'Records' }));
    });

    it('still processes the good records of a batch that holds a bad one', async () => {
      ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
      const event = terminatingNotification();
      const bad = notificationWithMessage('{').Records[0];
      if (bad !== undefined) event.Records.unshift(bad);

      await invoke(event);

      expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    });
  });
});
