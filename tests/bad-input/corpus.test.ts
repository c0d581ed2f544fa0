/**
 * A corpus of bad inputs for the three SQS-fed functions, one JSON file per case in ./cases.
 *
 * A case file holds `name`, `function` ("start-drain" | "finish-drain" | "launch-readiness"), exactly
 * one input, and `expect`:
 * - `body`: the record body as text (raw delivery: the Auto Scaling JSON; or an EventBridge event);
 * - `bodyJson`: a JSON value that becomes the record body through JSON.stringify;
 * - `event`: the whole event the handler receives (an SQS batch, or anything that is not one).
 * Anywhere in `body` or `bodyJson`, `{ "$repeat": text, "bytes": n }` stands for `text` repeated to n
 * characters (oversized junk without a huge fixture). A body becomes one realistic SQS record of the
 * function's queue. `expect` is either `{ outcome: "rejected", reason, field }` (a message that can
 * never succeed: one error line whose reason contains `reason` and whose field is `field`; with
 * `value`, the line quotes exactly that value of the field, not the message around it) or
 * `{ outcome: "ignored", level, reason }` (expected traffic that is not ours: one line at `level`,
 * no error line). `note` says why a case expects what it does; `knownBug` marks a case whose expected
 * behaviour the code does not have yet: its tests run as `test.failing`, and start to fail (asking
 * for `knownBug` to be removed) once the bug is fixed.
 *
 * Every case runs alone, then (when its input is a record) in a batch with a good record, through the
 * real handler factories with aws-sdk-client-mock on ECS, Auto Scaling and SNS. The good record of
 * launch-readiness is a launching notification of our launch hook for an instance whose container
 * instance is ACTIVE with its agent connected: its action is completed with CONTINUE. The handlers log
 * through a Powertools Logger of their own at DEBUG level, whose JSON lines are captured from the
 * process streams it writes to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  type ListContainerInstancesCommandInput,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { z } from 'zod';
import { createFinishDrainHandler } from '../../functions/finish-drain/app';
import { createLaunchReadinessHandler } from '../../functions/launch-readiness/app';
import { createStartDrainHandler } from '../../functions/start-drain/app';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { EcsAdapter } from '../../shared/aws/ecs';
import { autoScalingPacer, ecsReadPacer, type Timing } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import type { ControllerConfig } from '../../shared/config';
import type { FunctionDependencies } from '../../shared/drain/drive-hosts';
import { type DrainMetric, telemetry } from '../../shared/observability';

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/** `{ "$repeat": text, "bytes": n }`: text repeated to n characters. */
const Repeat = z.object({ $repeat: z.string().min(1), bytes: z.number().int().positive() }).strict();

const BadInputCase = z
  .object({
    name: z.string().min(1),
    function: z.enum(['start-drain', 'finish-drain', 'launch-readiness']),
    note: z.string().min(1).optional(),
    knownBug: z.string().min(1).optional(),
    body: z.union([z.string(), Repeat]).optional(),
    bodyJson: z.unknown().optional(),
    event: z.unknown().optional(),
    expect: z.discriminatedUnion('outcome', [
      z.object({
        outcome: z.literal('rejected'),
        reason: z.string().min(1),
        field: z.string().min(1),
        value: z.unknown().optional(),
      }),
      z.object({
        outcome: z.literal('ignored'),
        level: z.enum(['debug', 'info']),
        reason: z.string().min(1),
      }),
    ]),
  })
  .strict()
  .refine(
    (c) => ['body', 'bodyJson', 'event'].filter((key) => key in c).length === 1,
    'a case has exactly one of body, bodyJson, event',
  );
type BadInputCase = z.infer<typeof BadInputCase> & { file: string };

const casesDir = join(__dirname, 'cases');
const cases: BadInputCase[] = readdirSync(casesDir)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => ({ ...BadInputCase.parse(JSON.parse(readFileSync(join(casesDir, file), 'utf8'))), file }));

/** A JSON value with every `$repeat` placeholder replaced by its text. */
function expand(value: unknown): unknown {
  const repeat = Repeat.safeParse(value);
  if (repeat.success) {
    const { $repeat: text, bytes } = repeat.data;
    return text.repeat(Math.ceil(bytes / text.length)).slice(0, bytes);
  }
  if (Array.isArray(value)) return value.map(expand);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, expand(field)]));
  }
  return value;
}

