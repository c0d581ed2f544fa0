import { decideLaunch, type LaunchObservation, type RegisteredView } from '../../../shared/decisions/launch';

const group = { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' };
const NOW = Date.parse('2026-12-03T10:00:00Z');
const TIMEOUT = 600;
const registration = (overrides: Partial<RegisteredView> = {}): RegisteredView => ({
  cluster: 'prod',
  arn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  status: 'ACTIVE',
  agentConnected: true,
  amiId: 'ami-0new0000000000002',
  ...overrides,
});
const observe = (overrides: Partial<LaunchObservation> = {}): LaunchObservation => ({
  instanceId: 'i-0123456789abcdef0',
  group,
  lifecycleState: 'Pending:Wait',
  registered: [registration()],
  now: NOW,
  ...overrides,
});

describe('decideLaunch', () => {
  it('lets an instance go into service once it is ACTIVE in its group cluster with the agent connected', () => {
    expect(decideLaunch(observe(), TIMEOUT)).toEqual({
      kind: 'continue',
      reason: 'ACTIVE in cluster prod with its agent connected',
      containerInstanceArn: registration().arn,
    });
  });

  it('checks the AMI its launch template version names, when both are known', () => {
    expect(decideLaunch(observe({ expectedAmiId: 'ami-0new0000000000002' }), TIMEOUT).kind).toBe('continue');
    expect(decideLaunch(observe({ expectedAmiId: 'ami-0other000000000003' }), TIMEOUT)).toEqual({
      kind: 'abandon',
      reason: 'runs ami-0new0000000000002, but its launch template version names ami-0other000000000003',
    });
    // An agent that reports no AMI is not held against the instance.
    const noAttribute = observe({ registered: [registration({ amiId: undefined })], expectedAmiId: 'ami-x' });
    expect(decideLaunch(noAttribute, TIMEOUT).kind).toBe('continue');
  });

  it('abandons an instance that registered in another cluster than its group feeds', () => {
    const decision = decideLaunch(observe({ registered: [registration({ cluster: 'batch' })] }), TIMEOUT);
    expect(decision.kind).toBe('abandon');
    expect(decision.reason).toMatch(/registered in cluster batch, but group prod-ecs-asg feeds cluster prod/);
  });

  it('waits while the agent is disconnected or not registered yet, and abandons at the timeout', () => {
    const disconnected = observe({ registered: [registration({ agentConnected: false })] });
    expect(decideLaunch(disconnected, TIMEOUT)).toEqual({
      kind: 'wait',
      reason: 'its ECS agent is disconnected',
    });
    expect(decideLaunch(observe({ registered: [] }), TIMEOUT)).toEqual({
      kind: 'wait',
      reason: 'the ECS agent has not registered the instance yet',
    });
    // Held since the notification: one second short of the timeout it still waits, at the timeout it is given up.
    const since = (seconds: number) => ({ waitingSince: NOW - seconds * 1000 });
    expect(decideLaunch({ ...disconnected, ...since(TIMEOUT - 1) }, TIMEOUT).kind).toBe('wait');
    expect(decideLaunch({ ...observe({ registered: [] }), ...since(TIMEOUT) }, TIMEOUT)).toEqual({
      kind: 'abandon',
      reason: 'not ready after 600 s: the ECS agent has not registered the instance yet',
    });
    // A ready instance is let in even late: the hook may still hold it.
    expect(decideLaunch(observe(since(TIMEOUT * 2)), TIMEOUT).kind).toBe('continue');
  });

  it('abandons a container instance that can never become ACTIVE, and waits on one DRAINING', () => {
    for (const status of ['REGISTRATION_FAILED', 'INACTIVE', 'DEREGISTERING'])
      expect(decideLaunch(observe({ registered: [registration({ status })] }), TIMEOUT).kind).toBe('abandon');
    expect(decideLaunch(observe({ registered: [registration({ status: 'DRAINING' })] }), TIMEOUT).kind).toBe(
      'wait',
    );
  });

  it('takes the usable registration when an agent registered twice', () => {
    const twice = [registration({ status: 'INACTIVE', arn: 'old' }), registration({ arn: 'new' })];
    expect(decideLaunch(observe({ registered: twice }), TIMEOUT)).toMatchObject({
      kind: 'continue',
      containerInstanceArn: 'new',
    });
  });

  it('lets an instance entering a warm pool go at once, and ignores instances our hook does not hold', () => {
    expect(
      decideLaunch(observe({ lifecycleState: 'Warmed:Pending:Wait', registered: [] }), TIMEOUT).kind,
    ).toBe('continue');
    for (const lifecycleState of ['InService', 'Terminating:Wait', undefined])
      expect(decideLaunch(observe({ lifecycleState }), TIMEOUT).kind).toBe('ignore');
    expect(decideLaunch(observe({ group: undefined }), TIMEOUT)).toEqual({
      kind: 'ignore',
      reason: 'not in a served Auto Scaling group',
    });
  });
});
