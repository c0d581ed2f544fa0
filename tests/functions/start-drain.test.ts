import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type ContainerInstance,
  type DescribeContainerInstancesCommandInput,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  type ListContainerInstancesCommandInput,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  type UpdateContainerInstancesStateCommandInput,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/start-drain/handler';
import { logger } from '../../shared/observability';
import {
  autoScalingThrottling,
  autoScalingValidationError,
  containerInstance,
  ecsThrottling,
  expectDroppedNaming,
  noActiveLifecycleAction,
  task,
  ecsWritesOf,
} from '../helpers/aws';
import {
  CONTAINER_INSTANCE_ARN,
  containerInstanceArn,
  INSTANCE_ID,
  lambdaContext,
  lifecycleBatch,
  loadEvent,
  messageIdsOf,
  noCallback,
  notificationWithMessage,
  snsEnvelope,
  TOKEN,
  terminatingMessage,
  terminatingNotification,
} from '../helpers/events';

const ecs = mockClient(ECSClient);
const autoScaling = mockClient(AutoScalingClient);

/**
 * The real handler of functions/start-drain/handler.ts; an SQS handler must always answer. Time is
 * fake (see beforeEach): whatever the handler waits for, such as its pacing of ECS reads, passes at
 * once, so that a test counts calls and never depends on how fast they were made.
 */
async function send(event: SQSEvent): Promise<SQSBatchResponse> {
  const [response] = await Promise.all([handler(event, lambdaContext, noCallback), jest.runAllTimersAsync()]);
  if (response === undefined) throw new Error('the start handler answered without batchItemFailures');
  return response;
}

/** The messageIds Lambda will hand back to the queue, sorted. */
const failedIds = (response: SQSBatchResponse) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier).sort();

const sorted = (ids: string[]) => [...ids].sort();

/** EC2 instance ids named by a ListContainerInstances filter (`== id` or `in ['id',...]`). */
const idsInFilter = (filter: string | undefined): string[] => filter?.match(/i-[0-9a-f]+/g) ?? [];

/** What ECS answers to UpdateContainerInstancesState: DRAINING for those it knows, unless it refuses one. */
function drainingAnswer(
  instances: ContainerInstance[],
  input: UpdateContainerInstancesStateCommandInput,
  refused: Record<string, string> = {},
) {
  const named = input.containerInstances ?? [];
  return {
    containerInstances: instances
      .filter(
        (i) => named.includes(i.containerInstanceArn ?? '') && !((i.containerInstanceArn ?? '') in refused),
      )
      .map((i) => ({ ...i, status: 'DRAINING' })),
    failures: named.filter((arn) => arn in refused).map((arn) => ({ arn, reason: refused[arn] })),
  };
}

/**
 * ECS knows these container instances, as a cluster would: ListContainerInstances finds them by
 * the EC2 instance ids of its filter, DescribeContainerInstances by ARN (MISSING for others), and
 * UpdateContainerInstancesState returns them DRAINING.
 */
function givenContainerInstances(...instances: ContainerInstance[]) {
  ecs.on(ListContainerInstancesCommand).callsFake((input: ListContainerInstancesCommandInput) => {
    const ids = idsInFilter(input.filter);
    return {
      containerInstanceArns: instances
        .filter((i) => ids.includes(i.ec2InstanceId ?? ''))
        .map((i) => i.containerInstanceArn ?? ''),
    };
  });
  ecs.on(DescribeContainerInstancesCommand).callsFake((input: DescribeContainerInstancesCommandInput) => {
    const named = input.containerInstances ?? [];
    return {
      containerInstances: instances.filter((i) => named.includes(i.containerInstanceArn ?? '')),
      failures: named
        .filter((arn) => !instances.some((i) => i.containerInstanceArn === arn))
        .map((arn) => ({ arn, reason: 'MISSING' })),
    };
  });
  ecs
    .on(UpdateContainerInstancesStateCommand)
    .callsFake((input: UpdateContainerInstancesStateCommandInput) => drainingAnswer(instances, input));
}

/** ECS lists these tasks as told to stop on every container instance (none when called without tasks). */
function givenTasksToldToStop(...tasks: ReturnType<typeof task>[]) {
  ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => t.taskArn ?? '') });
  ecs.on(DescribeTasksCommand).resolves({ tasks });
}

/**
 * EC2 instance n (n >= 1) of a scale-in: its one container instance, ACTIVE with `runningTasksCount`
 * tasks, and the lifecycle message Auto Scaling sent about it, with a token of its own.
 */
