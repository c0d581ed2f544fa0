import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, EventBridgeEvent, SNSEvent } from 'aws-lambda';
import type { ControllerConfig } from '../../shared/config';

const eventsDir = join(__dirname, '..', '..', 'events');

/** Loads a sample event from events/, the same files `sam local invoke -e` uses. */
export function loadEvent<T>(name: string): T {
  return JSON.parse(readFileSync(join(eventsDir, name), 'utf8')) as T;
}

/** The configuration of tests/setup-env.ts, for the pure decision modules. */
export const testConfig: ControllerConfig = {
  clusterName: 'prod',
  autoScalingGroupName: 'prod-ecs-asg',
  lifecycleHookName: 'ecs-drain',
  heartbeatTimeoutSeconds: 1800,
};

export const INSTANCE_ID = 'i-05629ab7d9287e205';
export const TOKEN = '465e0162-e6af-4786-b4e8-bb544ae58790';
export const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
export const CONTAINER_INSTANCE_ARN =
  'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/b54a2a04046f43319d743f6d7f6ca315';
export const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/prod/c50e321c974248dbaf4ae2cfa1662986';

/** The parsed lifecycle message inside the sample terminating notification. */
export function terminatingMessage(): Record<string, unknown> {
  const event = loadEvent<SNSEvent>('lifecycle-terminating.json');
  return JSON.parse(event.Records[0]?.Sns.Message ?? '{}');
}

/** The sample terminating notification with its message changed (a field set to undefined is removed). */
export function terminatingNotification(changes: Record<string, unknown> = {}): SNSEvent {
  return notificationWithMessage(JSON.stringify({ ...terminatingMessage(), ...changes }));
}

/** The sample SNS envelope carrying any raw message text. */
export function notificationWithMessage(message: string): SNSEvent {
  const event = loadEvent<SNSEvent>('lifecycle-terminating.json');
  const record = event.Records[0];
  if (record === undefined) throw new Error('sample event has no record');
  record.Sns.Message = message;
  return event;
}

type TaskEvent = EventBridgeEvent<'ECS Task State Change', Record<string, unknown>>;

/** The sample task-stopped event with some detail fields changed (undefined removes a field). */
export function taskStoppedEvent(detailChanges: Record<string, unknown> = {}): TaskEvent {
  const event = loadEvent<TaskEvent>('task-stopped.json');
  event.detail = { ...event.detail, ...detailChanges };
  return event;
}

export const lambdaContext = {} as Context;
export const noCallback = () => undefined;
