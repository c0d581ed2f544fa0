import type { Deployment, Service, TaskDefinition } from '@aws-sdk/client-ecs';
import { deployState, registrationFor } from '../../scripts/ecs-drain/commands/deploy-decision';

const ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/';

const described: TaskDefinition = {
  taskDefinitionArn: `${ARN}web:4`,
  family: 'web',
  revision: 4,
  status: 'ACTIVE',
  containerDefinitions: [
    { name: 'app', image: 'example/web:4', memory: 512, essential: true },
    { name: 'log-router', image: 'fluent-bit:1', memory: 64, essential: false },
  ],
  cpu: '256',
  memory: '1024',
  networkMode: 'bridge',
  requiresCompatibilities: ['EC2'],
  compatibilities: ['EC2', 'EXTERNAL'],
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' }],
  registeredAt: new Date(0),
  registeredBy: 'arn:aws:iam::123456789012:root',
  taskRoleArn: 'arn:aws:iam::123456789012:role/web',
};

describe('deploy: the RegisterTaskDefinition input built from the described revision', () => {
  it('replaces the named container image, keeps every other field and the tags, drops the read-only ones', () => {
    const tags = [{ key: 'team', value: 'shop' }];
    const registration = registrationFor(described, tags, 'example/web:5', 'app');
    expect(registration).toEqual({
      ok: true,
      container: 'app',
      input: {
        family: 'web',
        containerDefinitions: [
          { name: 'app', image: 'example/web:5', memory: 512, essential: true },
          { name: 'log-router', image: 'fluent-bit:1', memory: 64, essential: false },
        ],
        cpu: '256',
        memory: '1024',
        networkMode: 'bridge',
        requiresCompatibilities: ['EC2'],
        taskRoleArn: 'arn:aws:iam::123456789012:role/web',
        tags,
      },
    });
    // The described definition is left as it was.
    expect(described.containerDefinitions?.[0]?.image).toBe('example/web:4');
  });

  it('takes the only container without --container', () => {
    const single = { ...described, containerDefinitions: described.containerDefinitions?.slice(0, 1) };
    expect(registrationFor(single, undefined, 'x:1', undefined)).toMatchObject({
      ok: true,
      container: 'app',
      input: { containerDefinitions: [{ name: 'app', image: 'x:1' }] },
    });
  });

  it.each([
    [undefined, 'web has 2 containers ("app", "log-router"): name one with --container'],
    ['db', 'web has no container "db" (it has "app", "log-router")'],
  ])('--container %s among several: refused, naming the containers', (container, reason) => {
    expect(registrationFor(described, undefined, 'x:1', container)).toEqual({ ok: false, reason });
  });
});

function service(deployments: Deployment[], taskDefinition = deployments[0]?.taskDefinition): Service {
  return { serviceName: 'web', desiredCount: 4, taskDefinition, deployments };
}

describe('deploy: the outcome read from DescribeServices', () => {
  const ours = `${ARN}web:5`;
  const old = `${ARN}web:4`;

  it('in progress: how many of ours run, of how many, and how many failed', () => {
    const state = deployState(
      service([
        {
          status: 'PRIMARY',
          taskDefinition: ours,
          rolloutState: 'IN_PROGRESS',
          runningCount: 2,
          desiredCount: 4,
          failedTasks: 1,
        },
        { status: 'ACTIVE', taskDefinition: old, rolloutState: 'COMPLETED', runningCount: 4 },
      ]),
      ours,
    );
    expect(state).toEqual({ finished: false, running: 2, desired: 4, failed: 1 });
  });

  it('COMPLETED: ours serves', () => {
    expect(
      deployState(service([{ status: 'PRIMARY', taskDefinition: ours, rolloutState: 'COMPLETED' }]), ours),
    ).toMatchObject({ finished: true, outcome: 'completed', serving: 'web:5' });
  });

  it('FAILED with a rollback under way: rolled back, the revision rolled back to serves', () => {
    expect(
      deployState(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: old,
            rolloutState: 'IN_PROGRESS',
            rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
          },
          {
            status: 'ACTIVE',
            taskDefinition: ours,
            rolloutState: 'FAILED',
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          },
          { status: 'ACTIVE', taskDefinition: old, rolloutState: 'COMPLETED', runningCount: 4 },
        ]),
        ours,
      ),
    ).toEqual({
      finished: true,
      outcome: 'rolled-back',
      serving: 'web:4',
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
  });

  it('FAILED without rollback: failed, the older tasks serve', () => {
    expect(
      deployState(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: ours,
            rolloutState: 'FAILED',
            rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          },
          { status: 'ACTIVE', taskDefinition: old, rolloutState: 'COMPLETED', runningCount: 4 },
        ]),
        ours,
      ),
    ).toMatchObject({ finished: true, outcome: 'failed', serving: 'web:4' });
  });

  it('ours gone after a rollback that already completed: rolled back', () => {
    expect(
      deployState(
        service([
          {
            status: 'PRIMARY',
            taskDefinition: old,
            rolloutState: 'COMPLETED',
            rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
          },
        ]),
        ours,
      ),
    ).toMatchObject({ finished: true, outcome: 'rolled-back', serving: 'web:4' });
  });

  it('ours gone, the rollback completed and its reason replaced: the service events name our failed deployment', () => {
    const answer = {
      ...service([
        {
          status: 'PRIMARY',
          taskDefinition: old,
          rolloutState: 'COMPLETED',
          rolloutStateReason: 'ECS deployment ecs-svc/2 completed.',
        },
      ]),
      events: [
        { message: '(service web) has reached a steady state.' },
        { message: '(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start.' },
      ],
    };
    expect(deployState(answer, ours, 'ecs-svc/1')).toMatchObject({
      outcome: 'rolled-back',
      serving: 'web:4',
    });
    expect(deployState(answer, ours, 'ecs-svc/9')).toMatchObject({ outcome: 'failed' });
  });

  it("ours replaced by someone else's deployment: failed, naming it", () => {
    expect(
      deployState(
        service([
          { status: 'PRIMARY', taskDefinition: `${ARN}web:6`, rolloutState: 'IN_PROGRESS' },
          { status: 'ACTIVE', taskDefinition: ours, rolloutState: 'IN_PROGRESS' },
        ]),
        ours,
      ),
    ).toMatchObject({ finished: true, outcome: 'failed', reason: 'another deployment (web:6) replaced it' });
  });
});