/** The record body a case carries, or undefined when the case is a whole event. */
function bodyOf(badCase: BadInputCase): string | undefined {
  if (badCase.body !== undefined) return String(expand(badCase.body));
  if ('bodyJson' in badCase) return JSON.stringify(expand(badCase.bodyJson));
  return undefined;
}

const QUEUES = {
  'start-drain': 'LifecycleQueue',
  'finish-drain': 'TaskEventQueue',
  'launch-readiness': 'LaunchQueue',
} as const;
type FunctionName = keyof typeof QUEUES;

/** One SQS record as Lambda hands it over from the function's queue. */
function sqsRecord(fn: FunctionName, body: string, messageId: string) {
  return {
    messageId,
    receiptHandle: `AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a+SimulatedReceiptHandle==${messageId.slice(0, 8)}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now() - 1500),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(Date.now() - 1000),
    },
    messageAttributes: {},
    md5OfBody: '18e0a62e914550b20623e9cc2a26bd0f',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:ecs-drain-${QUEUES[fn]}-AbCdEf012345`,
    awsRegion: 'us-east-1',
  };
}

const BAD_MESSAGE_ID = '6d1f8a2e-0c4b-4e7d-9a35-b2f1c0e9d817';
const GOOD_MESSAGE_ID = 'e3b9c7a1-5f2d-4a86-8c0e-7d4b1a9f2e60';

/** The event of a case alone. */
function eventAlone(badCase: BadInputCase): unknown {
  const body = bodyOf(badCase);
  return body === undefined
    ? badCase.event
    : { Records: [sqsRecord(badCase.function, body, BAD_MESSAGE_ID)] };
}

/** The bad records of a case, when its input is made of records (a mixed batch can be built). */
function badRecords(badCase: BadInputCase): unknown[] | undefined {
  const body = bodyOf(badCase);
  if (body !== undefined) return [sqsRecord(badCase.function, body, BAD_MESSAGE_ID)];
  const { event } = badCase;
  if (typeof event === 'object' && event !== null && 'Records' in event && Array.isArray(event.Records)) {
    return event.Records as unknown[];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The stack: two clusters, three groups
// ---------------------------------------------------------------------------------------------

const ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:ecs-drain-AlertTopic-AbCdEf012345';

const config: ControllerConfig = {
  ecsReadsPerSecond: 10,
  clusters: ['prod', 'batch'],
  groups: [
    { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
    { autoScalingGroupName: 'prod-spot-asg', cluster: 'prod' },
    { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
  ],
  lifecycleHookName: 'ecs-drain',
  launchHookName: 'ecs-drain-launch',
  launchTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 1800,
  drainDeadlineSeconds: 3600,
  deadlineAction: 'continue',
  standaloneTasks: 'wait',
  standaloneGraceSeconds: 600,
  daemonGraceSeconds: 120,
  // Alerts are on, so that an alert a bad message might cause would show as an SNS Publish.
  alertTopicArn: ALERT_TOPIC_ARN,
};

// ---------------------------------------------------------------------------------------------
// Logs and metrics
// ---------------------------------------------------------------------------------------------

const SERVICE = 'bad-input-corpus';

interface LogLine {
  level: string;
  message: string;
  /** Characters of the line as written. */
  length: number;
  [key: string]: unknown;
}

let logLines: LogLine[] = [];

function asLogLine(text: string): LogLine | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const fields = parsed as Record<string, unknown>;
    if (fields.service !== SERVICE || typeof fields.level !== 'string') return undefined;
    return { ...fields, level: fields.level, message: String(fields.message), length: text.trimEnd().length };
  } catch {
    return undefined;
  }
}

/**
 * Powertools' Logger writes each line with one write to process.stdout (debug, info) or
 * process.stderr (warn, error): the lines of our logger are kept, anything else passes through.
 */
function captureLogLines(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      const line = asLogLine(text);
      if (line === undefined) return write(chunk, ...rest);
      logLines.push(line);
      return true;
    }) as typeof stream.write);
  }
}

const linesAt = (...levels: string[]) => logLines.filter((line) => levels.includes(line.level));

let counted: DrainMetric[] = [];

