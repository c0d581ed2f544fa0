import type { ControllerConfig } from '../../../shared/config';
import { DRAIN_POLICY_DEFAULTS } from '../../../shared/config';
import { decideOnLaunchMessage } from '../../../shared/decisions/launch-message';
import { loadEvent } from '../../helpers/events';

const config: ControllerConfig = {
  ...DRAIN_POLICY_DEFAULTS,
  clusters: ['prod', 'batch'],
  groups: [
    { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
    { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
  ],
  lifecycleHookName: 'ecs-drain',
  heartbeatTimeoutSeconds: 1800,
  launchHookName: 'ecs-drain-launch',
};
const NOW = Date.parse('2026-12-03T10:00:30Z');

const launching = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    Origin: 'EC2',
    LifecycleHookName: 'ecs-drain-launch',
    Destination: 'AutoScalingGroup',
    AccountId: '123456789012',
    RequestId: 'f02639a5-62b9-0772-d50e-09647ae07b49',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    AutoScalingGroupName: 'prod-ecs-asg',
    Service: 'AWS Auto Scaling',
    Time: '2026-12-03T10:00:00.000Z',
    EC2InstanceId: 'i-0123456789abcdef0',
    NotificationMetadata: '{"cluster":"prod"}',
    LifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790',
    ...overrides,
  });

const registered = (detail: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: '0',
    id: '8952ba83-7be2-4ab5-9c32-6687532d15a2',
    'detail-type': 'ECS Container Instance State Change',
    source: 'aws.ecs',
    account: '123456789012',
    time: '2026-12-03T10:00:20Z',
    region: 'us-east-1',
    resources: [
      'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/b54a2a04046f43319d743f6d7f6ca315',
    ],
    detail: {
      agentConnected: true,
      attributes: [{ name: 'ecs.ami-id', value: 'ami-0new0000000000002' }],
      clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
      containerInstanceArn:
        'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/b54a2a04046f43319d743f6d7f6ca315',
      ec2InstanceId: 'i-0123456789abcdef0',
      registeredAt: '2026-12-03T10:00:19.000Z',
      status: 'ACTIVE',
      version: 2,
      ...detail,
    },
  });

describe('decideOnLaunchMessage', () => {
  it('looks at the instance a launch notification of our launch hook names, held since it was sent', () => {
    expect(decideOnLaunchMessage(launching(), config, NOW)).toEqual({
      kind: 'look',
      candidate: {
        instanceId: 'i-0123456789abcdef0',
        lifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790',
        waitingSince: Date.parse('2026-12-03T10:00:00.000Z'),
      },
    });
    // Also inside SNS's envelope, should raw delivery be turned off.
    const enveloped = JSON.stringify({ Type: 'Notification', Message: launching() });
    expect(decideOnLaunchMessage(enveloped, config, NOW).kind).toBe('look');
  });

  it('looks at an instance ECS says is ACTIVE with its agent connected, with what ECS said', () => {
    expect(decideOnLaunchMessage(registered(), config, NOW)).toEqual({
      kind: 'look',
      candidate: {
        instanceId: 'i-0123456789abcdef0',
        seen: {
          cluster: 'prod',
          arn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/b54a2a04046f43319d743f6d7f6ca315',
          status: 'ACTIVE',
          agentConnected: true,
          amiId: 'ami-0new0000000000002',
        },
      },
    });
  });

  it('skips, without a call, events that cannot mean a new instance is ready', () => {
    const skipped = [
      registered({ agentConnected: false }),
      registered({ status: 'DRAINING' }),
      // Registered long ago: an instance in service whose tasks changed.
      registered({ registeredAt: '2026-12-02T10:00:00.000Z' }),
      registered({ clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/other' }),
      launching({
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        LifecycleHookName: 'ecs-drain',
      }),
      JSON.stringify({ Event: 'autoscaling:TEST_NOTIFICATION', AutoScalingGroupName: 'prod-ecs-asg' }),
    ];
    for (const body of skipped) expect(decideOnLaunchMessage(body, config, NOW).kind).toBe('ignore');
  });

  it('rejects, naming the field, what can never be answered: another hook, another group, bad metadata, malformed bodies', () => {
    const cases: [string, string][] = [
      [launching({ LifecycleHookName: 'someone-else' }), 'LifecycleHookName'],
      [launching({ AutoScalingGroupName: 'unknown-asg' }), 'AutoScalingGroupName'],
      [launching({ NotificationMetadata: '{"cluster":"batch"}' }), 'NotificationMetadata'],
      [launching({ NotificationMetadata: 'prod' }), 'NotificationMetadata'],
      [launching({ EC2InstanceId: 'not-an-instance' }), 'EC2InstanceId'],
      [launching({ LifecycleActionToken: 'short' }), 'LifecycleActionToken'],
      [registered({ ec2InstanceId: 'x' }), 'detail.ec2InstanceId'],
      [registered({ agentConnected: 'yes' }), 'detail.agentConnected'],
      ['not json', 'body'],
      ['[]', 'body'],
    ];
    for (const [body, field] of cases)
      expect(decideOnLaunchMessage(body, config, NOW)).toMatchObject({ kind: 'reject', field });
  });

  it('rejects launch notifications when launch readiness is off: their actions are nobody else’s to answer', () => {
    const off = { ...config, launchHookName: undefined };
    expect(decideOnLaunchMessage(launching(), off, NOW)).toMatchObject({
      kind: 'reject',
      reason: expect.stringMatching(/launch readiness is off/),
    });
  });

  it('reads the sample events of events/ for sam local invoke', () => {
    const records = (name: string) =>
      loadEvent<{ Records: { body: string }[] }>(name).Records.map((record) =>
        decideOnLaunchMessage(record.body, config, Date.parse('2026-01-10T12:00:00Z')),
      );
    expect(records('launch-ready.json').map((decision) => decision.kind)).toEqual(['look', 'look']);
  });
});
