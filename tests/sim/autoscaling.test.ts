import {
  type AsgInstance,
  AutoScalingModel,
  type HookSpec,
  type LifecycleAction,
} from '../../sim/autoscaling';
import { Clock, Random } from '../../sim/clock';

function group(desiredCapacity = 2) {
  const clock = new Clock();
  const notifications: Record<string, string>[] = [];
  const ended: LifecycleAction[] = [];
  const terminated: string[] = [];
  const model = new AutoScalingModel(
    {
      name: 'g',
      desiredCapacity,
      minSize: 0,
      maxSize: 10,
      instanceCpu: 2048,
      instanceMemory: 8192,
      amiId: 'ami-old',
      bootSeconds: 60,
      healthySeconds: 30,
      shutdownSeconds: 20,
    },
    clock,
    new Random(5),
    {
      notify: (message) => notifications.push(message),
      instanceChanged: () => undefined,
      actionEnded: (action) => ended.push(action),
      ec2Booted: () => undefined,
      ec2Terminated: (instance: AsgInstance) => terminated.push(instance.id),
    },
  );
  model.startWithRunningInstances();
  return { clock, model, notifications, ended, terminated };
}

const hook: HookSpec = {
  name: 'drain',
  transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
  heartbeatTimeout: 300,
  defaultResult: 'CONTINUE',
  notify: true,
  metadata: '{"cluster":"c"}',
};

describe('Auto Scaling in the simulation', () => {
  it('sends a test notification when the hook is put, then one lifecycle message per terminating instance', async () => {
    const { clock, model, notifications } = group(2);
    model.putLifecycleHook(hook);
    model.setDesiredCapacity(1);
    await clock.run(10);

    expect(notifications[0]).toMatchObject({
      Event: 'autoscaling:TEST_NOTIFICATION',
      AutoScalingGroupName: 'g',
    });
    expect(notifications[1]).toMatchObject({
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      LifecycleHookName: 'drain',
      Origin: 'AutoScalingGroup',
      Destination: 'EC2',
      NotificationMetadata: '{"cluster":"c"}',
    });
    expect(notifications[1]?.LifecycleActionToken).toHaveLength(36);
  });

  it('holds the instance in Terminating:Wait until the action is completed', async () => {
    const { clock, model, notifications, terminated } = group(2);
    model.putLifecycleHook(hook);
    model.setDesiredCapacity(1);
    await clock.run(100);
    const instanceId = notifications[1]?.EC2InstanceId ?? '';
    expect(model.instances.get(instanceId)?.state).toBe('Terminating:Wait');

    model.completeLifecycleAction({ groupName: 'g', hookName: 'drain', result: 'CONTINUE', instanceId });
    await clock.run(200);

    expect(terminated).toEqual([instanceId]);
    expect(model.instances.has(instanceId)).toBe(false);
  });

  it('applies the default result at the heartbeat timeout, which each heartbeat restarts', async () => {
    const { clock, model, notifications, ended } = group(2);
    model.putLifecycleHook(hook);
    model.setDesiredCapacity(1);
    await clock.run(200);
    const instanceId = notifications[1]?.EC2InstanceId ?? '';
    model.recordHeartbeat({ groupName: 'g', hookName: 'drain', instanceId });
    await clock.run(450);
    expect(ended).toHaveLength(0); // 250 s after the heartbeat, under 300

    await clock.run(600);
    expect(ended.map((action) => action.endedBy)).toEqual(['heartbeat-timeout']);
    expect((ended[0]?.endedAt ?? 0) - 200).toBeGreaterThanOrEqual(300);
  });

  it('caps the whole wait at the global timeout, 100 x HeartbeatTimeout', async () => {
    const { clock, model, notifications, ended } = group(2);
    model.putLifecycleHook({ ...hook, heartbeatTimeout: 30 });
    model.setDesiredCapacity(1);
    await clock.run(2);
    const instanceId = notifications[1]?.EC2InstanceId ?? '';
    const beat = () => {
      if (model.instances.get(instanceId)?.state !== 'Terminating:Wait') return;
      model.recordHeartbeat({ groupName: 'g', hookName: 'drain', instanceId });
      clock.after(20, beat);
    };
    beat();
    await clock.run(4000);

    expect(ended.map((action) => action.endedBy)).toEqual(['global-timeout']);
    expect((ended[0]?.endedAt ?? 0) - (ended[0]?.startedAt ?? 0)).toBe(3000);
  });

  it('answers ValidationError "No active Lifecycle Action found" for an action that is gone', async () => {
    const { clock, model, notifications } = group(2);
    model.putLifecycleHook(hook);
    model.setDesiredCapacity(1);
    await clock.run(10);
    const instanceId = notifications[1]?.EC2InstanceId ?? '';
    const complete = () =>
      model.completeLifecycleAction({ groupName: 'g', hookName: 'drain', result: 'CONTINUE', instanceId });
    complete();

    expect(complete).toThrow(`No active Lifecycle Action found with instance ID ${instanceId}`);
    expect(() =>
      model.completeLifecycleAction({
        groupName: 'g',
        hookName: 'other',
        result: 'CONTINUE',
        token: notifications[1]?.LifecycleActionToken,
      }),
    ).toThrow(/No active Lifecycle Action found with token/);
    expect(() => model.recordHeartbeat({ groupName: 'nope', hookName: 'drain', instanceId })).toThrow(
      /AutoScalingGroup name not found/,
    );
  });

  it('holds a launching instance in Pending:Wait under a launch hook, and applies its default result', async () => {
    const { clock, model, terminated } = group(1);
    model.putLifecycleHook({
      ...hook,
      name: 'warm-up',
      transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      notify: false,
    });
    model.setDesiredCapacity(2);
    await clock.run(100);
    const launched = [...model.instances.values()].find((instance) => instance.launchedAt > 0);
    expect(launched?.state).toBe('Pending:Wait');

    await clock.run(500); // past the 300 s heartbeat timeout: CONTINUE puts it in service
    expect(launched?.state).toBe('InService');
    expect(terminated).toEqual([]);
  });

  it('terminates a launching instance whose launch hook is abandoned', async () => {
    const { clock, model, terminated } = group(1);
    model.putLifecycleHook({
      ...hook,
      name: 'checks',
      transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      defaultResult: 'ABANDON',
      notify: false,
    });
    model.setDesiredCapacity(2);
    await clock.run(100);
    const launched = [...model.instances.values()].find((instance) => instance.launchedAt > 0);
    model.completeLifecycleAction({
      groupName: 'g',
      hookName: 'checks',
      result: 'ABANDON',
      instanceId: launched?.id,
    });
    await clock.run(200);

    expect(terminated).toContain(launched?.id);
  });

  it('replaces every instance in an instance refresh, never with fewer healthy instances than MinHealthyPercentage allows', async () => {
    const { clock, model } = group(4);
    model.startInstanceRefresh({ amiId: 'ami-new', minHealthyPercentage: 50, instanceWarmup: 30 });
    let lowestInService = 4;
    const watch = () => {
      const inService = [...model.instances.values()].filter((i) => i.state === 'InService').length;
      lowestInService = Math.min(lowestInService, inService);
      if (model.refresh?.status === 'InProgress') clock.after(1, watch);
    };
    watch();
    await clock.run(3600);

    expect(model.refresh?.status).toBe('Successful');
    expect([...model.instances.values()].map((i) => i.amiId)).toEqual([
      'ami-new',
      'ami-new',
      'ami-new',
      'ami-new',
    ]);
    expect(lowestInService).toBeGreaterThanOrEqual(2);
  });
});