/** The functions' own telemetry over a DEBUG logger of this test, noting every count it makes. */
function recordingTelemetry(): FunctionDependencies['telemetry'] {
  const logger = new Logger({ serviceName: SERVICE, logLevel: 'DEBUG' });
  const base = telemetry(logger, new Metrics({ namespace: 'EcsDrain', serviceName: SERVICE }));
  return {
    ...base,
    count: (metric, value) => {
      counted.push(metric);
      base.count(metric, value);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// AWS, mocked
// ---------------------------------------------------------------------------------------------

const ecs = mockClient(ECSClient);
const autoScaling = mockClient(AutoScalingClient);
const sns = mockClient(SNSClient);

/** The calls that change anything in the account. */
const MUTATIONS = [
  [ecs, UpdateContainerInstancesStateCommand],
  [ecs, PutAttributesCommand],
  [ecs, StopTaskCommand],
  [autoScaling, CompleteLifecycleActionCommand],
  [autoScaling, RecordLifecycleActionHeartbeatCommand],
  [sns, PublishCommand],
] as const;

const mutationsMade = () =>
  MUTATIONS.flatMap(([client, command]) =>
    (client.commandCalls(command as never) as unknown[]).map(() => command.name),
  );

const allCalls = () => [...ecs.calls(), ...autoScaling.calls(), ...sns.calls()];

/** A clock that never waits: pacing and back-off pass at once. */
function instantTiming(): Timing {
  let time = Date.now();
  return {
    now: () => time,
    sleep: async (milliseconds) => {
      time += milliseconds;
    },
  };
}

/** A fresh Lambda container of the function: its own clients, pacers and memory. */
function newHandler(fn: FunctionName): (event: unknown) => Promise<SQSBatchResponse> {
  const timing = instantTiming();
  const dependencies: FunctionDependencies = {
    config,
    ecs: new EcsAdapter(
      new ECSClient({ region: 'us-east-1' }),
      ecsReadPacer(fn === 'launch-readiness' ? 'launch' : 'event', 10, timing),
    ),
    autoScaling: new AutoScalingAdapter(
      new AutoScalingClient({ region: 'us-east-1' }),
      autoScalingPacer(
        fn === 'launch-readiness' ? 'launch' : fn === 'start-drain' ? 'start' : 'event',
        timing,
      ),
    ),
    alerts: new AlertPublisher(new SNSClient({ region: 'us-east-1' }), ALERT_TOPIC_ARN),
    telemetry: recordingTelemetry(),
    timing,
  };
  const handle =
    fn === 'start-drain'
      ? createStartDrainHandler(dependencies)
      : fn === 'finish-drain'
        ? createFinishDrainHandler(dependencies)
        : createLaunchReadinessHandler(dependencies);
  return (event) => handle(event as SQSEvent);
}

// ---------------------------------------------------------------------------------------------
// The good record of a mixed batch, and the world it acts on
// ---------------------------------------------------------------------------------------------

const GOOD = {
  instanceId: 'i-0a1b2c3d4e5f60718',
  token: 'a3c1e9f0-4b2d-4e8f-9a7c-5d6e0f1b2c3d',
  group: 'prod-spot-asg',
  clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod',
  containerInstanceArn:
    'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/9f8e7d6c5b4a43219876fedcba012345',
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/4c3b2a190f8e47d6a5b4c3d2e1f0a9b8',
};

/** Auto Scaling's terminating notification for the good instance, sent a moment ago (raw delivery). */
function goodNotification(): string {
  return JSON.stringify({
    Origin: 'AutoScalingGroup',
    LifecycleHookName: 'ecs-drain',
    Destination: 'EC2',
    AccountId: '123456789012',
    RequestId: '0b7e4c2a-9d1f-4a3e-8b6c-5f2d1e0a9c87',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    AutoScalingGroupName: GOOD.group,
    Service: 'AWS Auto Scaling',
    Time: new Date(Date.now() - 2000).toISOString(),
    EC2InstanceId: GOOD.instanceId,
    NotificationMetadata: '{"cluster":"prod"}',
    LifecycleActionToken: GOOD.token,
  });
}

/** ECS's event for the last task of the good (draining) instance, emitted a moment ago. */
function goodTaskStopped(): string {
  return JSON.stringify({
    version: '0',
    id: '7c6b5a49-3e2d-4f1c-8b0a-9e8d7c6b5a49',
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: '123456789012',
    time: new Date(Date.now() - 2000).toISOString(),
    region: 'us-east-1',
    resources: [GOOD.taskArn],
    detail: {
      clusterArn: GOOD.clusterArn,
      containerInstanceArn: GOOD.containerInstanceArn,
      launchType: 'EC2',
      group: 'service:web',
      desiredStatus: 'STOPPED',
      lastStatus: 'STOPPED',
      stopCode: 'ServiceSchedulerInitiated',
      stoppedReason: 'Service web: container instance is in DRAINING state',
      taskArn: GOOD.taskArn,
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:10',
      version: 5,
    },
  });
}

/** Auto Scaling's launching notification of our launch hook for the good instance, a moment ago (raw delivery). */
function goodLaunching(): string {
  return JSON.stringify({
    Origin: 'EC2',
    LifecycleHookName: 'ecs-drain-launch',
    Destination: 'AutoScalingGroup',
    AccountId: '123456789012',
    RequestId: '9a1c7f0e-3b2d-4c5e-8f6a-7b8c9d0e1f2a',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    AutoScalingGroupName: GOOD.group,
    Service: 'AWS Auto Scaling',
    Time: new Date(Date.now() - 2000).toISOString(),
    EC2InstanceId: GOOD.instanceId,
    NotificationMetadata: '{"cluster":"prod"}',
    LifecycleActionToken: GOOD.token,
  });
}

const GOOD_BODIES: Record<FunctionName, () => string> = {
  'start-drain': goodNotification,
  'finish-drain': goodTaskStopped,
  'launch-readiness': goodLaunching,
};

const goodRecord = (fn: FunctionName) => sqsRecord(fn, GOOD_BODIES[fn](), GOOD_MESSAGE_ID);

/**
 * start-drain: the good instance has one ACTIVE container instance with two running tasks, so its
 * drain starts (PutAttributes, UpdateContainerInstancesState) and nothing completes.
 */
function givenGoodStartWorld(): void {
  const instance = {
    containerInstanceArn: GOOD.containerInstanceArn,
    ec2InstanceId: GOOD.instanceId,
    status: 'ACTIVE',
    agentConnected: true,
    runningTasksCount: 2,
    pendingTasksCount: 0,
  };
  ecs.on(ListContainerInstancesCommand).callsFake((input: ListContainerInstancesCommandInput) => ({
    containerInstanceArns:
      input.filter?.includes(GOOD.instanceId) === true ? [GOOD.containerInstanceArn] : [],
  }));
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [instance], failures: [] });
  ecs
    .on(UpdateContainerInstancesStateCommand)
    .resolves({ containerInstances: [{ ...instance, status: 'DRAINING' }], failures: [] });
}

/**
 * finish-drain: the good instance has been draining for a minute, its last task just stopped, and
 * it waits on our hook in Terminating:Wait: its lifecycle action is completed.
 */
function givenGoodFinishWorld(): void {
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: [
      {
        containerInstanceArn: GOOD.containerInstanceArn,
        ec2InstanceId: GOOD.instanceId,
        status: 'DRAINING',
        agentConnected: true,
        runningTasksCount: 0,
        pendingTasksCount: 0,
        attributes: [{ name: 'ecs-drain.started-at', value: new Date(Date.now() - 60_000).toISOString() }],
      },
    ],
    failures: [],
  });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [GOOD.containerInstanceArn] });
  ecs.on(ListTasksCommand).resolves({ taskArns: [GOOD.taskArn] });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: [
      {
        taskArn: GOOD.taskArn,
        containerInstanceArn: GOOD.containerInstanceArn,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        version: 5,
      },
    ],
  });
  autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: GOOD.instanceId,
        AutoScalingGroupName: GOOD.group,
        LifecycleState: 'Terminating:Wait',
        AvailabilityZone: 'us-east-1a',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
      },
    ],
  });
}

