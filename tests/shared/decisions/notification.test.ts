import type { SQSEvent } from 'aws-lambda';
import { decideOnNotification } from '../../../shared/decisions/notification';
import { INSTANCE_ID, loadEvent, TOKEN, terminatingMessage, testConfig } from '../../helpers/events';

/** What Auto Scaling published, as the lifecycle queue delivers it (raw delivery: the body is the message). */
function messageOf(file: string): string {
  return loadEvent<SQSEvent>(file).Records[0]?.body ?? '';
}

function decide(changes: Record<string, unknown>) {
  return decideOnNotification(JSON.stringify({ ...terminatingMessage(), ...changes }), testConfig);
}

describe('decideOnNotification', () => {
  it('asks to drain a terminating instance on our hook, in the cluster named by the metadata', () => {
    const decision = decideOnNotification(messageOf('lifecycle-terminating.json'), testConfig);

    expect(decision).toEqual({
      kind: 'drain',
      request: {
        instanceId: INSTANCE_ID,
        autoScalingGroupName: 'prod-ecs-asg',
        lifecycleHookName: 'ecs-drain',
        lifecycleActionToken: TOKEN,
        cluster: 'prod',
        destination: 'EC2',
        sentAt: Date.parse('2026-01-10T11:58:43.904Z'),
      },
    });
  });

  it('leaves out the sending time when the message has none or an unreadable one, and still drains', () => {
    for (const Time of [undefined, 'yesterday']) {
      const decision = decide({ Time });

      expect(decision.kind).toBe('drain');
      expect(decision.kind === 'drain' && 'sentAt' in decision.request).toBe(false);
    }
  });

  it('falls back to the stack cluster when the hook has no metadata', () => {
    const decision = decide({ NotificationMetadata: undefined });

    expect(decision.kind === 'drain' && decision.request.cluster).toBe('prod');
  });

  it("drains into the cluster the metadata names, and into the group's own cluster when it names none", () => {
    expect(decide({ NotificationMetadata: '{"cluster":"prod"}' })).toMatchObject({
      kind: 'drain',
      request: { cluster: 'prod' },
    });
    expect(decide({ NotificationMetadata: undefined })).toMatchObject({
      kind: 'drain',
      request: { cluster: 'prod' },
    });
  });

  it('rejects a cluster the stack does not serve, naming it, without guessing another', () => {
    expect(decide({ NotificationMetadata: '{"cluster":"batch"}' })).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('cluster is not served by this stack (prod)'),
      field: 'NotificationMetadata.cluster',
      value: 'batch',
    });
  });

  it("serves several groups and clusters, and rejects a served cluster that is not the group's", () => {
    const config = {
      ...testConfig,
      clusters: ['prod', 'batch'],
      groups: [
        { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
        { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
      ],
    };
    const message = (changes: Record<string, unknown>) =>
      JSON.stringify({ ...JSON.parse(messageOf('lifecycle-terminating.json')), ...changes });
    expect(
      decideOnNotification(
        message({ AutoScalingGroupName: 'batch-asg', NotificationMetadata: undefined }),
        config,
      ),
    ).toMatchObject({ kind: 'drain', request: { cluster: 'batch', autoScalingGroupName: 'batch-asg' } });
    expect(
      decideOnNotification(
        message({ AutoScalingGroupName: 'batch-asg', NotificationMetadata: '{"cluster":"prod"}' }),
        config,
      ),
    ).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining('served for cluster batch, not prod'),
    });
  });

  it('drains an instance going into a warm pool the same way, remembering the destination', () => {
    const decision = decideOnNotification(messageOf('lifecycle-terminating-warm-pool.json'), testConfig);

    expect(decision.kind === 'drain' && decision.request.destination).toBe('WarmPool');
  });

  it('treats messages without Origin and Destination (older format) as going to EC2', () => {
    const decision = decide({ Origin: undefined, Destination: undefined });

    expect(decision.kind === 'drain' && decision.request.destination).toBe('EC2');
  });

  it('skips the test notification sent when the hook is created', () => {
    const decision = decideOnNotification(messageOf('lifecycle-test-notification.json'), testConfig);

    expect(decision).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('test notification') });
  });

  it('skips plain Auto Scaling notifications, which are not lifecycle actions', () => {
    const message = JSON.stringify({
      Event: 'autoscaling:EC2_INSTANCE_TERMINATE',
      EC2InstanceId: INSTANCE_ID,
    });

    expect(decideOnNotification(message, testConfig)).toMatchObject({ kind: 'ignore' });
  });

  it('skips launching lifecycle actions', () => {
    expect(decide({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' })).toMatchObject({
      kind: 'ignore',
    });
  });

  it.each([
    ['a foreign hook', { LifecycleHookName: 'ecs-managed-draining-termination-hook' }, 'LifecycleHookName'],
    ['a foreign Auto Scaling group', { AutoScalingGroupName: 'other-asg' }, 'AutoScalingGroupName'],
    [
      'an unknown transition',
      { LifecycleTransition: 'autoscaling:EC2_INSTANCE_REBOOTING' },
      'LifecycleTransition',
    ],
    ['a missing instance id', { EC2InstanceId: undefined }, 'EC2InstanceId'],
    ['an instance id that is not one', { EC2InstanceId: 'web-1' }, 'EC2InstanceId'],
    ['a truncated token', { LifecycleActionToken: '465e0162' }, 'LifecycleActionToken'],
    ['metadata that is not JSON', { NotificationMetadata: 'cluster=prod' }, 'NotificationMetadata'],
    ['metadata without a cluster', { NotificationMetadata: '{"team":"web"}' }, 'NotificationMetadata'],
  ])('rejects %s, naming the offending field', (_case, changes, field) => {
    expect(decide(changes)).toMatchObject({ kind: 'reject', field });
  });

  it.each([['not json at all'], ['[1,2]'], ['"a string"'], ['null']])(
    'rejects a Message that is %s',
    (text) => {
      expect(decideOnNotification(text, testConfig)).toMatchObject({ kind: 'reject', field: 'Message' });
    },
  );
});
