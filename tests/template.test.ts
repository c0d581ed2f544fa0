import { AUTO_SCALING_SHARES, ECS_READ_SHARES } from '../shared/aws/pacer';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ControllerEnvironment,
  DEADLINE_ACTIONS,
  globalTimeoutSeconds,
  loadConfig,
  STANDALONE_TASK_POLICIES,
} from '../shared/config';
import { BLUE_GREEN_DEFAULTS, BLUE_GREEN_TAG } from '../shared/decisions/blue-green';
import { REFRESH_DEFAULTS } from '../shared/decisions/refresh-plan';
import { ROLLOUT_STRATEGIES } from '../shared/decisions/rollout-strategy';
import { WatchAmiInput } from '../shared/events/watch-ami-input';
import type { DrainMetric } from '../shared/observability';
import { AMI_VARIANTS, amiParameterNames } from '../shared/rollout/ami-variants';
import { loadWatcherConfig } from '../shared/rollout/config';
import {
  readTemplate,
  reconcileSchedule,
  resolveIntrinsics,
  type StackValues,
  taskStoppedPattern,
} from '../sim/template';

const root = join(__dirname, '..');
const template = readTemplate();
const resources = template.Resources;
const FUNCTIONS = [
  'StartDrainFunction',
  'FinishDrainFunction',
  'ReconcileFunction',
  'LaunchReadinessFunction',
];

// A stack serving two clusters and three groups.
const PAIRS = ['prod:prod-ecs-asg', 'prod:prod-spot-asg', 'batch:batch-asg'];
const ALERT_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ecs-drain-AlertTopic-1';
const STACK: StackValues = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
  ClusterNames: ['prod', 'batch'],
  AutoScalingGroups: PAIRS,
  AlertTopic: ALERT_TOPIC,
};
const clusterArnPatterns = ['arn:*:ecs:*:*:cluster/prod', 'arn:*:ecs:*:*:cluster/batch'];
const servicePatterns = ['arn:*:ecs:*:*:service/prod/*', 'arn:*:ecs:*:*:service/batch/*'];
const groupArn = (group: string) =>
  `arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:*:autoScalingGroupName/${group}`;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- template fragments are untyped data
type Fragment = any;

/**
 * What AWS::LanguageExtensions makes of Fn::ForEach::ServedGroups for these pairs: the fragment once per
 * pair, `&{Pair}` replaced by the pair's letters and digits, `${Pair}` and `Ref: Pair` by the pair.
 */
function expandServedGroups(pairs: string[]): Record<string, Fragment> {
  const [identifier, collection, fragment] = resources['Fn::ForEach::ServedGroups'];
  expect(collection).toEqual({ Ref: 'AutoScalingGroups' });
  const expanded: Record<string, Fragment> = {};
  for (const pair of pairs) {
    const alphanumeric = pair.replace(/[^A-Za-z0-9]/g, '');
    const substitute = (node: unknown): unknown => {
      if (typeof node === 'string')
        return node.replaceAll(`&{${identifier}}`, alphanumeric).replaceAll(`\${${identifier}}`, pair);
      if (Array.isArray(node)) return node.map(substitute);
      if (typeof node !== 'object' || node === null) return node;
      if ((node as { Ref?: unknown }).Ref === identifier) return pair;
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, substitute(value)]));
    };
    for (const [key, value] of Object.entries(fragment)) {
      const id = key.replaceAll(`&{${identifier}}`, alphanumeric);
      expect(expanded[id]).toBeUndefined();
      expanded[id] = substitute(value);
    }
  }
  return expanded;
}

const ofType = (all: Record<string, Fragment>, type: string) =>
  Object.values(all).filter((resource) => resource?.Type === type);