/**
 * launch-readiness: the good instance waits in Pending:Wait on our launch hook, and its container
 * instance is ACTIVE in prod with the agent connected: its launch action is completed with CONTINUE.
 */
function givenGoodLaunchWorld(): void {
  autoScaling.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: GOOD.instanceId,
        InstanceType: 'm6i.large',
        AutoScalingGroupName: GOOD.group,
        AvailabilityZone: 'us-east-1a',
        LifecycleState: 'Pending:Wait',
        HealthStatus: 'HEALTHY',
        LaunchTemplate: {
          LaunchTemplateId: 'lt-0a1b2c3d4e5f60718',
          LaunchTemplateName: 'prod-ecs',
          Version: '7',
        },
        ProtectedFromScaleIn: false,
      },
    ],
  });
  ecs.on(ListContainerInstancesCommand).callsFake((input: ListContainerInstancesCommandInput) => ({
    containerInstanceArns:
      input.cluster === 'prod' && input.filter?.includes(GOOD.instanceId) === true
        ? [GOOD.containerInstanceArn]
        : [],
  }));
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: [
      {
        containerInstanceArn: GOOD.containerInstanceArn,
        ec2InstanceId: GOOD.instanceId,
        status: 'ACTIVE',
        agentConnected: true,
        runningTasksCount: 0,
        pendingTasksCount: 0,
        registeredAt: new Date(Date.now() - 30_000),
        attributes: [{ name: 'ecs.ami-id', value: 'ami-0new0000000000002' }],
      },
    ],
    failures: [],
  });
}

