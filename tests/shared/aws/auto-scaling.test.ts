import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { AutoScalingAdapter } from '../../../shared/aws/auto-scaling';
import { Pacer } from '../../../shared/aws/pacer';
import { noActiveLifecycleAction } from '../../helpers/aws';
import { INSTANCE_ID, TOKEN } from '../../helpers/events';
import { InstantTiming, ManualTiming, RecordingPacer, settle } from '../../helpers/timing';

const autoScaling = mockClient(AutoScalingClient);

const action = {
  autoScalingGroupName: 'prod-ecs-asg',
  lifecycleHookName: 'ecs-drain',
  instanceId: INSTANCE_ID,
  lifecycleActionToken: TOKEN,
};

beforeEach(() => {
  autoScaling.reset();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
});

describe('AutoScalingAdapter pacing', () => {
  it('paces every call: heartbeats at background priority, completions and reads urgently', async () => {
    const pacer = new RecordingPacer(10, 20, new InstantTiming());
    const adapter = new AutoScalingAdapter(new AutoScalingClient({}), pacer);

    await adapter.recordHeartbeat(action);
    await adapter.completeLifecycleAction(action);
    await adapter.describeInstances([INSTANCE_ID]);

    expect(pacer.priorities).toEqual(['background', 'urgent', 'urgent']);
  });

  it('completes a waiting action before the heartbeats asked for earlier, once the bucket is empty', async () => {
    const timing = new ManualTiming();
    const adapter = new AutoScalingAdapter(new AutoScalingClient({}), new Pacer(10, 1, timing));
    const sent = () => autoScaling.calls().map((call) => call.args[0].constructor.name);

    const calls = [
      adapter.recordHeartbeat(action),
      adapter.recordHeartbeat({ ...action, instanceId: 'i-0000000000000000a' }),
      adapter.recordHeartbeat({ ...action, instanceId: 'i-0000000000000000b' }),
    ];
    await settle();
    calls.push(adapter.completeLifecycleAction(action));
    for (let step = 0; step < 3; step++) await timing.advance(100);
    await Promise.all(calls);

    expect(sent()).toEqual([
      'RecordLifecycleActionHeartbeatCommand',
      'CompleteLifecycleActionCommand',
      'RecordLifecycleActionHeartbeatCommand',
      'RecordLifecycleActionHeartbeatCommand',
    ]);
  });

  it('answers gone, not an error, for a heartbeat on an action that no longer exists', async () => {
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());
    const adapter = new AutoScalingAdapter(new AutoScalingClient({}), new Pacer(10, 20, new InstantTiming()));

    await expect(adapter.recordHeartbeat(action)).resolves.toBe('gone');
  });
});

describe('AutoScalingAdapter.terminateAndDecrement', () => {
  const validation = (message: string) => Object.assign(new Error(message), { name: 'ValidationError' });

  it('takes an instance terminating or gone already as terminated (overlapping steps, a lost answer)', async () => {
    const adapter = new AutoScalingAdapter(
      new AutoScalingClient({}),
      new Pacer(100, 100, new InstantTiming()),
    );
    autoScaling
      .on(TerminateInstanceInAutoScalingGroupCommand)
      .rejectsOnce(validation('The instance i-1 is already Terminating:Wait: it cannot be terminated again.'))
      .rejectsOnce(validation('Instance Id not found - No managed instance found for instance ID i-1'))
      .rejectsOnce(validation('Currently, desired capacity 0 would violate the min size constraint 1'));
    await expect(adapter.terminateAndDecrement('i-1')).resolves.toBeUndefined();
    await expect(adapter.terminateAndDecrement('i-1')).resolves.toBeUndefined();
    await expect(adapter.terminateAndDecrement('i-1')).rejects.toThrow(/min size/);
  });
});
