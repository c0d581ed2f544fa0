import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTemplate } from '../sim/template';

const root = join(__dirname, '..');
const template = readTemplate();
const resources = template.Resources;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(functionId: string): Statement[] {
  return resources[functionId].Properties.Policies.flatMap(
    (policy: { Statement: Statement[] }) => policy.Statement,
  );
}

const actionsOf = (statement: Statement) => [statement.Action].flat();
// CloudFormation substitutions, not JavaScript templates.
const clusterArn = {
  'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}',
};
const groupArn = {
  'Fn::Sub':
    'arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${AutoScalingGroupName}',
};

describe('template.yaml', () => {
  it('is a SAM template with the parameters users set', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(Object.keys(template.Parameters)).toEqual(
      expect.arrayContaining([
        'ClusterName',
        'AutoScalingGroupName',
        'LifecycleHookName',
        'HeartbeatTimeout',
      ]),
    );
    expect(template.Parameters.LifecycleHookName.Default).toBe('ecs-drain');
    const heartbeat = template.Parameters.HeartbeatTimeout;
    expect(heartbeat.MinValue).toBe(30);
    expect(heartbeat.MaxValue).toBe(7200);
    expect(heartbeat.Default).toBeGreaterThanOrEqual(30);
    expect(heartbeat.Default).toBeLessThanOrEqual(7200);
  });

  it('creates a terminating hook with DefaultResult CONTINUE that publishes to the stack topic', () => {
    const hook = resources.DrainHook;
    expect(hook.Type).toBe('AWS::AutoScaling::LifecycleHook');
    expect(hook.Properties).toMatchObject({
      AutoScalingGroupName: { Ref: 'AutoScalingGroupName' },
      LifecycleHookName: { Ref: 'LifecycleHookName' },
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
      HeartbeatTimeout: { Ref: 'HeartbeatTimeout' },
      NotificationTargetARN: { Ref: 'HookTopic' },
      RoleARN: { 'Fn::GetAtt': 'HookPublishRole.Arn' },
    });
  });

  it('lets Auto Scaling publish to the hook topic and nowhere else', () => {
    const role = resources.HookPublishRole.Properties;
    expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'autoscaling.amazonaws.com',
    });
    const statements: Statement[] = role.Policies.flatMap(
      (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
    );
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: 'HookTopic' } }]);
  });

  it('triggers the finish function on STOPPED tasks of this cluster only', () => {
    const events = resources.FinishDrainFunction.Properties.Events;
    expect(Object.values(events)).toHaveLength(1);
    const rule = events.TaskStopped;
    expect(rule.Type).toBe('EventBridgeRule');
    expect(rule.Properties.Pattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [clusterArn], lastStatus: ['STOPPED'] },
    });
  });

  it('triggers the start function from the hook topic', () => {
    const events = resources.StartDrainFunction.Properties.Events;
    expect(events.LifecycleNotification).toMatchObject({
      Type: 'SNS',
      Properties: { Topic: { Ref: 'HookTopic' } },
    });
  });

  describe.each(['StartDrainFunction', 'FinishDrainFunction'])('%s IAM', (functionId) => {
    const statements = statementsOf(functionId);

    it('names every action, never a wildcard', () => {
      for (const action of statements.flatMap(actionsOf))
        expect(action).toMatch(/^(ecs|autoscaling):[A-Za-z]+$/);
      for (const statement of statements) expect(statement.Effect).toBe('Allow');
    });

    it('scopes lifecycle actions to this Auto Scaling group', () => {
      const lifecycle = statements.filter((s) =>
        actionsOf(s).some(
          (a) => a.startsWith('autoscaling:') && a !== 'autoscaling:DescribeAutoScalingInstances',
        ),
      );
      expect(lifecycle.length).toBeGreaterThan(0);
      for (const statement of lifecycle) expect(statement.Resource).toEqual(groupArn);
    });

    it('scopes every ECS action to this cluster, by resource or by the ecs:cluster condition', () => {
      const ecsStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ecs:')));
      expect(ecsStatements.length).toBeGreaterThan(0);
      for (const statement of ecsStatements) {
        if (statement.Resource === '*') {
          expect(statement.Condition).toEqual({ ArnEquals: { 'ecs:cluster': clusterArn } });
        } else {
          expect(statement.Resource).toEqual(clusterArn);
        }
      }
    });

    it('uses Resource "*" without a condition only where AWS offers nothing narrower', () => {
      const unscoped = statements.filter((s) => s.Resource === '*' && s.Condition === undefined);
      expect(unscoped.flatMap(actionsOf).every((a) => a === 'autoscaling:DescribeAutoScalingInstances')).toBe(
        true,
      );
    });
  });

  it('gives only the start function the right to drain, and only the finish function heartbeats', () => {
    const actions = (id: string) => statementsOf(id).flatMap(actionsOf);
    expect(actions('StartDrainFunction')).toContain('ecs:UpdateContainerInstancesState');
    expect(actions('FinishDrainFunction')).not.toContain('ecs:UpdateContainerInstancesState');
    expect(actions('FinishDrainFunction')).toContain('autoscaling:RecordLifecycleActionHeartbeat');
  });

  it('builds each function with esbuild from an entry point that exists', () => {
    for (const id of ['StartDrainFunction', 'FinishDrainFunction']) {
      const { Metadata, Properties } = resources[id];
      expect(Metadata.BuildMethod).toBe('esbuild');
      for (const entry of Metadata.BuildProperties.EntryPoints)
        expect(existsSync(join(root, entry))).toBe(true);
      expect(Properties.Handler).toBe('handler.handler');
    }
    expect(template.Globals.Function).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  });

  it('declares the variables sam local invoke --env-vars may override, endpoints empty by default', () => {
    const variables = template.Globals.Function.Environment.Variables;
    expect(variables).toMatchObject({
      CLUSTER_NAME: { Ref: 'ClusterName' },
      AUTO_SCALING_GROUP_NAME: { Ref: 'AutoScalingGroupName' },
      LIFECYCLE_HOOK_NAME: { Ref: 'LifecycleHookName' },
      HEARTBEAT_TIMEOUT: { Ref: 'HeartbeatTimeout' },
      AWS_ENDPOINT_URL_ECS: '',
      AWS_ENDPOINT_URL_AUTO_SCALING: '',
    });
    const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));
    for (const name of Object.keys(envFile.Parameters)) expect(Object.keys(variables)).toContain(name);
  });

  it('sends events that failed all retries to the failure queue, and keeps logs for a set time', () => {
    expect(template.Globals.Function.EventInvokeConfig).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Type: 'SQS', Destination: { 'Fn::GetAtt': 'FailureQueue.Arn' } } },
    });
    expect(resources.FailureQueue.Type).toBe('AWS::SQS::Queue');
    for (const id of ['StartDrainFunction', 'FinishDrainFunction']) {
      const logGroup = resources[id].Properties.LoggingConfig.LogGroup.Ref;
      expect(resources[logGroup].Properties.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' });
    }
  });
});