function terminatingHost(n: number, runningTasksCount = 0) {
  const ec2InstanceId = `i-${n.toString(16).padStart(17, '0')}`;
  const token = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  return {
    ec2InstanceId,
    token,
    containerInstance: containerInstance({
      containerInstanceArn: containerInstanceArn(`ci-${n}`),
      ec2InstanceId,
      runningTasksCount,
    }),
    message: { ...terminatingMessage(), EC2InstanceId: ec2InstanceId, LifecycleActionToken: token },
  };
}
type TerminatingHost = ReturnType<typeof terminatingHost>;

/** The hosts of a scale-in, one notification each, in one batch; messageIdOf tells which record is whose. */
function scaleIn(count: number, runningTasksCount = 0) {
  const hosts = Array.from({ length: count }, (_, n) => terminatingHost(n + 1, runningTasksCount));
  const event = lifecycleBatch(...hosts.map((host) => host.message));
  const messageIdOf = (host: TerminatingHost) => event.Records[hosts.indexOf(host)]?.messageId ?? '';
  return { hosts, event, messageIdOf };
}

const completedTokens = () =>
  autoScaling
    .commandCalls(CompleteLifecycleActionCommand)
    .map((call) => call.args[0].input.LifecycleActionToken ?? '')
    .sort();
/** ECS writes in the order they were made, each with the container instances it named. */
const ecsWrites = () => ecsWritesOf(ecs);

const drainedArns = () =>
  ecs
    .commandCalls(UpdateContainerInstancesStateCommand)
    .flatMap((call) => call.args[0].input.containerInstances ?? [])
    .sort();

beforeEach(() => {
  jest.useFakeTimers();
  ecs.reset();
  autoScaling.reset();
  jest.restoreAllMocks();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
});

afterEach(() => {
  jest.useRealTimers();
});

