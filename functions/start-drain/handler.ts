import type { SNSHandler } from 'aws-lambda';
import { loadConfig } from '../../shared/config';
import { decideOnNotification } from '../../shared/decisions/notification';
import { startDrain } from '../../shared/drain/start-drain';
import { SnsEnvelope, SnsRecord } from '../../shared/events/sns';
import { count, logger, publishMetrics } from '../../shared/observability';

const config = loadConfig();

/**
 * SNS: Auto Scaling lifecycle hook notifications. Sets the terminating instance to DRAINING.
 * AWS errors are thrown so Lambda retries the event; bad messages are logged once and dropped.
 */
export const handler: SNSHandler = async (event) => {
  try {
    const envelope = SnsEnvelope.safeParse(event);
    if (!envelope.success) {
      return reject('event is not an SNS notification', { field: 'Records' });
    }
    for (const [index, raw] of envelope.data.Records.entries()) {
      const record = SnsRecord.safeParse(raw);
      if (!record.success) {
        reject('SNS record has no Message', { field: `Records[${index}].Sns.Message` });
        continue;
      }
      const messageId = record.data.Sns.MessageId;
      const decision = decideOnNotification(record.data.Sns.Message, config);
      if (decision.kind === 'ignore') {
        logger.info('message skipped', { messageId, reason: decision.reason });
      } else if (decision.kind === 'reject') {
        const { reason, field, value } = decision;
        reject(reason, { messageId, field, value });
      } else {
        logger.info('terminating lifecycle action received: starting drain', {
          messageId,
          ...decision.request,
        });
        await startDrain(decision.request);
      }
    }
  } finally {
    publishMetrics();
  }
};

function reject(reason: string, details: Record<string, unknown>): void {
  count('MessageRejected');
  logger.error('message rejected and dropped: it can never succeed', { reason, ...details });
}