const GOOD_WORLDS: Record<FunctionName, () => void> = {
  'start-drain': givenGoodStartWorld,
  'finish-drain': givenGoodFinishWorld,
  'launch-readiness': givenGoodLaunchWorld,
};

/** What the good record alone makes happen; a mixed batch must make exactly this happen. */
function expectGoodRecordProcessed(fn: FunctionName): void {
  if (fn === 'start-drain') {
    const filters = ecs.commandCalls(ListContainerInstancesCommand).map((call) => call.args[0].input.filter);
    expect(filters).toEqual([`ec2InstanceId == ${GOOD.instanceId}`]);
    expect(ecs).toHaveReceivedCommandWith(PutAttributesCommand, {
      cluster: 'prod',
      attributes: [
        expect.objectContaining({ name: 'ecs-drain.started-at', targetId: GOOD.containerInstanceArn }),
      ],
    });
    expect(ecs).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [GOOD.containerInstanceArn],
      status: 'DRAINING',
    });
    expect(mutationsMade().sort()).toEqual(['PutAttributesCommand', 'UpdateContainerInstancesStateCommand']);
  } else if (fn === 'launch-readiness') {
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    const [completed] = autoScaling.commandCalls(CompleteLifecycleActionCommand);
    const { InstanceId, LifecycleActionToken, ...rest } = completed?.args[0].input ?? {};
    expect(rest).toEqual({
      AutoScalingGroupName: GOOD.group,
      LifecycleHookName: 'ecs-drain-launch',
      LifecycleActionResult: 'CONTINUE',
    });
    // The action is named by its token or by the instance, and either is the good one's.
    expect(InstanceId === GOOD.instanceId || LifecycleActionToken === GOOD.token).toBe(true);
    expect(mutationsMade()).toEqual(['CompleteLifecycleActionCommand']);
  } else {
    const described = ecs
      .commandCalls(DescribeContainerInstancesCommand)
      .flatMap((call) => call.args[0].input.containerInstances ?? []);
    expect(new Set(described)).toEqual(new Set([GOOD.containerInstanceArn]));
    expect(autoScaling).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(autoScaling).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GOOD.group,
      LifecycleHookName: 'ecs-drain',
      InstanceId: GOOD.instanceId,
      LifecycleActionResult: 'CONTINUE',
    });
    expect(mutationsMade()).toEqual(['CompleteLifecycleActionCommand']);
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions shared by every case
// ---------------------------------------------------------------------------------------------

/** Longest acceptable log line: one clear line, never the payload that was wrong. */
const MAX_LINE = 4096;

/** (1) The log: one error line naming what was wrong and where, or, for traffic not ours, no error line. */
function expectLogsFor(badCase: BadInputCase): void {
  const problems = linesAt('WARN', 'ERROR', 'CRITICAL');
  const { expect: expected } = badCase;
  if (expected.outcome === 'rejected') {
    expect(problems).toHaveLength(1);
    const [line] = problems;
    expect(line).toMatchObject({
      level: 'ERROR',
      message: expect.stringMatching(/rejected/),
      reason: expect.stringContaining(expected.reason),
      field: expected.field,
    });
    // One clear line: no stack trace, no error object, not the payload itself.
    expect(line).not.toHaveProperty('stack');
    expect(line).not.toHaveProperty('error');
    expect(line?.length).toBeLessThan(MAX_LINE);
    if ('value' in expected) expect(line?.value).toEqual(expected.value);
    expect(counted.filter((metric) => metric === 'MessageRejected')).toHaveLength(1);
  } else {
    expect(problems).toEqual([]);
    const level = expected.level.toUpperCase();
    const skipped = logLines.filter(
      (line) => line.level === level && String(line.reason ?? '').includes(expected.reason),
    );
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.length).toBeLessThan(MAX_LINE);
    expect(counted).not.toContain('MessageRejected');
  }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