describe('start-drain handler', () => {
  it('sets the container instance of a terminating EC2 instance to DRAINING and waits while tasks run', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 3 }));

    const response = await send(terminatingNotification());

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
    expect(response.batchItemFailures).toEqual([]);
  });

  it('records on the container instance when its drain started, the time of the notification, before draining it', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 3 }));

    await send(terminatingNotification({ Time: '2026-01-10T12:03:07.250Z' }));

    expect(ecs).toHaveReceivedCommandWith(PutAttributesCommand, {
      cluster: 'prod',
      attributes: [
        {
          name: 'ecs-drain.started-at',
          value: '2026-01-10T12:03:07.250Z',
          targetType: 'container-instance',
          targetId: CONTAINER_INSTANCE_ARN,
        },
      ],
    });
    expect(ecsWrites()).toEqual([
      ['PutAttributes', [CONTAINER_INSTANCE_ARN]],
      ['UpdateContainerInstancesState', [CONTAINER_INSTANCE_ARN]],
    ]);
  });

  it('drains even when its start time cannot be written (ECS allows ten custom attributes): the drain comes first', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 3 }));
    const full = new Error('The attribute limit has been exceeded for the resource.');
    full.name = 'AttributeLimitExceededException';
    ecs.on(PutAttributesCommand).rejects(full);
    const warn = jest.spyOn(logger, 'warn');
    const event = terminatingNotification();

    const response = await send(event);

    expect(failedIds(response)).toEqual([]);
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { status: 'DRAINING' });
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(warn).toHaveBeenCalledWith(
      'could not record when the drain started',
      expect.objectContaining({ error: expect.stringContaining('AttributeLimitExceededException') }),
    );
  });

  it('completes the lifecycle action at once when the instance is no container instance of the cluster', async () => {
    givenContainerInstances();

    const response = await send(terminatingNotification());

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: 'prod-ecs-asg',
      LifecycleHookName: 'ecs-drain',
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('completes the lifecycle action at once when the drained instance has no task left', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop(task('arn:task/old', 'STOPPED'));

    await send(terminatingNotification());

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

    const response = await send(terminatingNotification());

    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('counts the notification as the first heartbeat: no heartbeat right after starting a drain', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 3 }));

    await send(terminatingNotification());
    givenContainerInstances(containerInstance());
    givenTasksToldToStop(task('arn:task/slow', 'STOPPING'));
    await send(terminatingNotification({ Time: undefined }));

    expect(autoScaling).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('trusts the notification for the lifecycle state: no DescribeAutoScalingInstances', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop();

    await send(terminatingNotification());

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScaling).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });

  it('leaves an instance that is already DRAINING as it is, and does not complete while it is busy', async () => {
    givenContainerInstances(containerInstance({ status: 'DRAINING', runningTasksCount: 1 }));

    await send(terminatingNotification());

    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("drains in the cluster named by the hook metadata, and in the group's cluster when there is none; an unserved cluster costs no call", async () => {
    givenContainerInstances();

    await send(terminatingNotification({ NotificationMetadata: '{"cluster":"prod"}' }));
    await send(terminatingNotification({ NotificationMetadata: undefined }));
    await send(terminatingNotification({ NotificationMetadata: '{"cluster":"batch"}' }));

    expect(ecs.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.cluster)).toEqual(
      ['prod', 'prod'],
    );
  });

  it('drains every container instance registered for the EC2 instance, ten per call', async () => {
    const instances = Array.from({ length: 12 }, (_, n) =>
      containerInstance({ containerInstanceArn: containerInstanceArn(n) }),
    );
    givenContainerInstances(...instances);
    givenTasksToldToStop();

    await send(terminatingNotification());

    const batches = ecs
      .commandCalls(UpdateContainerInstancesStateCommand)
      .map((c) => c.args[0].input.containerInstances);
    expect(batches.map((batch) => batch?.length)).toEqual([10, 2]);
    expect(new Set(batches.flat()).size).toBe(12);
  });

  it('describes container instances at most a hundred per call', async () => {
    const arns = Array.from({ length: 150 }, (_, n) => containerInstanceArn(n));
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: arns });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [] });

    await send(terminatingNotification());

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
    const arns = manyTasks.map((t) => t.taskArn ?? '');
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs
      .on(ListTasksCommand, { containerInstance: 'arn:ci/first' })
      .resolvesOnce({ taskArns: arns.slice(0, 100), nextToken: 't2' })
      .resolvesOnce({ taskArns: arns.slice(100) });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });

    await send(terminatingNotification());

    expect(ecs).toHaveReceivedCommandWith(ListContainerInstancesCommand, { nextToken: 'page-2' });
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      containerInstances: ['arn:ci/first', 'arn:ci/second'],
    });
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      containerInstance: 'arn:ci/first',
      nextToken: 't2',
    });
    // 150 tasks of the first instance: two DescribeTasks calls, of at most 100 each.
    const described = ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks);
    expect(described.map((batch) => batch?.length)).toEqual([100, 50]);
    expect(new Set(described.flat())).toEqual(new Set(arns));
  });

  it('treats a container instance deregistered meanwhile (failure MISSING) as gone', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 2 }));
    ecs.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CONTAINER_INSTANCE_ARN, reason: 'MISSING' }],
    });

    const response = await send(terminatingNotification());

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('returns the message for a retry, and completes nothing, when ECS refuses to drain for another reason', async () => {
    const instances = [containerInstance()];
    givenContainerInstances(...instances);
    ecs
      .on(UpdateContainerInstancesStateCommand)
      .callsFake((input: UpdateContainerInstancesStateCommandInput) =>
        drainingAnswer(instances, input, { [CONTAINER_INSTANCE_ARN]: 'INVALID_STATE' }),
      );
    const error = jest.spyOn(logger, 'error');
    const event = terminatingNotification();

    const response = await send(event);

    expect(failedIds(response)).toEqual(messageIdsOf(event));
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    // The operator learns why from the log, as the thrown error used to say.
    expect(error).toHaveBeenCalledWith(
      expect.any(String),
      expect.objectContaining({ instanceId: INSTANCE_ID, error: expect.stringMatching(/INVALID_STATE/) }),
    );
  });

  it('returns the message for a retry, and completes nothing, when a read is throttled', async () => {
    ecs.on(ListContainerInstancesCommand).rejects(ecsThrottling());
    const event = terminatingNotification();

    const response = await send(event);

    expect(failedIds(response)).toEqual(messageIdsOf(event));
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('succeeds when the lifecycle action is already gone, so a repeated message is harmless', async () => {
    givenContainerInstances();
    autoScaling.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    const info = jest.spyOn(logger, 'info');

    const first = await send(terminatingNotification());
    const again = await send(terminatingNotification());

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
    expect(info).toHaveBeenCalledWith(
      'lifecycle action already gone: someone finished first',
      expect.objectContaining({ instanceId: INSTANCE_ID }),
    );
  });

  it('returns the message for a retry on any other Auto Scaling validation error', async () => {
    givenContainerInstances();
    autoScaling
      .on(CompleteLifecycleActionCommand)
      .rejects(autoScalingValidationError('AutoScalingGroup name not found - prod-ecs-asg'));
    const error = jest.spyOn(logger, 'error');
    const event = terminatingNotification();

    const response = await send(event);

    expect(failedIds(response)).toEqual(messageIdsOf(event));
    expect(error).toHaveBeenCalledWith(
      expect.any(String),
      expect.objectContaining({ error: expect.stringMatching(/AutoScalingGroup name not found/) }),
    );
  });

  describe('messages that are not ours to act on', () => {
    it('skips a launching lifecycle action without any AWS call', async () => {
      const response = await send(
        terminatingNotification({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }),
      );

      expect(ecs.calls()).toHaveLength(0);
      expect(autoScaling.calls()).toHaveLength(0);
      expect(response.batchItemFailures).toEqual([]);
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
      [
        'metadata that names no cluster',
        terminatingNotification({ NotificationMetadata: 'prod' }),
        'NotificationMetadata',
      ],
      ['a body that is not JSON', notificationWithMessage('Auto Scaling: lifecycle action'), 'Message'],
      [
        'an SNS envelope whose Message is not JSON',
        notificationWithMessage(snsEnvelope('Auto Scaling: lifecycle action')),
        'Message',
      ],
      [
        'a record without a body',
        { Records: [{ messageId: 'f00dfeed-0000-4000-8000-000000000001' }] } as SQSEvent,
        'Records[0].body',
      ],
      ['a record without a messageId', { Records: [{ body: '{}' }] } as SQSEvent, 'Records[0].messageId'],
      ['an event that is not an SQS batch at all', { detail: {} } as unknown as SQSEvent, 'Records'],
    ])(
      'drops a message with %s: one error line naming the field, no AWS call, no retry',
      async (_case, event, field) => {
        const error = jest.spyOn(logger, 'error');

        const response = await send(event);

        expectDroppedNaming(field, [ecs, autoScaling], error);
        expect(response.batchItemFailures).toEqual([]);
      },
    );

    it('still processes the good records of a batch that holds a bad one, and does not return the bad one', async () => {
      givenContainerInstances();
      const event = lifecycleBatch('{', terminatingMessage());

      const response = await send(event);

      expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
      expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
        LifecycleActionToken: TOKEN,
      });
      expect(response.batchItemFailures).toEqual([]);
    });

    it('returns only the failed instance for a retry, never a dropped message of the same batch', async () => {
      ecs.on(ListContainerInstancesCommand).rejects(ecsThrottling());
      const event = lifecycleBatch(
        terminatingMessage(),
        { ...terminatingMessage(), LifecycleHookName: 'someone-elses-hook' },
        'not json',
      );

      const response = await send(event);

      expect(failedIds(response)).toEqual([event.Records[0]?.messageId]);
    });
  });
});

