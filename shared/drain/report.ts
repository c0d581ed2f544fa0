import type { LifecycleCallOutcome } from '../aws/auto-scaling';
import { count, logger } from '../observability';

/** One log line and one metric for every lifecycle action this controller answers. */
export function reportCompletion(
  outcome: LifecycleCallOutcome,
  context: { instanceId: string; cluster: string; why: string },
): void {
  if (outcome === 'done') {
    count('LifecycleActionCompleted');
    logger.info('lifecycle action completed with CONTINUE', context);
  } else {
    count('LifecycleActionAlreadyGone');
    logger.info('lifecycle action already gone: someone finished first', context);
  }
}
