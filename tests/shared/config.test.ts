import { globalTimeoutSeconds, loadConfig, servedGroup } from '../../shared/config';

describe('loadConfig', () => {
  const complete = {
    CLUSTER_NAMES: 'prod, batch',
    AUTO_SCALING_GROUPS: 'prod:prod-ecs-asg,prod:prod-spot-asg,batch:batch-asg',
    LIFECYCLE_HOOK_NAME: 'ecs-drain',
    HEARTBEAT_TIMEOUT: '1800',
  };

  it('reads every served cluster and group, with the defaults of template.yaml for the drain policy', () => {
    expect(loadConfig(complete)).toEqual({
      clusters: ['prod', 'batch'],
      groups: [
        { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
        { autoScalingGroupName: 'prod-spot-asg', cluster: 'prod' },
        { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
      ],
      lifecycleHookName: 'ecs-drain',
      heartbeatTimeoutSeconds: 1800,
      drainDeadlineSeconds: 3600,
      deadlineAction: 'continue',
      standaloneTasks: 'wait',
      standaloneGraceSeconds: 600,
      daemonGraceSeconds: 120,
      ecsReadsPerSecond: 10,
      launchTimeoutSeconds: 600,
    });
  });

  it('reads launch readiness: off unless enabled, and then its hook must be named', () => {
    expect(loadConfig(complete).launchHookName).toBeUndefined();
    const enabled = { ...complete, LAUNCH_READINESS: 'enabled', LAUNCH_HOOK_NAME: 'ecs-drain-launch' };
    expect(loadConfig({ ...enabled, LAUNCH_TIMEOUT: '900' })).toMatchObject({
      launchHookName: 'ecs-drain-launch',
      launchTimeoutSeconds: 900,
    });
    expect(loadConfig({ ...complete, LAUNCH_HOOK_NAME: 'ecs-drain-launch' }).launchHookName).toBeUndefined();
    expect(() => loadConfig({ ...enabled, LAUNCH_HOOK_NAME: '' })).toThrow(/LAUNCH_HOOK_NAME/);
    expect(() => loadConfig({ ...enabled, LAUNCH_TIMEOUT: '10' })).toThrow(/LAUNCH_TIMEOUT/);
  });

  it('reads the share of the ECS read bucket, which cannot exceed the bucket refill of 20 per second', () => {
    expect(loadConfig({ ...complete, ECS_READS_PER_SECOND: '15' }).ecsReadsPerSecond).toBe(15);
    expect(() => loadConfig({ ...complete, ECS_READS_PER_SECOND: '40' })).toThrow(/ECS_READS_PER_SECOND/);
    expect(() => loadConfig({ ...complete, ECS_READS_PER_SECOND: '0' })).toThrow(/ECS_READS_PER_SECOND/);
  });

  it('reads the drain policy and the alert topic', () => {
    const config = loadConfig({
      ...complete,
      DRAIN_DEADLINE: '7200',
      DEADLINE_ACTION: 'stop-tasks',
      STANDALONE_TASKS: 'stop',
      STANDALONE_GRACE: '300',
      DAEMON_GRACE: '60',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts',
    });
    expect(config).toMatchObject({
      drainDeadlineSeconds: 7200,
      deadlineAction: 'stop-tasks',
      standaloneTasks: 'stop',
      standaloneGraceSeconds: 300,
      daemonGraceSeconds: 60,
      alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
    });
    expect(loadConfig({ ...complete, ALERT_TOPIC_ARN: '' }).alertTopicArn).toBeUndefined();
  });

  it('caps a deadline beyond the hook global timeout, min(48 h, 100 x HeartbeatTimeout), and says what was asked', () => {
    expect(globalTimeoutSeconds(1800)).toBe(172800);
    expect(globalTimeoutSeconds(60)).toBe(6000);
    // Refusing to start would stop every drain of a stack deployed with a short HeartbeatTimeout.
    expect(loadConfig({ ...complete, HEARTBEAT_TIMEOUT: '30' })).toMatchObject({
      drainDeadlineSeconds: 3000,
      drainDeadlineRequested: 3600,
    });
    const within = loadConfig({ ...complete, HEARTBEAT_TIMEOUT: '60', DRAIN_DEADLINE: '6000' });
    expect(within.drainDeadlineSeconds).toBe(6000);
    expect(within).not.toHaveProperty('drainDeadlineRequested');
  });

  it('refuses a deadline action or standalone policy it does not know', () => {
    expect(() => loadConfig({ ...complete, DEADLINE_ACTION: 'terminate' })).toThrow(/DEADLINE_ACTION/);
    expect(() => loadConfig({ ...complete, STANDALONE_TASKS: 'kill' })).toThrow(/STANDALONE_TASKS/);
  });

  it('refuses a group whose cluster is not served, or a pair without a cluster', () => {
    expect(() => loadConfig({ ...complete, AUTO_SCALING_GROUPS: 'staging:staging-asg' })).toThrow(
      /group staging-asg names cluster staging, which is not in CLUSTER_NAMES/,
    );
    expect(() => loadConfig({ ...complete, AUTO_SCALING_GROUPS: 'prod-ecs-asg' })).toThrow(/cluster:group/);
  });

  it('refuses a heartbeat timeout Auto Scaling would refuse', () => {
    expect(() => loadConfig({ ...complete, HEARTBEAT_TIMEOUT: '10' })).toThrow(/HEARTBEAT_TIMEOUT/);
    expect(() => loadConfig({ ...complete, HEARTBEAT_TIMEOUT: 'soon' })).toThrow(/HEARTBEAT_TIMEOUT/);
  });

  it('fails loudly, naming every missing or empty variable', () => {
    expect(() => loadConfig({ ...complete, CLUSTER_NAMES: '', LIFECYCLE_HOOK_NAME: undefined })).toThrow(
      /CLUSTER_NAMES.*LIFECYCLE_HOOK_NAME/,
    );
  });
});

describe('servedGroup', () => {
  const groups = [
    { autoScalingGroupName: 'web', cluster: 'prod' },
    { autoScalingGroupName: 'jobs', cluster: 'batch' },
  ];
  it('finds a group by name, and only for its own cluster when one is given (name or ARN)', () => {
    expect(servedGroup(groups, 'jobs')?.cluster).toBe('batch');
    expect(servedGroup(groups, 'jobs', 'arn:aws:ecs:us-east-1:123456789012:cluster/batch')).toBeDefined();
    expect(servedGroup(groups, 'jobs', 'prod')).toBeUndefined();
    expect(servedGroup(groups, 'other')).toBeUndefined();
  });
});
