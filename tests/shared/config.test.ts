import { loadConfig } from '../../shared/config';

describe('loadConfig', () => {
  const complete = {
    CLUSTER_NAME: 'prod',
    AUTO_SCALING_GROUP_NAME: 'prod-ecs-asg',
    LIFECYCLE_HOOK_NAME: 'ecs-drain',
    HEARTBEAT_TIMEOUT: '1800',
  };

  it('reads the stack configuration', () => {
    expect(loadConfig(complete)).toEqual({
      clusterName: 'prod',
      autoScalingGroupName: 'prod-ecs-asg',
      lifecycleHookName: 'ecs-drain',
      heartbeatTimeoutSeconds: 1800,
    });
  });

  it('refuses a heartbeat timeout Auto Scaling would refuse', () => {
    expect(() => loadConfig({ ...complete, HEARTBEAT_TIMEOUT: '10' })).toThrow(/HEARTBEAT_TIMEOUT/);
    expect(() => loadConfig({ ...complete, HEARTBEAT_TIMEOUT: 'soon' })).toThrow(/HEARTBEAT_TIMEOUT/);
  });

  it('fails loudly, naming every missing or empty variable', () => {
    expect(() => loadConfig({ ...complete, CLUSTER_NAME: '', LIFECYCLE_HOOK_NAME: undefined })).toThrow(
      /CLUSTER_NAME, LIFECYCLE_HOOK_NAME/,
    );
  });
});
