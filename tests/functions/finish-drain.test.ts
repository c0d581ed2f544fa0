import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../functions/finish-drain/handler';
import { logger } from '../../shared/observability';
import {
  containerInstance,
  ecsThrottling,
  expectDroppedNaming,
  noActiveLifecycleAction,
  task,
} from '../helpers/aws';
import {
  CLUSTER_ARN,
  CONTAINER_INSTANCE_ARN,
  INSTANCE_ID,
  lambdaContext,
  loadEvent,
  noCallback,
  TASK_ARN,
  taskStoppedEvent,
} from '../helpers/events';

const ecs = mockClient(ECSClient);
const autoScaling = mockClient(AutoScalingClient);

const invokeAsIs = (event: unknown) =>
  handler(event as Parameters<typeof handler>[0], lambdaContext, noCallback);

// Heartbeats are paced per instance by event time, and the pacer lives as long as the module: each
// invocation here is an hour after the last, so that pacing only shows where a test asks for it.
let clock = Date.parse('2026-01-10T12:00:10Z');
const invoke = (event: unknown) => {
  clock += 3_600_000;
  return invokeAsIs({ ...(event as object), time: new Date(clock).toISOString() });
};
const ecsReads = () => ecs.calls().length;

function givenContainerInstance(changes: Parameters<typeof containerInstance>[0]) {
  const instance = containerInstance(changes);
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance], failures: [] });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CONTAINER_INSTANCE_ARN] });
}

function givenTasksToldToStop(...tasks: ReturnType<typeof task>[]) {
  ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((t) => t.taskArn ?? '') });
  ecs.on(DescribeTasksCommand).resolves({ tasks });
}

function givenLifecycleState(state: string | undefined, group = 'prod-ecs-asg') {
  autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances:
      state === undefined
        ? []
        : [
            {
              InstanceId: INSTANCE_ID,
              AutoScalingGroupName: group,
              LifecycleState: state,
              AvailabilityZone: 'us-east-1a',
              HealthStatus: 'HEALTHY',
              ProtectedFromScaleIn: false,
            },
          ],
  });
}

/** The usual case at the end of a drain: the host is empty and waits in Terminating:Wait. */
function givenEmptyHostWaitingOnOurHook() {
  givenContainerInstance({ status: 'DRAINING' });
  givenTasksToldToStop(task(TASK_ARN, 'STOPPED', 6), task('arn:task/earlier', 'STOPPED'));
  givenLifecycleState('Terminating:Wait');
}

beforeEach(() => {
  ecs.reset();
  autoScaling.reset();
  jest.restoreAllMocks();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
});

