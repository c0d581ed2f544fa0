import type { EventBridgeHandler } from 'aws-lambda';
import { loadConfig } from '../../shared/config';
import { decideOnTaskEvent } from '../../shared/decisions/task-event';
import { finishDrainAfterTaskStopped } from '../../shared/drain/finish-drain';
import { TaskStateChangeEvent } from '../../shared/events/task-state-change';
import { count, logger, publishMetrics } from '../../shared/observability';

const config = loadConfig();

/**
 * EventBridge: "ECS Task State Change" with lastStatus STOPPED. Completes the lifecycle action once
 * the draining host runs no task any more. AWS errors are thrown so Lambda retries the event.
 */
export const handler: EventBridgeHandler<string, unknown, void> = async (event) => {
  try {
    const parsed = TaskStateChangeEvent.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      count('MessageRejected');
      logger.error('message rejected and dropped: it can never succeed', {
        reason: `malformed ECS Task State Change event: ${issue?.message}`,
        field: issue?.path.join('.'),
        eventId: (event as { id?: unknown } | undefined)?.id,
      });
      return;
    }
    const decision = decideOnTaskEvent(parsed.data, config);
    if (decision.kind === 'ignore') {
      logger.debug('task event skipped', { taskArn: parsed.data.detail.taskArn, reason: decision.reason });
      return;
    }
    await finishDrainAfterTaskStopped(decision.task, config);
  } finally {
    publishMetrics();
  }
};
