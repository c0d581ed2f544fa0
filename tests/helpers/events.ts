import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ControllerConfig, DRAIN_POLICY_DEFAULTS } from '../../shared/config';

const eventsDir = join(__dirname, '..', '..', 'events');

/** Loads a sample event from events/, the same files `sam local invoke -e` uses. */
export function loadEvent<T>(name: string): T {
  return JSON.parse(readFileSync(join(eventsDir, name), 'utf8')) as T;
}

/** The configuration of tests/setup-env.ts, for the pure decision modules. */
export const testConfig: ControllerConfig = {
  clusters: ['prod'],
  groups: [{ autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' }],
  lifecycleHookName: 'ecs-drain',
  heartbeatTimeoutSeconds: 1800,
  ...DRAIN_POLICY_DEFAULTS,
};

export const INSTANCE_ID = 'i-05629ab7d9287e205';
export const TOKEN = '465e0162-e6af-4786-b4e8-bb544ae58790';
export const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
export const CONTAINER_INSTANCE_ARN =
  'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/b54a2a04046f43319d743f6d7f6ca315';
export const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/prod/c50e321c974248dbaf4ae2cfa1662986';

/** The lifecycle message Auto Scaling published in the sample terminating notification. */
export function terminatingMessage(): Record<string, unknown> {
  const event = loadEvent<SQSEvent>('lifecycle-terminating.json');
  return JSON.parse(event.Records[0]?.body ?? '{}');
}

/** The sample terminating notification with its message changed (a field set to undefined is removed). */
export function terminatingNotification(changes: Record<string, unknown> = {}): SQSEvent {
  return notificationWithMessage(JSON.stringify({ ...terminatingMessage(), ...changes }));
}

/** The sample SQS batch (raw delivery from the hook's topic) carrying any message text. */
export function notificationWithMessage(message: string): SQSEvent {
  const event = loadEvent<SQSEvent>('lifecycle-terminating.json');
  const record = event.Records[0];
  if (record === undefined) throw new Error('sample event has no record');
  record.body = message;
  return event;
}

/**
 * An SQS batch from the lifecycle queue, one record per Auto Scaling message (raw delivery), each
 * with a messageId of its own. A string is taken as the body itself (an SNS envelope, say).
 */
export function lifecycleBatch(...messages: (Record<string, unknown> | string)[]): SQSEvent {
  return {
    Records: messages.map((message) =>
      recordFrom(
        'lifecycle-terminating.json',
        typeof message === 'string' ? message : JSON.stringify(message),
      ),
    ),
  };
}

/**
 * What the queue receives from the topic when raw message delivery is off: SNS's JSON envelope,
 * whose `Message` is the text Auto Scaling published.
 */
export function snsEnvelope(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-drain-HookTopic-AbCdEf012345',
    Subject: "Auto Scaling:  Lifecycle action 'TERMINATING' for instance i-05629ab7d9287e205",
    Message: message,
    Timestamp: '2026-01-10T11:58:43.936Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLEpH+..',
    SigningCertURL:
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
    UnsubscribeURL:
      'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ecs-drain-HookTopic-AbCdEf012345:6f1e2d3c',
  });
}

type TaskEvent = EventBridgeEvent<'ECS Task State Change', Record<string, unknown>>;

/** The sample task-stopped event with some detail fields changed (undefined removes a field). */
export function taskStoppedEvent(detailChanges: Record<string, unknown> = {}): TaskEvent {
  const event = loadEvent<TaskEvent>('task-stopped.json');
  event.detail = { ...event.detail, ...detailChanges };
  return event;
}

/** The sample task-stopped event of another task on another container instance (its own host). */
export function taskStoppedOn(
  containerInstanceArn: string,
  taskArn: string,
  detailChanges: Record<string, unknown> = {},
): TaskEvent {
  const event = taskStoppedEvent({ containerInstanceArn, taskArn, ...detailChanges });
  event.resources = [taskArn];
  return event;
}

/** A container instance ARN of the sample cluster, from a short suffix. */
export function containerInstanceArn(suffix: string | number): string {
  return `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${suffix}`;
}

/** A task ARN of the sample cluster, from a short suffix. */
export function taskArn(suffix: string | number): string {
  return `arn:aws:ecs:us-east-1:123456789012:task/prod/${suffix}`;
}

let messageCount = 0;

/**
 * One SQS record as Lambda hands it over (see events/task-stopped-batch.json), carrying any body
 * text; each gets a messageId of its own.
 */
export function sqsRecord(body: string, messageId = nextMessageId()): SQSRecord {
  return recordFrom('task-stopped-batch.json', body, messageId);
}

/** The first record of a sample batch in events/, with another body and a messageId of its own. */
function recordFrom(sampleFile: string, body: string, messageId = nextMessageId()): SQSRecord {
  const sample = loadEvent<SQSEvent>(sampleFile).Records[0];
  if (sample === undefined) throw new Error(`${sampleFile} has no record`);
  return { ...sample, messageId, receiptHandle: `SimulatedReceiptHandle==${messageId}`, body };
}

/** An SQS batch of events delivered by the EventBridge rule to the task event queue, one record each. */
export function sqsBatch(...events: unknown[]): SQSEvent {
  return { Records: events.map((event) => sqsRecord(JSON.stringify(event))) };
}

/** The messageIds of a batch's records, to compare with batchItemFailures. */
export function messageIdsOf(event: SQSEvent | SQSRecord[]): string[] {
  return ('Records' in event ? event.Records : event).map((record) => record.messageId);
}

function nextMessageId(): string {
  messageCount += 1;
  return `00000000-0000-4000-8000-${String(messageCount).padStart(12, '0')}`;
}

export const lambdaContext = {} as Context;
export const noCallback = () => undefined;