describe('finish-drain handler', () => {
  it('completes the lifecycle action once the last task on the draining host has stopped', async () => {
    givenEmptyHostWaitingOnOurHook();

    await invoke(loadEvent('task-stopped.json'));

    expect(ecs).toHaveReceivedCommandWith(DescribeContainerInstancesCommand, {
      cluster: CLUSTER_ARN,
      containerInstances: [CONTAINER_INSTANCE_ARN],
    });
    expect(autoScaling).toHaveReceivedCommandWith(DescribeAutoScalingInstancesCommand, {
      InstanceIds: [INSTANCE_ID],
    });
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: 'prod-ecs-asg',
      LifecycleHookName: 'ecs-drain',
      InstanceId: INSTANCE_ID,
      LifecycleActionResult: 'CONTINUE',
    });
  });

  it('completes for an instance being stopped into a warm pool (Warmed:Pending:Wait)', async () => {
    givenEmptyHostWaitingOnOurHook();
    givenLifecycleState('Warmed:Pending:Wait');

    await invoke(loadEvent('task-stopped.json'));

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('costs exactly one ECS read and no Auto Scaling call for an instance that is not draining', async () => {
    givenContainerInstance({ status: 'ACTIVE', runningTasksCount: 4 });

    await invoke(loadEvent('task-stopped.json'));

    expect(ecsReads()).toBe(1);
    expect(autoScaling.calls()).toHaveLength(0);
  });

  it('does nothing for a container instance ECS no longer knows', async () => {
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [],
      failures: [{ arn: CONTAINER_INSTANCE_ARN, reason: 'MISSING' }],
    });

    await invoke(loadEvent('task-stopped.json'));

    expect(ecsReads()).toBe(1);
    expect(autoScaling.calls()).toHaveLength(0);
  });

  it('records a heartbeat and does not complete while tasks still want to run on the draining host', async () => {
    givenContainerInstance({ status: 'DRAINING', runningTasksCount: 2 });

    await invoke(loadEvent('task-stopped.json'));

    expect(ecsReads()).toBe(1);
    expect(autoScaling).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: 'prod-ecs-asg',
      LifecycleHookName: 'ecs-drain',
      InstanceId: INSTANCE_ID,
    });
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('does not complete while a task told to stop is still stopping (runningTasksCount is already 0)', async () => {
    givenContainerInstance({ status: 'DRAINING' });
    givenTasksToldToStop(task(TASK_ARN, 'STOPPED', 6), task('arn:task/slow', 'DEACTIVATING'));
    givenLifecycleState('Terminating:Wait');

    await invoke(loadEvent('task-stopped.json'));

    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(autoScaling).toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it('trusts the event for its own task when the task read still lags behind it', async () => {
    givenContainerInstance({ status: 'DRAINING' });
    givenTasksToldToStop(task(TASK_ARN, 'DEACTIVATING', 5));
    givenLifecycleState('Terminating:Wait');

    await invoke(loadEvent('task-stopped.json'));

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
  });

  it('waits for every container instance registered for the same EC2 instance', async () => {
    const self = containerInstance({ status: 'DRAINING' });
    const sibling = containerInstance({
      containerInstanceArn: 'arn:ci/sibling',
      status: 'DRAINING',
      runningTasksCount: 1,
    });
    ecs.on(DescribeContainerInstancesCommand, { containerInstances: [CONTAINER_INSTANCE_ARN] }).resolves({
      containerInstances: [self],
    });
    ecs
      .on(ListContainerInstancesCommand)
      .resolves({ containerInstanceArns: [CONTAINER_INSTANCE_ARN, 'arn:ci/sibling'] });
    ecs
      .on(DescribeContainerInstancesCommand, {
        containerInstances: [CONTAINER_INSTANCE_ARN, 'arn:ci/sibling'],
      })
      .resolves({ containerInstances: [self, sibling] });
    givenTasksToldToStop();
    givenLifecycleState('Terminating:Wait');

    await invoke(loadEvent('task-stopped.json'));

    expect(ecs).toHaveReceivedCommandWith(ListContainerInstancesCommand, {
      filter: `ec2InstanceId == ${INSTANCE_ID}`,
    });
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it.each([
    ['drained by hand (in no Auto Scaling group)', undefined, 'prod-ecs-asg'],
    ['in service', 'InService', 'prod-ecs-asg'],
    ['of another Auto Scaling group', 'Terminating:Wait', 'web-asg'],
  ])('leaves an empty draining instance %s alone', async (_case, state, group) => {
    givenContainerInstance({ status: 'DRAINING' });
    givenTasksToldToStop(task(TASK_ARN, 'STOPPED', 6));
    givenLifecycleState(state, group);

    await invoke(loadEvent('task-stopped.json'));

    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it('is harmless under any number of repeats: a lifecycle action already gone means someone finished first', async () => {
    givenEmptyHostWaitingOnOurHook();
    autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(noActiveLifecycleAction());
    const info = jest.spyOn(logger, 'info');

    for (let repeat = 0; repeat < 3; repeat++) {
      await expect(invoke(loadEvent('task-stopped.json'))).resolves.toBeUndefined();
    }

    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 3);
    expect(info).toHaveBeenCalledWith(
      'lifecycle action already gone: someone finished first',
      expect.objectContaining({ instanceId: INSTANCE_ID }),
    );
  });

  it('records at most one heartbeat per tenth of HeartbeatTimeout for the same instance', async () => {
    givenContainerInstance({ status: 'DRAINING', runningTasksCount: 3 });
    const at = (isoTime: string) => invokeAsIs({ ...loadEvent<object>('task-stopped.json'), time: isoTime });

    await at('2026-02-01T10:00:00Z');
    await at('2026-02-01T10:00:20Z'); // 20 s later: the timer was just restarted
    await at('2026-02-01T09:59:50Z'); // a late event from before the heartbeat
    expect(autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);

    await at('2026-02-01T10:03:00Z'); // 180 s: a tenth of the 1800 s timeout
    expect(autoScaling).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
  });

  it('ignores a heartbeat refused because no lifecycle action waits (instance drained by hand)', async () => {
    givenContainerInstance({ status: 'DRAINING', runningTasksCount: 1 });
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());

    await expect(invoke(loadEvent('task-stopped.json'))).resolves.toBeUndefined();
  });

  it('lets throttling propagate so that Lambda retries the event', async () => {
    ecs.on(DescribeContainerInstancesCommand).rejects(ecsThrottling());

    await expect(invoke(loadEvent('task-stopped.json'))).rejects.toThrow('Rate exceeded');
    expect(autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  describe('events that cannot finish a drain', () => {
    it.each([
      ['a Fargate task', loadEvent('task-stopped-fargate.json')],
      [
        'a task of another cluster',
        taskStoppedEvent({ clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/dev' }),
      ],
      ['a task that is not STOPPED', taskStoppedEvent({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING' })],
    ])('ignores %s without any AWS call', async (_case, event) => {
      await invoke(event);

      expect(ecs.calls()).toHaveLength(0);
      expect(autoScaling.calls()).toHaveLength(0);
    });

    it.each([
      ['detail.taskArn', taskStoppedEvent({ taskArn: undefined })],
      ['detail.clusterArn', taskStoppedEvent({ clusterArn: 'prod' })],
      ['detail.version', taskStoppedEvent({ version: 'six' })],
      ['detail-type', { ...loadEvent<object>('task-stopped.json'), 'detail-type': 'ECS Service Action' }],
    ])('drops an event with a bad %s: one error line naming it, no AWS call', async (field, event) => {
      const error = jest.spyOn(logger, 'error');

      await expect(invoke(event)).resolves.toBeUndefined();

      expectDroppedNaming(field, [ecs, autoScaling], error);
    });

    it('drops an event without a usable time: one error line naming it, no AWS call', async () => {
      const error = jest.spyOn(logger, 'error');

      await invokeAsIs({ ...loadEvent<object>('task-stopped.json'), time: 'yesterday' });

      expectDroppedNaming('time', [ecs, autoScaling], error);
    });
  });
});
