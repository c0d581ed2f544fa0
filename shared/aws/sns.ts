import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

/** One alert about one drain, as an operator paged at night reads it. */
export interface AlertMessage {
  /** What happened, in a few words (the email subject). */
  subject: string;
  /** Which alert (deadline, cannot-progress, lost-notification, lost-event). */
  key: string;
  cluster: string;
  instanceId?: string;
  autoScalingGroupName?: string;
  summary: string;
}

/**
 * Publishes alerts to the stack's alert topic. It receives its client; without a topic (none
 * configured) alerts are only logged by the caller.
 */
export class AlertPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string | undefined,
  ) {}

  get enabled(): boolean {
    return this.topicArn !== undefined;
  }

  async publish(alert: AlertMessage): Promise<void> {
    if (this.topicArn === undefined) return;
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        // SNS subjects: at most 100 printable ASCII characters.
        Subject: alert.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
        Message: JSON.stringify(alert, null, 2),
        MessageAttributes: { key: { DataType: 'String', StringValue: alert.key } },
      }),
    );
  }
}