describe('start-drain batches', () => {
  describe('100 terminating instances in one batch (a scale-in or an instance refresh)', () => {
    // Every instance still runs tasks: the batch starts 100 drains and completes none.
    const givenRefresh = () => {
      const { hosts, event } = scaleIn(100, 2);
      givenContainerInstances(...hosts.map((host) => host.containerInstance));
      return { hosts, event };
    };

    it('reads them together: exactly 5 ListContainerInstances of 20 ids each and 1 DescribeContainerInstances', async () => {
      const { hosts, event } = givenRefresh();

      const response = await send(event);

      expect(response.batchItemFailures).toEqual([]);
      // Per-instance reads would cost 100 ListContainerInstances (`ec2InstanceId == id`) and 100
      // DescribeContainerInstances from the account's shared cluster read bucket, at the very moment
      // a refresh terminates many instances at once. This test fails if the start path goes back to that.
      const filters = ecs.commandCalls(ListContainerInstancesCommand).map((c) => c.args[0].input.filter);
      expect(filters).toHaveLength(5);
      for (const filter of filters) {
        expect(filter).toMatch(/^ec2InstanceId in \['i-[0-9a-f]{17}'(,'i-[0-9a-f]{17}'){19}\]$/);
      }
      expect(sorted(filters.flatMap(idsInFilter))).toEqual(sorted(hosts.map((host) => host.ec2InstanceId)));
      const described = ecs.commandCalls(DescribeContainerInstancesCommand);
      expect(described).toHaveLength(1);
      expect(described[0]?.args[0].input.containerInstances).toHaveLength(100);
      expect(ecs).not.toHaveReceivedCommand(ListTasksCommand);
      expect(autoScaling.calls()).toHaveLength(0);
    });

    it('drains them together: exactly 10 UpdateContainerInstancesState, ten container instances each', async () => {
      const { hosts, event } = givenRefresh();

      const response = await send(event);

      expect(response.batchItemFailures).toEqual([]);
      const updates = ecs.commandCalls(UpdateContainerInstancesStateCommand);
      expect(updates.map((c) => c.args[0].input.containerInstances?.length)).toEqual(Array(10).fill(10));
      expect(drainedArns()).toEqual(
        sorted(hosts.map((host) => host.containerInstance.containerInstanceArn ?? '')),
      );
    });

    it('drains them all even when the batch reads end in its last 15 s: a drain is quick writes, handed back it waits 360 s', async () => {
      const { hosts, event } = givenRefresh();
      // 20 s left: the six paced reads (0.5 per second) end past actBy (5 s from now). Handing the drains
      // back there sent a 5,000-instance refresh's drains round the queue five times into the failure
      // queue: 387 instances let go by the hook's timeout, 3,870 tasks killed.
      const deadline = Date.now() + 20_000;
      const context = { ...lambdaContext, getRemainingTimeInMillis: () => deadline - Date.now() };
      const [response] = await Promise.all([handler(event, context, noCallback), jest.runAllTimersAsync()]);

      expect(response?.batchItemFailures).toEqual([]);
      expect(drainedArns()).toEqual(
        sorted(hosts.map((host) => host.containerInstance.containerInstanceArn ?? '')),
      );
    });

    it('records the start of their drains ten per PutAttributes, each call just before draining the same ten', async () => {
      const { event } = givenRefresh();

      await send(event);

      const drains = ecs
        .commandCalls(UpdateContainerInstancesStateCommand)
        .map((call) => call.args[0].input.containerInstances);
      expect(drains).toHaveLength(10);
      expect(ecsWrites()).toEqual(
        drains.flatMap((arns) => [
          ['PutAttributes', arns],
          ['UpdateContainerInstancesState', arns],
        ]),
      );
    });
  });

  it('returns only the messages of the instance ECS refused to drain; the others drain and complete', async () => {
    const { hosts, event, messageIdOf } = scaleIn(3);
    const [refused, ...others] = hosts as [TerminatingHost, ...TerminatingHost[]];
    const instances = hosts.map((host) => host.containerInstance);
    givenContainerInstances(...instances);
    givenTasksToldToStop();
    ecs
      .on(UpdateContainerInstancesStateCommand)
      .callsFake((input: UpdateContainerInstancesStateCommandInput) =>
        drainingAnswer(instances, input, {
          [refused.containerInstance.containerInstanceArn ?? '']: 'ATTRIBUTE',
        }),
      );

    const response = await send(event);

    expect(failedIds(response)).toEqual([messageIdOf(refused)]);
    expect(completedTokens()).toEqual(sorted(others.map((host) => host.token)));
  });

  it('returns only the messages of the instance whose CompleteLifecycleAction was throttled; the others complete', async () => {
    const { hosts, event, messageIdOf } = scaleIn(3);
    const throttled = hosts[1] as TerminatingHost;
    givenContainerInstances();
    autoScaling
      .on(CompleteLifecycleActionCommand, { LifecycleActionToken: throttled.token })
      .rejects(autoScalingThrottling());

    const response = await send(event);

    expect(failedIds(response)).toEqual([messageIdOf(throttled)]);
    // Every instance was tried, the throttled one included: its failure stopped no other.
    expect(completedTokens()).toEqual(sorted(hosts.map((host) => host.token)));
  });

  it('returns the messages of every instance of a shared read that failed', async () => {
    const { hosts, event } = scaleIn(3);
    givenContainerInstances(...hosts.map((host) => host.containerInstance));
    ecs.on(DescribeContainerInstancesCommand).rejects(ecsThrottling());

    const response = await send(event);

    expect(failedIds(response)).toEqual(sorted(messageIdsOf(event)));
    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('acts once on two copies of the same notification in a batch', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop();

    const response = await send(lifecycleBatch(terminatingMessage(), terminatingMessage()));

    expect(ecs).toHaveReceivedCommandTimes(ListContainerInstancesCommand, 1);
    expect(ecs).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 1);
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('returns both copies of a notification when their instance failed: they share its outcome', async () => {
    givenContainerInstances();
    autoScaling.on(CompleteLifecycleActionCommand).rejects(autoScalingThrottling());
    const copies = lifecycleBatch(terminatingMessage(), terminatingMessage());

    const response = await send(copies);

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(failedIds(response)).toEqual(sorted(messageIdsOf(copies)));
  });

  const NEWER_TOKEN = '5a1f3c7e-2b4d-4e6f-8a9b-0c1d2e3f4a5b';
  const older = terminatingMessage();
  const newer = {
    ...terminatingMessage(),
    Time: '2026-01-10T12:10:00.000Z',
    LifecycleActionToken: NEWER_TOKEN,
  };
  it.each([
    ['the newer one comes last', [older, newer]],
    ['the newer one comes first', [newer, older]],
  ])(
    'answers with the token of the newer notification when two name the same instance (%s)',
    async (_case, messages) => {
      givenContainerInstances();

      const response = await send(lifecycleBatch(...messages));

      expect(completedTokens()).toEqual([NEWER_TOKEN]);
      expect(response.batchItemFailures).toEqual([]);
    },
  );

  it('handles a body that is an SNS envelope (raw delivery off) exactly like raw delivery', async () => {
    givenContainerInstances(containerInstance());
    givenTasksToldToStop();
    const raw = await send(lifecycleBatch(terminatingMessage()));
    const rawCalls = [...ecs.calls(), ...autoScaling.calls()].map((call) => call.args[0]);
    ecs.resetHistory();
    autoScaling.resetHistory();

    const enveloped = await send(lifecycleBatch(snsEnvelope(JSON.stringify(terminatingMessage()))));

    const envelopedCalls = [...ecs.calls(), ...autoScaling.calls()].map((call) => call.args[0]);
    expect(envelopedCalls.map((command) => [command.constructor.name, command.input])).toEqual(
      rawCalls.map((command) => [command.constructor.name, command.input]),
    );
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
    });
    expect(raw.batchItemFailures).toEqual([]);
    expect(enveloped.batchItemFailures).toEqual([]);
  });

  it('skips a test notification in an SNS envelope, like a raw one, rather than dropping it as malformed', async () => {
    const test = loadEvent<SQSEvent>('lifecycle-test-notification.json').Records[0]?.body ?? '';
    const info = jest.spyOn(logger, 'info');
    const error = jest.spyOn(logger, 'error');

    const response = await send(lifecycleBatch(snsEnvelope(test)));

    expect(ecs.calls()).toHaveLength(0);
    expect(autoScaling.calls()).toHaveLength(0);
    expect(info).toHaveBeenCalledWith(
      'message skipped',
      expect.objectContaining({ reason: expect.any(String) }),
    );
    expect(error).not.toHaveBeenCalled();
    expect(response.batchItemFailures).toEqual([]);
  });
});

