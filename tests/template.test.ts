import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../shared/config';
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

  it('routes STOPPED tasks of this cluster only, through a rule, to the task event queue', () => {
    const rule = resources.TaskStoppedRule;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: [clusterArn], lastStatus: ['STOPPED'] },
    });
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': 'TaskEventQueue.Arn' },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': 'FailureQueue.Arn' } },
    });
  });

  it('lets only that rule send to the task event queue', () => {
    const policy = resources.TaskEventQueuePolicy;
    expect(policy.Type).toBe('AWS::SQS::QueuePolicy');
    expect(policy.Properties.Queues).toEqual([{ Ref: 'TaskEventQueue' }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': 'TaskEventQueue.Arn' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': 'TaskStoppedRule.Arn' } } },
      }),
    ]);
  });

  it('triggers the finish function from the queue in large batches, reporting failures per message', () => {
    const events = resources.FinishDrainFunction.Properties.Events;
    expect(Object.values(events)).toHaveLength(1);
    const [source] = Object.values(events) as { Type: string; Properties: Record<string, unknown> }[];
    expect(source?.Type).toBe('SQS');
    expect(source?.Properties).toMatchObject({
      Queue: { 'Fn::GetAtt': 'TaskEventQueue.Arn' },
      BatchSize: 10000,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Lambda accepts 2 to 1000 concurrent invocations per SQS mapping.
    const concurrency = (source?.Properties.ScalingConfig as { MaximumConcurrency: number })
      .MaximumConcurrency;
    expect(concurrency).toBeGreaterThanOrEqual(2);
    expect(concurrency).toBeLessThanOrEqual(1000);
  });

  it('hides a batch from other consumers for at least six times the finish function timeout', () => {
    const timeout = resources.FinishDrainFunction.Properties.Timeout ?? template.Globals.Function.Timeout;
    expect(typeof timeout).toBe('number');
    expect(resources.TaskEventQueue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('moves task events that failed five receives to the failure queue, and alarms on a stalled queue', () => {
    expect(resources.TaskEventQueue.Type).toBe('AWS::SQS::Queue');
    expect(resources.TaskEventQueue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': 'FailureQueue.Arn' },
      maxReceiveCount: 5,
    });
    const alarm = resources.TaskEventQueueAgeAlarm;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': 'TaskEventQueue.QueueName' } }],
    });
  });

  it('subscribes the lifecycle queue to the hook topic with raw delivery, undeliverable messages to the failure queue', () => {
    const subscription = resources.LifecycleQueueSubscription;
    expect(subscription.Type).toBe('AWS::SNS::Subscription');
    expect(subscription.Properties).toEqual({
      TopicArn: { Ref: 'HookTopic' },
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': 'LifecycleQueue.Arn' },
      // The body is Auto Scaling's JSON itself, as events/lifecycle-*.json show it.
      RawMessageDelivery: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': 'FailureQueue.Arn' } },
    });
    // SNS can send to the queue before the subscription delivers anything.
    expect([subscription.DependsOn].flat()).toContain('LifecycleQueuePolicy');
  });

  it('lets only the hook topic send to the lifecycle queue', () => {
    const policy = resources.LifecycleQueuePolicy;
    expect(policy.Type).toBe('AWS::SQS::QueuePolicy');
    expect(policy.Properties.Queues).toEqual([{ Ref: 'LifecycleQueue' }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': 'LifecycleQueue.Arn' },
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'HookTopic' } } },
      }),
    ]);
  });

  it('lets the hook topic put the messages it could not deliver into the failure queue', () => {
    const statements = resources.FailureQueuePolicy.Properties.PolicyDocument.Statement;
    expect(resources.FailureQueuePolicy.Properties.Queues).toEqual([{ Ref: 'FailureQueue' }]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': 'FailureQueue.Arn' },
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: 'HookTopic' } } },
      }),
    );
  });

  it('creates the hook only once the subscription exists, so no notification is lost', () => {
    expect([resources.DrainHook.DependsOn].flat()).toContain('LifecycleQueueSubscription');
  });

  it('triggers the start function from the lifecycle queue only, in batches, reporting failures per message', () => {
    const events = resources.StartDrainFunction.Properties.Events;
    expect(Object.keys(events)).toEqual(['LifecycleNotifications']);
    expect(events.LifecycleNotifications).toEqual({
      Type: 'SQS',
      Properties: {
        Queue: { 'Fn::GetAtt': 'LifecycleQueue.Arn' },
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    });
  });

  it('hides a batch from other consumers for at least six times the start function timeout', () => {
    const timeout = resources.StartDrainFunction.Properties.Timeout ?? template.Globals.Function.Timeout;
    expect(typeof timeout).toBe('number');
    expect(resources.LifecycleQueue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('moves notifications that failed five receives to the failure queue, and alarms on a stalled queue', () => {
    expect(resources.LifecycleQueue.Type).toBe('AWS::SQS::Queue');
    expect(resources.LifecycleQueue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': 'FailureQueue.Arn' },
      maxReceiveCount: 5,
    });
    const alarm = resources.LifecycleQueueAgeAlarm;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': 'LifecycleQueue.QueueName' } }],
    });
  });

  describe.each(['StartDrainFunction', 'FinishDrainFunction', 'ReconcileFunction'])(
    '%s IAM',
    (functionId) => {
      const statements = statementsOf(functionId);

      it('publishes alerts to the stack alert topic only', () => {
        const sns = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));
        expect(sns.map((s) => s.Resource)).toEqual([{ Ref: 'AlertTopic' }]);
      });

      it('names every action, never a wildcard', () => {
        for (const action of statements.flatMap(actionsOf))
          expect(action).toMatch(/^(ecs|autoscaling|sns):[A-Za-z]+$/);
        for (const statement of statements) expect(statement.Effect).toBe('Allow');
      });

      it('scopes lifecycle actions to this Auto Scaling group', () => {
        const lifecycle = statements.filter((s) =>
          actionsOf(s).some((a) => a.startsWith('autoscaling:') && !a.startsWith('autoscaling:Describe')),
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
          } else if (actionsOf(statement).includes('ecs:DescribeServices')) {
            expect(statement.Resource).toEqual({
              'Fn::Sub': clusterArn['Fn::Sub'].replace(':cluster/', ':service/') + '/*',
            });
          } else {
            expect(statement.Resource).toEqual(clusterArn);
          }
        }
      });

      it('uses Resource "*" without a condition only where AWS offers nothing narrower', () => {
        const unscoped = statements.filter((s) => s.Resource === '*' && s.Condition === undefined);
        expect(
          unscoped
            .flatMap(actionsOf)
            .every((a) =>
              ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups'].includes(
                a,
              ),
            ),
        ).toBe(true);
      });
    },
  );

  it('gives only the finish function the right to heartbeat: the start function never needs one', () => {
    const actions = (id: string) => statementsOf(id).flatMap(actionsOf);
    expect(actions('StartDrainFunction')).toContain('ecs:UpdateContainerInstancesState');
    expect(actions('StartDrainFunction')).not.toContain('autoscaling:RecordLifecycleActionHeartbeat');
    expect(actions('FinishDrainFunction')).toContain('autoscaling:RecordLifecycleActionHeartbeat');
  });

  it('lets the finish function drain too: its decision drains a container instance registered ACTIVE during a drain', () => {
    // decideHost answers `drain` on any path once it sees an ACTIVE container instance on a host our
    // action holds; the finish path does so when ListContainerInstances finds one (see
    // tests/functions/finish-drain.test.ts). Without the right, every such batch fails until it
    // reaches the failure queue, and the host is only let go at HeartbeatTimeout.
    const granting = statementsOf('FinishDrainFunction').filter((s) =>
      actionsOf(s).includes('ecs:UpdateContainerInstancesState'),
    );
    expect(granting).toHaveLength(1);
    // On container instances of this cluster only: the right to drain any cluster's hosts would be a hazard.
    expect(granting[0]).toMatchObject({
      Resource: '*',
      Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
    });
  });

  it.each(['StartDrainFunction', 'FinishDrainFunction'])(
    'lets %s record when a drain started (ecs:PutAttributes) on container instances of this cluster only',
    (functionId) => {
      // Both functions drain, and every drain first writes its start time: without the right, each
      // drain fails and its messages return until they reach the failure queue.
      const granting = statementsOf(functionId).filter((s) => actionsOf(s).includes('ecs:PutAttributes'));
      expect(granting).toHaveLength(1);
      expect(granting[0]).toMatchObject({
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': clusterArn } },
      });
    },
  );

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
      CLUSTER_NAMES: { Ref: 'ClusterName' },
      AUTO_SCALING_GROUPS: { 'Fn::Sub': '${ClusterName}:${AutoScalingGroupName}' },
      LIFECYCLE_HOOK_NAME: { Ref: 'LifecycleHookName' },
      HEARTBEAT_TIMEOUT: { Ref: 'HeartbeatTimeout' },
      DRAIN_DEADLINE: { Ref: 'DrainDeadline' },
      DEADLINE_ACTION: { Ref: 'DeadlineAction' },
      ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
      AWS_ENDPOINT_URL_ECS: '',
      AWS_ENDPOINT_URL_AUTO_SCALING: '',
      AWS_ENDPOINT_URL_SNS: '',
    });
    // Every variable the functions read is set by the template, and the defaults load.
    const defaults = Object.fromEntries(
      Object.entries(template.Parameters).map(([name, p]) => [
        name,
        String((p as { Default?: unknown }).Default ?? name),
      ]),
    );
    expect(() =>
      loadConfig({
        CLUSTER_NAMES: 'prod',
        AUTO_SCALING_GROUPS: 'prod:prod-ecs-asg',
        LIFECYCLE_HOOK_NAME: defaults.LifecycleHookName,
        HEARTBEAT_TIMEOUT: defaults.HeartbeatTimeout,
        DRAIN_DEADLINE: defaults.DrainDeadline,
        DEADLINE_ACTION: defaults.DeadlineAction,
        STANDALONE_TASKS: defaults.StandaloneTasks,
        STANDALONE_GRACE: defaults.StandaloneGrace,
        DAEMON_GRACE: defaults.DaemonGrace,
      }),
    ).not.toThrow();
    const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));
    for (const name of Object.keys(envFile.Parameters)) expect(Object.keys(variables)).toContain(name);
  });

  it('leaves retries to the queues, not to asynchronous invocation, and keeps logs for a set time', () => {
    // Both functions are invoked synchronously by their SQS mappings: EventInvokeConfig would not apply.
    expect(template.Globals.Function.EventInvokeConfig).toBeUndefined();
    for (const id of ['StartDrainFunction', 'FinishDrainFunction'])
      expect(resources[id].Properties.EventInvokeConfig).toBeUndefined();
    expect(resources.FailureQueue.Type).toBe('AWS::SQS::Queue');
    for (const id of ['StartDrainFunction', 'FinishDrainFunction']) {
      const logGroup = resources[id].Properties.LoggingConfig.LogGroup.Ref;
      expect(resources[logGroup].Properties.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' });
    }
  });
});