beforeEach(() => {
  ecs.reset();
  autoScaling.reset();
  sns.reset();
  // Any call a bad message might make succeeds, so that it goes on to act and shows here.
  ecs.onAnyCommand().resolves({});
  autoScaling.onAnyCommand().resolves({});
  sns.onAnyCommand().resolves({ MessageId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' });
  logLines = [];
  counted = [];
  captureLogLines();
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('the corpus', () => {
  it('holds the cases it was written for, each file readable', () => {
    const files = new Set(cases.map((c) => c.file.replace(/\.json$/, '')));
    const required = [
      ...[
        'body-not-json',
        'body-json-array',
        'body-json-string',
        'body-empty',
        'body-truncated',
        'body-oversized',
        'missing-token',
        'missing-instance-id',
        'instance-id-not-string',
        'unknown-transition',
        'foreign-hook',
        'group-not-served',
        'metadata-not-json',
        'metadata-unserved-cluster',
        'metadata-cluster-not-the-groups',
        'sns-message-not-json',
        'test-notification',
      ].map((slug) => `start-drain.${slug}`),
      ...[
        'body-not-json',
        'other-detail-type',
        'missing-detail',
        'missing-task-arn',
        'last-status-not-string',
        'unserved-cluster',
        'fargate-task',
        'record-without-body',
        'record-without-message-id',
        'empty-event',
        'records-not-array',
      ].map((slug) => `finish-drain.${slug}`),
      ...[
        'body-not-json',
        'body-json-array',
        'body-json-string',
        'body-empty',
        'body-truncated',
        'body-oversized',
        'missing-token',
        'token-not-uuid',
        'instance-id-not-an-id',
        'foreign-hook',
        'terminating-notification',
        'group-not-served',
        'metadata-other-cluster',
        'metadata-not-json',
        'test-notification',
        'sns-message-not-json',
        'missing-detail',
        'ec2-instance-id-not-an-id',
        'agent-connected-not-boolean',
        'cluster-arn-not-arn',
        'container-instance-arn-not-arn',
        'unserved-cluster',
        'status-draining',
        'agent-disconnected',
        'registered-a-day-ago',
        'record-without-body',
        'record-without-message-id',
        'not-an-sqs-batch',
      ].map((slug) => `launch-readiness.${slug}`),
    ];
    expect(required.filter((name) => !files.has(name))).toEqual([]);
    for (const badCase of cases) expect(badCase.file.startsWith(`${badCase.function}.`)).toBe(true);
  });

  it.each(['start-drain', 'finish-drain', 'launch-readiness'] as const)(
    'control: the good record alone is processed by %s (so a mixed batch can fail)',
    async (fn) => {
      GOOD_WORLDS[fn]();

      const response = await newHandler(fn)({ Records: [goodRecord(fn)] });

      expect(response).toEqual({ batchItemFailures: [] });
      expectGoodRecordProcessed(fn);
      expect(linesAt('WARN', 'ERROR', 'CRITICAL')).toEqual([]);
    },
  );
});

describe.each(cases.map((badCase) => [badCase.file, badCase] as const))('%s', (_file, badCase) => {
  const verdict =
    badCase.expect.outcome === 'rejected' ? `rejected, naming ${badCase.expect.field}` : 'ignored';
  // A known bug: the case documents the expected behaviour, and its tests pass while they fail.
  const caseTest = badCase.knownBug === undefined ? it : it.failing;
  const known = badCase.knownBug === undefined ? '' : ' [known bug]';

  caseTest(`${badCase.name}: ${verdict}, no AWS call, not retried${known}`, async () => {
    const handle = newHandler(badCase.function);

    const response = await handle(eventAlone(badCase));

    // (3) Dropped, not returned to the queue: it can never succeed.
    expect(response).toEqual({ batchItemFailures: [] });
    // (2) No mutation, and no AWS call at all.
    expect(mutationsMade()).toEqual([]);
    expect(allCalls()).toHaveLength(0);
    // (1) What the log says.
    expectLogsFor(badCase);
  });

  // A case that is a whole event (not an SQS batch at all) has no record to mix with a good one.
  const records = badRecords(badCase);
  if (records === undefined) return;
  caseTest(
    `${badCase.name}: in a batch with a good record, only the good one is acted on${known}`,
    async () => {
      GOOD_WORLDS[badCase.function]();
      const handle = newHandler(badCase.function);

      const response = await handle({ Records: [...records, goodRecord(badCase.function)] });

      // (4) The good record is processed normally; the bad one is dropped, and neither is retried.
      expect(response).toEqual({ batchItemFailures: [] });
      expectGoodRecordProcessed(badCase.function);
      expectLogsFor(badCase);
    },
  );
});