describe('the sample events in events/', () => {
  it('lifecycle-terminating.json: drains the terminating instance', async () => {
    givenContainerInstances(containerInstance({ runningTasksCount: 1 }));

    const response = await send(loadEvent<SQSEvent>('lifecycle-terminating.json'));

    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [CONTAINER_INSTANCE_ARN],
      status: 'DRAINING',
    });
    expect(response.batchItemFailures).toEqual([]);
  });

  it('lifecycle-terminating-warm-pool.json: drains an instance going into a warm pool like a terminating one, and answers with its token', async () => {
    const event = loadEvent<SQSEvent>('lifecycle-terminating-warm-pool.json');
    const { LifecycleActionToken } = JSON.parse(event.Records[0]?.body ?? '{}');
    givenContainerInstances(containerInstance());
    givenTasksToldToStop();

    const response = await send(event);

    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { status: 'DRAINING' });
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, { LifecycleActionToken });
    expect(response.batchItemFailures).toEqual([]);
  });

  it('lifecycle-test-notification.json: skips the test notification without any AWS call', async () => {
    const info = jest.spyOn(logger, 'info');

    const response = await send(loadEvent<SQSEvent>('lifecycle-test-notification.json'));

    expect(ecs.calls()).toHaveLength(0);
    expect(autoScaling.calls()).toHaveLength(0);
    expect(info).toHaveBeenCalledWith(
      'message skipped',
      expect.objectContaining({ reason: expect.any(String) }),
    );
    expect(response.batchItemFailures).toEqual([]);
  });
});