/** Every statement granted to a function's role: its own Policies and the policies attached to its role. */
function statementsOf(functionId: string, pairs = PAIRS): Statement[] {
  const own: Statement[] = resources[functionId].Properties.Policies.flatMap(
    (policy: { Statement: Statement[] }) => policy.Statement,
  );
  const attached = ofType({ ...resources, ...expandServedGroups(pairs) }, 'AWS::IAM::Policy')
    .filter((policy) =>
      policy.Properties.Roles.some((role: Fragment) => roleRef(role) === `${functionId}Role`),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  return [...own, ...attached].map((statement) => resolveIntrinsics(statement, STACK) as Statement);
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

/** The role a policy names, with every condition true (launch readiness is on by default). */
function roleRef(role: Fragment): string | undefined {
  if (role['Fn::If'] !== undefined) return roleRef(role['Fn::If'][1]);
  return role.Ref;
}

describe('template.yaml', () => {
  it('is a SAM template with the language extensions, expanded first', () => {
    expect(template.Transform).toEqual(['AWS::LanguageExtensions', 'AWS::Serverless-2016-10-31']);
  });

  it('takes lists of clusters and of cluster:group pairs', () => {
    const { ClusterNames, AutoScalingGroups } = template.Parameters;
    expect(template.Parameters.ClusterName).toBeUndefined();
    expect(template.Parameters.AutoScalingGroupName).toBeUndefined();
    expect(ClusterNames).toMatchObject({ Type: 'CommaDelimitedList' });
    expect(AutoScalingGroups).toMatchObject({ Type: 'CommaDelimitedList' });
    // CloudFormation checks each item of a list against AllowedPattern (anchored).
    const item = (parameter: { AllowedPattern: string }) => new RegExp(`^(?:${parameter.AllowedPattern})$`);
    for (const name of ['prod', 'batch-2', 'a_b']) expect(name).toMatch(item(ClusterNames));
    for (const name of ['', 'a b', 'arn:aws:ecs:x']) expect(name).not.toMatch(item(ClusterNames));
    for (const pair of PAIRS) expect(pair).toMatch(item(AutoScalingGroups));
    for (const pair of ['prod', 'prod:', ':group', 'prod:a:b'])
      expect(pair).not.toMatch(item(AutoScalingGroups));
    expect(AutoScalingGroups.Description).toMatch(/colon/);
    expect(AutoScalingGroups.Description).toMatch(/comma/);
  });

  it('asserts before deployment that neither list is empty', () => {
    const assertions = Object.values(template.Rules).flatMap(
      (rule) => (rule as { Assertions: { Assert: unknown }[] }).Assertions,
    );
    for (const list of ['ClusterNames', 'AutoScalingGroups'])
      expect(assertions.map((assertion) => assertion.Assert)).toContainEqual({
        'Fn::Not': [{ 'Fn::Contains': [{ Ref: list }, ''] }],
      });
  });

  it('offers the drain policy with the defaults and values the code knows', () => {
    const parameters = template.Parameters;
    expect(parameters.LifecycleHookName.Default).toBe('ecs-drain');
    // Auto Scaling allows 30; below 300 a drain can lose its action between two of its task events.
    expect(parameters.HeartbeatTimeout).toMatchObject({ MinValue: 300, MaxValue: 7200 });
    expect(parameters.DrainDeadline).toMatchObject({
      Type: 'Number',
      Default: 3600,
      MinValue: 60,
      MaxValue: 172800,
    });
    expect(parameters.DrainDeadline.Description).toMatch(/min\(48 hours, 100 x HeartbeatTimeout\)/);
    expect(parameters.DeadlineAction).toMatchObject({
      Default: 'continue',
      AllowedValues: [...DEADLINE_ACTIONS],
    });
    expect(parameters.StandaloneTasks).toMatchObject({
      Default: 'wait',
      AllowedValues: [...STANDALONE_TASK_POLICIES],
    });
    expect(parameters.StandaloneGrace).toMatchObject({ Type: 'Number', Default: 600 });
    expect(parameters.DaemonGrace).toMatchObject({ Type: 'Number', Default: 120 });
    expect(parameters.ReconcileSchedule).toMatchObject({ Type: 'String', Default: 'rate(1 minute)' });
    expect(parameters.AlertEmail).toMatchObject({ Type: 'String', Default: '' });
    // The defaults deploy: the deadline is within the hook's global timeout.
    expect(parameters.DrainDeadline.Default).toBeLessThanOrEqual(
      globalTimeoutSeconds(parameters.HeartbeatTimeout.Default),
    );
  });

  describe('every function gets the configuration contract of shared/config.ts', () => {
    const contract = Object.keys(ControllerEnvironment.shape);
    const variables = template.Globals.Function.Environment.Variables;

    it('declares every variable of the contract in Globals, and no function replaces them', () => {
      expect(contract).toEqual(
        expect.arrayContaining([
          'CLUSTER_NAMES',
          'AUTO_SCALING_GROUPS',
          'LIFECYCLE_HOOK_NAME',
          'HEARTBEAT_TIMEOUT',
          'DRAIN_DEADLINE',
          'DEADLINE_ACTION',
          'STANDALONE_TASKS',
          'STANDALONE_GRACE',
          'DAEMON_GRACE',
          'ALERT_TOPIC_ARN',
        ]),
      );
      for (const name of contract) expect(Object.keys(variables)).toContain(name);
      for (const id of FUNCTIONS) expect(resources[id].Properties.Environment).toBeUndefined();
      expect(variables).toMatchObject({
        CLUSTER_NAMES: { 'Fn::Join': [',', { Ref: 'ClusterNames' }] },
        AUTO_SCALING_GROUPS: { 'Fn::Join': [',', { Ref: 'AutoScalingGroups' }] },
        LIFECYCLE_HOOK_NAME: { Ref: 'LifecycleHookName' },
        HEARTBEAT_TIMEOUT: { Ref: 'HeartbeatTimeout' },
        DRAIN_DEADLINE: { Ref: 'DrainDeadline' },
        DEADLINE_ACTION: { Ref: 'DeadlineAction' },
        STANDALONE_TASKS: { Ref: 'StandaloneTasks' },
        STANDALONE_GRACE: { Ref: 'StandaloneGrace' },
        DAEMON_GRACE: { Ref: 'DaemonGrace' },
        ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
        AWS_ENDPOINT_URL_ECS: '',
        AWS_ENDPOINT_URL_AUTO_SCALING: '',
        AWS_ENDPOINT_URL_SNS: '',
      });
    });

    it('gives the functions a configuration they accept with the parameter defaults', () => {
      const defaults = Object.fromEntries(
        Object.entries(template.Parameters as Record<string, { Default?: string | number }>).flatMap(
          ([name, { Default }]) => (Default === undefined ? [] : [[name, String(Default)]]),
        ),
      );
      const env = Object.fromEntries(
        contract.map((name) => [name, String(resolveIntrinsics(variables[name], { ...defaults, ...STACK }))]),
      );
      expect(loadConfig(env)).toEqual({
        clusters: ['prod', 'batch'],
        groups: [
          { cluster: 'prod', autoScalingGroupName: 'prod-ecs-asg' },
          { cluster: 'prod', autoScalingGroupName: 'prod-spot-asg' },
          { cluster: 'batch', autoScalingGroupName: 'batch-asg' },
        ],
        lifecycleHookName: 'ecs-drain',
        heartbeatTimeoutSeconds: 1800,
        drainDeadlineSeconds: 3600,
        deadlineAction: 'continue',
        standaloneTasks: 'wait',
        standaloneGraceSeconds: 600,
        daemonGraceSeconds: 120,
        ecsReadsPerSecond: 10,
        alertTopicArn: ALERT_TOPIC,
        launchHookName: 'ecs-drain-launch',
        launchTimeoutSeconds: 600,
      });
    });

    it('lets sam local invoke --env-vars set every variable of every function, endpoints included', () => {
      const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));
      // SAM CLI applies `Parameters` to every function, then the function's own section (by logical ID).
      for (const id of FUNCTIONS) {
        const env = { ...envFile.Parameters, ...envFile[id] };
        for (const name of Object.keys(env)) expect(Object.keys(variables)).toContain(name);
        for (const name of [
          ...contract,
          'AWS_ENDPOINT_URL_ECS',
          'AWS_ENDPOINT_URL_AUTO_SCALING',
          'AWS_ENDPOINT_URL_SNS',
        ])
          expect(Object.keys(env)).toContain(name);
        expect(() => loadConfig(env)).not.toThrow();
      }
    });
  });

  describe('one hook and one lifecycle policy per served group (Fn::ForEach)', () => {
    const expanded = expandServedGroups(PAIRS);
    const allHooks = ofType(expanded, 'AWS::AutoScaling::LifecycleHook');
    const hooks = allHooks.filter(
      (hook) => hook.Properties.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING',
    );
    const launchHooks = allHooks.filter(
      (hook) => hook.Properties.LifecycleTransition === 'autoscaling:EC2_INSTANCE_LAUNCHING',
    );
    // The lifecycle policies; the AMI watcher's RefreshActions policies are tested with the watcher.
    const policies = ofType(expanded, 'AWS::IAM::Policy').filter((policy) => policy.Condition === undefined);
    const resolved = (node: unknown) => resolveIntrinsics(node, STACK);

    it('creates exactly one hook of each kind and one policy per cluster:group pair, and nothing else', () => {
      // The terminate hook, the launch hook, the lifecycle policy, and the AMI watcher's refresh policy.
      expect(Object.keys(expanded)).toHaveLength(4 * PAIRS.length);
      expect(hooks).toHaveLength(PAIRS.length);
      expect(launchHooks).toHaveLength(PAIRS.length);
      expect(launchHooks.map((hook) => resolved(hook.Properties.AutoScalingGroupName))).toEqual([
        'prod-ecs-asg',
        'prod-spot-asg',
        'batch-asg',
      ]);
      expect(policies).toHaveLength(PAIRS.length);
      expect(hooks.map((hook) => resolved(hook.Properties.AutoScalingGroupName))).toEqual([
        'prod-ecs-asg',
        'prod-spot-asg',
        'batch-asg',
      ]);
      expect(Object.keys(expanded)).toContain('DrainHookprodprodecsasg');
      expect(new Set(policies.map((policy) => policy.Properties.PolicyName)).size).toBe(PAIRS.length);
    });

    it("names the group's cluster in each hook's metadata, for the start function", () => {
      expect(
        hooks.map((hook) => JSON.parse(resolved(hook.Properties.NotificationMetadata) as string)),
      ).toEqual([{ cluster: 'prod' }, { cluster: 'prod' }, { cluster: 'batch' }]);
    });

    it('creates terminating hooks with DefaultResult CONTINUE that publish to the stack topic', () => {
      for (const hook of hooks) {
        expect(hook.Properties).toMatchObject({
          LifecycleHookName: { Ref: 'LifecycleHookName' },
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          DefaultResult: 'CONTINUE',
          HeartbeatTimeout: { Ref: 'HeartbeatTimeout' },
          NotificationTargetARN: { Ref: 'HookTopic' },
          RoleARN: { 'Fn::GetAtt': 'HookPublishRole.Arn' },
        });
        // Created only once the subscription exists, so no notification is lost.
        expect([hook.DependsOn].flat()).toContain('LifecycleQueueSubscription');
      }
    });

    it('holds each new instance until launch readiness lets it go, abandoning it at LaunchTimeout', () => {
      for (const hook of launchHooks) {
        expect(hook.Condition).toBe('ReadinessOn');
        expect(hook.Properties).toMatchObject({
          LifecycleHookName: { 'Fn::Sub': '${LifecycleHookName}-launch' },
          DefaultResult: 'ABANDON',
          HeartbeatTimeout: { Ref: 'LaunchTimeout' },
          NotificationTargetARN: { Ref: 'HookTopic' },
          RoleARN: { 'Fn::GetAtt': 'HookPublishRole.Arn' },
        });
        expect([hook.DependsOn].flat()).toContain('LaunchQueueSubscription');
      }
      expect(
        launchHooks.map((hook) => JSON.parse(resolved(hook.Properties.NotificationMetadata) as string)),
      ).toEqual([{ cluster: 'prod' }, { cluster: 'prod' }, { cluster: 'batch' }]);
      expect(template.Globals.Function.Environment.Variables.LAUNCH_HOOK_NAME).toEqual({
        'Fn::Sub': '${LifecycleHookName}-launch',
      });
    });

    it('lets every function complete and heartbeat actions of that one group, on every role', () => {
      policies.forEach((policy, index) => {
        const group = (PAIRS[index] as string).split(':')[1] as string;
        expect(policy.Properties.Roles.map(roleRef)).toEqual(FUNCTIONS.map((id) => `${id}Role`));
        expect(resolved(policy.Properties.PolicyDocument.Statement)).toEqual([
          {
            Sid: expect.any(String),
            Effect: 'Allow',
            Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
            Resource: groupArn(group),
          },
        ]);
      });
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

  describe('one rule for the tasks told to stop and the STOPPED tasks of every served cluster', () => {
    const rule = resources.TaskStoppedRule;

    it('lists the ARN of every served cluster, for the simulation', () => {
      expect(rule.Type).toBe('AWS::Events::Rule');
      const pattern = taskStoppedPattern(STACK);
      expect(pattern).toMatchObject({
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [
            'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
            'arn:aws:ecs:eu-west-1:123456789012:cluster/batch',
          ],
          desiredStatus: ['STOPPED'],
          lastStatus: ['RUNNING', 'STOPPED'],
        },
      });
      // sim/world.ts's single-cluster form still works.
      const values = {
        'AWS::Partition': 'aws',
        'AWS::Region': 'eu-west-1',
        'AWS::AccountId': '123456789012',
      };
      expect(taskStoppedPattern({ ...values, ClusterName: 'prod' })).toEqual(
        taskStoppedPattern({ ...values, ClusterNames: ['prod'] }),
      );
    });

    it('matches each cluster ARN by its suffix, with the account and Region pinned', () => {
      // What EventBridge receives: a JSON pattern. Under these pins ":cluster/<name>" selects one ARN.
      const pattern = JSON.parse(resolveIntrinsics(rule.Properties.EventPattern, STACK) as string);
      expect(pattern).toEqual({
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        account: ['123456789012'],
        region: ['eu-west-1'],
        detail: {
          clusterArn: [{ suffix: ':cluster/prod' }, { suffix: ':cluster/batch' }],
          // ECS telling a task to stop (it still runs), and the task STOPPED: not the stages between.
          desiredStatus: ['STOPPED'],
          lastStatus: ['RUNNING', 'STOPPED'],
        },
      });
    });

    it('sends them to the task event queue, failures to the failure queue', () => {
      expect(rule.Properties.Targets).toHaveLength(1);
      expect(rule.Properties.Targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': 'TaskEventQueue.Arn' },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': 'FailureQueue.Arn' } },
      });
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

  it('runs no more containers of each function than the ECS read budget was split among', () => {
    // Each container paces itself to its part of EcsReadsPerSecond (ECS_READ_SHARES): more containers
    // than counted there would read faster than the stack's share of the account's bucket.
    const concurrency = (fn: string, event: string) =>
      resources[fn].Properties.Events[event].Properties.ScalingConfig.MaximumConcurrency;
    expect(concurrency('FinishDrainFunction', 'TaskEvents')).toBe(ECS_READ_SHARES.event.containers);
    expect(concurrency('StartDrainFunction', 'LifecycleNotifications')).toBe(
      ECS_READ_SHARES.start.containers,
    );
    // One reconciler run at a time: a run lasts seconds, the schedule ticks every minute or more.
    expect(ECS_READ_SHARES.reconciler.containers).toBe(1);
    expect(template.Parameters.EcsReadsPerSecond).toMatchObject({ Default: 10, MinValue: 1, MaxValue: 20 });
    expect(template.Globals.Function.Environment.Variables.ECS_READS_PER_SECOND).toEqual({
      Ref: 'EcsReadsPerSecond',
    });
  });

  it('runs no more containers of each function than the Auto Scaling share was split among', () => {
    // Auto Scaling has one limit for the whole account: each container paces itself to its caller's
    // part (AUTO_SCALING_SHARES), so a function running more containers than counted there calls faster.
    const concurrency = (fn: string, event: string) =>
      resources[fn].Properties.Events[event].Properties.ScalingConfig.MaximumConcurrency;
    expect(concurrency('FinishDrainFunction', 'TaskEvents')).toBe(AUTO_SCALING_SHARES.event.containers);
    expect(concurrency('StartDrainFunction', 'LifecycleNotifications')).toBe(
      AUTO_SCALING_SHARES.start.containers,
    );
    expect(concurrency('LaunchReadinessFunction', 'LaunchesAndRegistrations')).toBe(
      AUTO_SCALING_SHARES.launch.containers,
    );
    // The scheduled functions: one run at a time, never retried into an overlap.
    for (const [fn, caller] of [
      ['ReconcileFunction', 'reconciler'],
      ['WatchAmiFunction', 'watcher'],
    ] as const) {
      expect(resources[fn].Properties.EventInvokeConfig.MaximumRetryAttempts).toBe(0);
      expect(AUTO_SCALING_SHARES[caller].containers).toBe(1);
    }
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

  describe.each(FUNCTIONS)('%s IAM', (functionId) => {
    const statements = statementsOf(functionId);

    it('names every action, never a wildcard', () => {
      for (const action of statements.flatMap(actionsOf))
        expect(action).toMatch(/^(ecs|autoscaling|sns|ec2):[A-Za-z]+$/);
      for (const statement of statements) expect(statement.Effect).toBe('Allow');
    });

    it('completes and heartbeats lifecycle actions of the served groups only, one group per statement', () => {
      const lifecycle = statements.filter((s) =>
        actionsOf(s).some((a) => a === 'autoscaling:CompleteLifecycleAction' || a.includes('Heartbeat')),
      );
      expect(lifecycle.map((s) => s.Resource)).toEqual(
        PAIRS.map((pair) => groupArn(pair.split(':')[1] as string)),
      );
    });

    it('scopes every ECS action to the served clusters in this Region, by resource or by ecs:cluster', () => {
      const ecsStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ecs:')));
      expect(ecsStatements.length).toBeGreaterThan(0);
      for (const statement of ecsStatements) {
        expect(statement.Condition?.StringEquals).toEqual({ 'aws:RequestedRegion': 'eu-west-1' });
        if (statement.Resource === '*') {
          expect(statement.Condition?.ArnLike).toEqual({ 'ecs:cluster': clusterArnPatterns });
        } else if (actionsOf(statement).includes('ecs:DescribeServices')) {
          expect(actionsOf(statement)).toEqual(['ecs:DescribeServices']);
          expect(statement.Resource).toEqual(servicePatterns);
        } else {
          expect(statement.Resource).toEqual(clusterArnPatterns);
        }
      }
    });

    it('publishes alerts to the alert topic only', () => {
      const publishing = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));
      expect(publishing).toEqual([expect.objectContaining({ Action: 'sns:Publish', Resource: ALERT_TOPIC })]);
    });

    it('uses Resource "*" without a condition only where AWS offers nothing narrower', () => {
      const unscoped = statements.filter((s) => s.Resource === '*' && s.Condition === undefined);
      for (const action of unscoped.flatMap(actionsOf))
        expect([
          'autoscaling:DescribeAutoScalingInstances',
          'autoscaling:DescribeAutoScalingGroups',
          // The AMI a launch's template version names (launch readiness).
          'ec2:DescribeLaunchTemplateVersions',
        ]).toContain(action);
    });

    it('may drain and record the drain start on every path: the decision is shared', () => {
      // decideHost answers `drain` on any path once it sees an ACTIVE container instance on a host our
      // action holds, and writes the drain's start time as an attribute: without a right, every such
      // batch fails until it reaches the failure queue.
      const actions = statements.flatMap(actionsOf);
      const drains = ['ecs:UpdateContainerInstancesState', 'ecs:PutAttributes'];
      for (const action of [
        ...drains,
        'sns:Publish',
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:RecordLifecycleActionHeartbeat',
      ]) {
        // Launch readiness reads and answers launch actions; it never drains.
        if (functionId === 'LaunchReadinessFunction' && drains.includes(action))
          expect(actions).not.toContain(action);
        else expect(actions).toContain(action);
      }
    });

    it('stops tasks and tells daemon services apart only in the reconciler, which alone applies the policies', () => {
      const actions = statements.flatMap(actionsOf);
      const reconcilerOnly = ['ecs:StopTask', 'ecs:DescribeServices'];
      for (const action of reconcilerOnly) {
        if (functionId === 'ReconcileFunction') expect(actions).toContain(action);
        else expect(actions).not.toContain(action);
      }
    });
  });

  describe('the reconciler', () => {
    const reconciler = resources.ReconcileFunction;

    it('runs on the ReconcileSchedule, with its own timeout and log group', () => {
      expect(reconciler.Type).toBe('AWS::Serverless::Function');
      expect(Object.values(reconciler.Properties.Events)).toEqual([
        { Type: 'Schedule', Properties: { Schedule: { Ref: 'ReconcileSchedule' } } },
      ]);
      expect(reconciler.Properties.Timeout).toBe(60);
      expect(reconcileSchedule()).toEqual({
        expression: 'rate(1 minute)',
        periodSeconds: 60,
        timeoutSeconds: 60,
        // The next scheduled run is the retry: the simulation runs the reconciler with these too.
        maximumRetryAttempts: 0,
        maxEventAgeSeconds: 60,
      });
      const logGroup = reconciler.Properties.LoggingConfig.LogGroup.Ref;
      expect(logGroup).not.toBe(resources.StartDrainFunction.Properties.LoggingConfig.LogGroup.Ref);
      expect(logGroup).not.toBe(resources.FinishDrainFunction.Properties.LoggingConfig.LogGroup.Ref);
    });

    it('may read, drain, stop tasks, read lifecycle states, complete, heartbeat and alert', () => {
      expect(statementsOf('ReconcileFunction').flatMap(actionsOf).sort()).toEqual(
        [
          'ecs:ListContainerInstances',
          'ecs:DescribeContainerInstances',
          'ecs:UpdateContainerInstancesState',
          'ecs:PutAttributes',
          'ecs:ListTasks',
          'ecs:DescribeTasks',
          'ecs:StopTask',
          'ecs:DescribeServices',
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'ec2:DescribeLaunchTemplateVersions',
          'sns:Publish',
          ...PAIRS.flatMap(() => [
            'autoscaling:CompleteLifecycleAction',
            'autoscaling:RecordLifecycleActionHeartbeat',
          ]),
        ].sort(),
      );
    });
  });

  describe('alerts and alarms', () => {
    it('creates the alert topic, with an email subscription only when an address is given', () => {
      expect(resources.AlertTopic).toMatchObject({
        Type: 'AWS::SNS::Topic',
        Properties: { DisplayName: 'ECS drain alerts' },
      });
      expect(resources.AlertEmailSubscription).toMatchObject({
        Type: 'AWS::SNS::Subscription',
        Condition: 'HasAlertEmail',
        Properties: { TopicArn: { Ref: 'AlertTopic' }, Protocol: 'email', Endpoint: { Ref: 'AlertEmail' } },
      });
      expect(template.Conditions.HasAlertEmail).toEqual({
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlertEmail' }, ''] }],
      });
    });

    // Typed: a metric the code does not count fails the type check.
    const alarms: [string, DrainMetric][] = [
      ['DeadlineReachedAlarm', 'DeadlineReached'],
      ['DrainStuckAlarm', 'DrainCannotProgress'],
    ];
    it.each(alarms)('%s alarms on the functions’ %s count', (alarmId, metric) => {
      const variables = template.Globals.Function.Environment.Variables;
      expect(resources[alarmId]).toMatchObject({
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          Namespace: variables.POWERTOOLS_METRICS_NAMESPACE,
          MetricName: metric,
          Dimensions: [{ Name: 'service', Value: variables.POWERTOOLS_SERVICE_NAME }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          // Without a topic of their own, the alarms go to the alert topic: an alarm nobody hears is no alarm.
          AlarmActions: [{ 'Fn::If': ['HasAlarmTopic', { Ref: 'AlarmTopicArn' }, { Ref: 'AlertTopic' }] }],
        },
      });
      expect(variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'EcsDrain',
        POWERTOOLS_SERVICE_NAME: 'ecs-drain',
      });
    });

    it('sends every alarm somewhere: its own topic if given, the alert topic otherwise', () => {
      const all = Object.entries(resources).filter(
        ([, resource]) => (resource as { Type?: string }).Type === 'AWS::CloudWatch::Alarm',
      );
      expect(all.length).toBeGreaterThanOrEqual(5);
      for (const [id, alarm] of all) {
        expect({
          id,
          actions: (alarm as { Properties: { AlarmActions: unknown } }).Properties.AlarmActions,
        }).toEqual({
          id,
          actions: [{ 'Fn::If': ['HasAlarmTopic', { Ref: 'AlarmTopicArn' }, { Ref: 'AlertTopic' }] }],
        });
      }
    });

    it('outputs the alert topic and the reconciler', () => {
      expect(template.Outputs.AlertTopicArn.Value).toEqual({ Ref: 'AlertTopic' });
      expect(template.Outputs.ReconcileFunctionName.Value).toEqual({ Ref: 'ReconcileFunction' });
    });
  });

  it('builds each function with esbuild from an entry point that exists', () => {
    for (const id of FUNCTIONS) {
      const { Metadata, Properties } = resources[id];
      expect(Metadata.BuildMethod).toBe('esbuild');
      for (const entry of Metadata.BuildProperties.EntryPoints)
        expect(existsSync(join(root, entry))).toBe(true);
      expect(Properties.Handler).toBe('handler.handler');
    }
    expect(resources.ReconcileFunction.Metadata.BuildProperties.EntryPoints).toEqual([
      'functions/reconcile/handler.ts',
    ]);
    expect(template.Globals.Function).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  });

  it('leaves retries to the queues and the schedule, not to asynchronous invocation, and keeps logs for a set time', () => {
    // The SQS mappings invoke synchronously: EventInvokeConfig would not apply.
    expect(template.Globals.Function.EventInvokeConfig).toBeUndefined();
    for (const id of ['StartDrainFunction', 'FinishDrainFunction'])
      expect(resources[id].Properties.EventInvokeConfig).toBeUndefined();
    expect(resources.FailureQueue.Type).toBe('AWS::SQS::Queue');
    // The schedule invokes asynchronously: a failed reconciler run is not retried, the next run is.
    expect(resources.ReconcileFunction.Properties.EventInvokeConfig).toEqual({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
    for (const id of FUNCTIONS) {
      const logGroup = resources[id].Properties.LoggingConfig.LogGroup.Ref;
      expect(resources[logGroup].Properties.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' });
    }
  });

  describe('the AMI watcher', () => {
    const watcher = resources.WatchAmiFunction;

    it('refuses to deploy an enabled watcher that may not pass the instance role, and tags only while launching', () => {
      expect(template.Rules.AmiWatcherPassesTheInstanceRole).toEqual({
        RuleCondition: { 'Fn::Equals': [{ Ref: 'AmiWatcher' }, 'enabled'] },
        Assertions: [
          expect.objectContaining({
            Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AmiWatchInstanceRoleArn' }, ''] }] },
          }),
        ],
      });
      const statements = watcher.Properties.Policies.flatMap(
        (policy: { Statement: unknown[] }) => policy.Statement,
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'ec2:CreateTags',
          Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
        }),
      );
    });
    const parameters = template.Parameters;
    /** Fn::If resolved with these conditions; the rest as resolveIntrinsics does it. */
    const withConditions = (node: unknown, conditions: Record<string, boolean>): unknown => {
      if (Array.isArray(node))
        return node.flatMap((item) => {
          const value = withConditions(item, conditions);
          return value === NO_VALUE ? [] : [value];
        });
      if (typeof node !== 'object' || node === null) return node;
      const record = node as Record<string, unknown>;
      if ('Fn::If' in record) {
        const [name, yes, no] = record['Fn::If'] as [string, unknown, unknown];
        expect(Object.keys(conditions)).toContain(name);
        return withConditions(conditions[name] ? yes : no, conditions);
      }
      if (record.Ref === 'AWS::NoValue') return NO_VALUE;
      return Object.fromEntries(
        Object.entries(record).map(([key, value]) => [key, withConditions(value, conditions)]),
      );
    };
    const NO_VALUE = Symbol('AWS::NoValue');
    const watcherStatements = (variant: string, conditions: Record<string, boolean> = {}) =>
      resolveIntrinsics(
        withConditions(watcher.Properties.Policies[0].Statement, {
          AmiFromBottlerocket: variant.startsWith('bottlerocket'),
          AmiFromBottlerocketArm64: variant === 'bottlerocket/arm64',
          HasAmiWatchInstanceRole: false,
          ...conditions,
        }),
        {
          ...STACK,
          AmiVariant: variant,
          AmiWatchInstanceRoleArn: 'arn:aws:iam::123456789012:role/ecsInstanceRole',
        },
      ) as Statement[];

    it('is off unless enabled, and its resources and rights exist only then', () => {
      expect(parameters.AmiWatcher).toMatchObject({
        Default: 'disabled',
        AllowedValues: ['enabled', 'disabled'],
      });
      expect(template.Conditions.WatchAmi).toEqual({ 'Fn::Equals': [{ Ref: 'AmiWatcher' }, 'enabled'] });
      for (const id of ['WatchAmiFunction', 'WatchAmiLogGroup'])
        expect(resources[id].Condition).toBe('WatchAmi');
      expect(template.Outputs.WatchAmiFunctionName).toMatchObject({
        Condition: 'WatchAmi',
        Value: { Ref: 'WatchAmiFunction' },
      });
      const refresh = ofType(expandServedGroups(PAIRS), 'AWS::IAM::Policy').filter(
        (p) => p.Condition !== undefined,
      );
      expect(refresh.map((policy) => policy.Condition)).toEqual(PAIRS.map(() => 'WatchAmi'));
    });

    it('runs on its schedule, hourly by default, without asynchronous retries, with its own log group', () => {
      expect(parameters.AmiWatchSchedule).toMatchObject({ Type: 'String', Default: 'rate(1 hour)' });
      expect(watcher.Properties.Events.Schedule).toEqual({
        Type: 'Schedule',
        Properties: { Schedule: { Ref: 'AmiWatchSchedule' }, Input: '{"action":"watch"}' },
      });
      expect(watcher.Properties.EventInvokeConfig).toMatchObject({ MaximumRetryAttempts: 0 });
      expect(watcher.Properties.LoggingConfig.LogGroup).toEqual({ Ref: 'WatchAmiLogGroup' });
      expect(resources.WatchAmiLogGroup.Properties.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' });
      expect(watcher.Metadata.BuildProperties.EntryPoints).toEqual(['functions/watch-ami/handler.ts']);
      expect(existsSync(join(root, 'functions/watch-ami/handler.ts'))).toBe(true);
    });

    it('offers every variant the code knows, AL2023 by default, and reports only unless told otherwise', () => {
      expect(parameters.AmiVariant).toMatchObject({
        Default: 'amazon-linux-2023',
        AllowedValues: AMI_VARIANTS,
      });
      expect(parameters.AmiWatchDryRun).toMatchObject({ Default: 'true', AllowedValues: ['true', 'false'] });
    });

    it('steps blue/green rollouts every minute, a schedule enabled only with RolloutStrategy blue-green', () => {
      expect(Object.keys(watcher.Properties.Events)).toEqual(['Schedule', 'Step']);
      expect(watcher.Properties.Events.Step).toEqual({
        Type: 'Schedule',
        Properties: {
          Schedule: 'rate(1 minute)',
          Input: '{"action":"step"}',
          State: { 'Fn::If': ['BlueGreenRollouts', 'ENABLED', 'DISABLED'] },
        },
      });
      expect(template.Conditions.BlueGreenRollouts).toEqual({
        'Fn::And': [{ Condition: 'WatchAmi' }, { 'Fn::Equals': [{ Ref: 'RolloutStrategy' }, 'blue-green'] }],
      });
    });

    it('sends inputs the function accepts: the hourly one watches, the other steps', () => {
      const inputs = Object.values(
        watcher.Properties.Events as Record<string, { Properties: { Input: string } }>,
      ).map((event) => WatchAmiInput.parse(JSON.parse(event.Properties.Input)).action);
      expect(inputs).toEqual(['watch', 'step']);
    });

    it('offers both rollout strategies, rolling by default, and the state machine defaults for blue/green', () => {
      expect(parameters.RolloutStrategy).toMatchObject({
        Default: 'rolling',
        AllowedValues: [...ROLLOUT_STRATEGIES],
      });
      expect(parameters.BlueGreenBurnIn.Default).toBe(BLUE_GREEN_DEFAULTS.burnInSeconds);
      expect(parameters.BlueGreenLaunchTimeout.Default).toBe(BLUE_GREEN_DEFAULTS.launchTimeoutSeconds);
      expect(parameters.BlueGreenDrainTimeout.Default).toBe(BLUE_GREEN_DEFAULTS.drainTimeoutSeconds);
      expect(parameters.BlueGreenDrainBatchSize.Default).toBe(0);
      expect(watcher.Properties.Environment.Variables).toMatchObject({
        ROLLOUT_STRATEGY: { Ref: 'RolloutStrategy' },
        BLUE_GREEN_BURN_IN: { Ref: 'BlueGreenBurnIn' },
        BLUE_GREEN_LAUNCH_TIMEOUT: { Ref: 'BlueGreenLaunchTimeout' },
        BLUE_GREEN_DRAIN_TIMEOUT: { Ref: 'BlueGreenDrainTimeout' },
        BLUE_GREEN_DRAIN_BATCH_SIZE: { Ref: 'BlueGreenDrainBatchSize' },
      });
    });

    it('gives the watcher a configuration it accepts with the parameter defaults, the deadline alarm among the alarms', () => {
      const defaults = Object.fromEntries(
        Object.entries(parameters as Record<string, { Default?: string | number }>).flatMap(
          ([name, { Default }]) => (Default === undefined ? [] : [[name, String(Default)]]),
        ),
      );
      const values = {
        ...defaults,
        ...STACK,
        RefreshAlarmNames: [''],
        DeadlineReachedAlarm: 'stack-DeadlineReached',
      };
      const env = Object.fromEntries(
        Object.entries({
          ...template.Globals.Function.Environment.Variables,
          ...watcher.Properties.Environment.Variables,
        }).map(([name, value]) => [name, String(resolveIntrinsics(value, values))]),
      );
      expect(loadWatcherConfig(env)).toEqual({
        groups: loadConfig({ ...env, LIFECYCLE_HOOK_NAME: 'x', HEARTBEAT_TIMEOUT: '1800' }).groups,
        variant: 'amazon-linux-2023',
        dryRun: true,
        refresh: {
          ...REFRESH_DEFAULTS,
          checkpointPercentages: [10, 50, 100],
          alarmNames: ['stack-DeadlineReached'],
        },
        strategy: 'rolling',
        blueGreen: BLUE_GREEN_DEFAULTS,
        alertTopicArn: ALERT_TOPIC,
      });
      expect(
        loadWatcherConfig({ ...env, ROLLOUT_STRATEGY: 'blue-green', BLUE_GREEN_DRAIN_BATCH_SIZE: '3' }),
      ).toMatchObject({ strategy: 'blue-green', blueGreen: { ...BLUE_GREEN_DEFAULTS, drainBatchSize: 3 } });
    });

    it.each(AMI_VARIANTS)('may read exactly the AMI parameters of %s, nothing else in SSM', (variant) => {
      const ssm = watcherStatements(variant).filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
      const names = amiParameterNames(variant);
      expect(ssm).toEqual([
        expect.objectContaining({
          Action: 'ssm:GetParameters',
          Resource: [names.imageId, ...(names.metadata === undefined ? [] : [names.metadata])].map(
            (name) => `arn:aws:ssm:eu-west-1::parameter${name}`,
          ),
        }),
      ]);
    });

    const groupPolicies = (blueGreen: boolean) =>
      ofType(expandServedGroups(PAIRS), 'AWS::IAM::Policy')
        .filter((p) => p.Condition === 'WatchAmi')
        .map((policy) => ({
          roles: policy.Properties.Roles,
          statements: resolveIntrinsics(
            withConditions(policy.Properties.PolicyDocument.Statement, { BlueGreenRollouts: blueGreen }),
            STACK,
          ) as Statement[],
        }));

    it('starts refreshes of the served groups only, one group per policy', () => {
      const refresh = groupPolicies(false);
      expect(refresh).toHaveLength(PAIRS.length);
      refresh.forEach((policy, index) => {
        expect(policy.roles).toEqual([{ Ref: 'WatchAmiFunctionRole' }]);
        expect(policy.statements).toEqual([
          {
            Sid: expect.any(String),
            Effect: 'Allow',
            Action: 'autoscaling:StartInstanceRefresh',
            Resource: groupArn((PAIRS[index] as string).split(':')[1] as string),
          },
        ]);
      });
      // No other statement of the watcher may start, cancel or roll back a refresh.
      const own = watcherStatements('amazon-linux-2023').flatMap(actionsOf);
      expect(own.filter((a) => /Refresh$/.test(a) && !a.startsWith('autoscaling:Describe'))).toEqual([]);
    });

    it("with blue-green, may change the served groups only, and write no tag but the rollout's own", () => {
      groupPolicies(true).forEach(({ statements }, index) => {
        const group = groupArn((PAIRS[index] as string).split(':')[1] as string);
        expect(statements).toEqual([
          expect.objectContaining({ Action: 'autoscaling:StartInstanceRefresh', Resource: group }),
          {
            Sid: expect.any(String),
            Effect: 'Allow',
            Action: [
              'autoscaling:UpdateAutoScalingGroup',
              'autoscaling:SetInstanceProtection',
              'autoscaling:TerminateInstanceInAutoScalingGroup',
            ],
            Resource: group,
          },
          {
            Sid: expect.any(String),
            Effect: 'Allow',
            Action: ['autoscaling:CreateOrUpdateTags', 'autoscaling:DeleteTags'],
            Resource: group,
            Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [BLUE_GREEN_TAG] } },
          },
        ]);
      });
      // Nothing of it under rolling.
      expect(groupPolicies(false).flatMap(({ statements }) => statements.flatMap(actionsOf))).toEqual(
        PAIRS.map(() => 'autoscaling:StartInstanceRefresh'),
      );
    });

    it('with blue-green, may list, read and drain or restore container instances of the served clusters only', () => {
      const policy = resources.BlueGreenClustersPolicy;
      expect(policy.Condition).toBe('BlueGreenRollouts');
      expect(policy.Properties.Roles).toEqual([{ Ref: 'WatchAmiFunctionRole' }]);
      const region = { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } };
      expect(resolveIntrinsics(policy.Properties.PolicyDocument.Statement, STACK)).toEqual([
        {
          Sid: expect.any(String),
          Effect: 'Allow',
          Action: 'ecs:ListContainerInstances',
          Resource: clusterArnPatterns,
          Condition: region,
        },
        {
          Sid: expect.any(String),
          Effect: 'Allow',
          Action: ['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState'],
          Resource: '*',
          Condition: { ArnLike: { 'ecs:cluster': clusterArnPatterns }, ...region },
        },
      ]);
      // The watcher's own statements grant nothing in ECS, whatever the strategy.
      expect(
        watcherStatements('amazon-linux-2023')
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('ecs:')),
      ).toEqual([]);
    });

    it('uses "*" only for reads without resource-level permissions, and scopes its EC2 writes to the account and Region', () => {
      const statements = watcherStatements('amazon-linux-2023');
      const unscoped = statements
        .filter((s) => s.Resource === '*' && s.Condition === undefined)
        .flatMap(actionsOf);
      expect(unscoped.sort()).toEqual(
        [
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeInstanceRefreshes',
          'ec2:DescribeLaunchTemplateVersions',
        ].sort(),
      );
      const templates = 'arn:aws:ec2:eu-west-1:123456789012:launch-template/*';
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'ec2:CreateLaunchTemplateVersion', Resource: templates }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'ec2:RunInstances',
          Condition: { ArnLike: { 'ec2:LaunchTemplate': templates } },
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'sns:Publish', Resource: ALERT_TOPIC }),
      );
      expect(statements.flatMap(actionsOf)).not.toContain('iam:PassRole');
    });

    it('passes the instance role to EC2 only when given, and only that role', () => {
      const statements = watcherStatements('amazon-linux-2023', { HasAmiWatchInstanceRole: true });
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'iam:PassRole',
          Resource: 'arn:aws:iam::123456789012:role/ecsInstanceRole',
          Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        }),
      );
    });

    it('lets sam local invoke --env-vars point it at a local endpoint', () => {
      const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));
      const env = { ...envFile.Parameters, ...envFile.WatchAmiFunction };
      const declared = [
        ...Object.keys(template.Globals.Function.Environment.Variables),
        ...Object.keys(watcher.Properties.Environment.Variables),
      ];
      for (const name of Object.keys(env)) expect(declared).toContain(name);
      expect(env).toMatchObject({
        AWS_ENDPOINT_URL_SSM: expect.any(String),
        AWS_ENDPOINT_URL_EC2: expect.any(String),
        AWS_ENDPOINT_URL_ECS: expect.any(String),
      });
      // Blue/green, so that events/rollout-step.json and events/rollout-rollback.json have something to do.
      expect(loadWatcherConfig(env).strategy).toBe('blue-green');
    });
  });
});
