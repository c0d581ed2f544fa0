import { decideOnLaunchMessage, type LaunchCandidate } from '../../shared/decisions/launch-message';
import type { FunctionDependencies } from '../../shared/drain/drive-hosts';
import { readSqsBatch, reject } from '../../shared/drain/sqs-batch';
import { driveLaunches, launchContainerDeps, type LaunchDeps } from '../../shared/launch/drive-launches';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { RetryLaterError } from '../../shared/drain/act';
import { setDeadlines } from '../../shared/drain/sqs-batch';

export type LaunchReadinessDependencies = FunctionDependencies & Pick<LaunchDeps, 'imageOf'>;

/**
 * SQS (the launch hook's notifications, and "ECS Container Instance State Change" events of the
 * served clusters -> queue -> this function): lets each new instance our launch hook holds go into
 * service once its container instance is ACTIVE in its group's cluster with the agent connected, and
 * abandons one that registered in another cluster, runs another AMI than its launch template names,
 * or is still not ready after LaunchTimeout. The reconciler looks at every held launch each minute,
 * so a lost event costs a minute or two, not a launch.
 *
 * Returns the messages of instances whose reads or completion failed (ReportBatchItemFailures); a
 * message that can never succeed is logged once, naming the field, and dropped.
 */
export function createLaunchReadinessHandler(dependencies: LaunchReadinessDependencies) {
  const { config, telemetry } = dependencies;
  const deps = launchContainerDeps(dependencies);
  const { timing } = deps;
  return async (
    event: SQSEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SQSBatchResponse> => {
    // As the drain handlers do: no launch answered in the last seconds before Lambda's timeout, and no
    // completion queued behind the container's Auto Scaling share past its end.
    setDeadlines(deps, context);
    try {
      const records = readSqsBatch(event, telemetry);
      telemetry.measure('BatchSize', records.length);
      const candidates: (LaunchCandidate & { messageId: string })[] = [];
      for (const { messageId, body } of records) {
        const decision = decideOnLaunchMessage(body, config, timing.now());
        if (decision.kind === 'reject') {
          const { reason, field, value } = decision;
          reject(telemetry, reason, { messageId, field, value });
        } else if (decision.kind === 'ignore') {
          telemetry.logger.debug('message skipped', { messageId, reason: decision.reason });
        } else candidates.push({ ...decision.candidate, messageId });
      }
      const results = await driveLaunches(candidates, deps);
      // Every message about an instance shares its fate.
      const batchItemFailures: SQSBatchItemFailure[] = [];
      for (const { candidate, error } of results) {
        if (error === undefined) continue;
        const messageIds = candidates
          .filter((each) => each.instanceId === candidate.instanceId)
          .map(({ messageId }) => messageId);
        // Handed back by design (the invocation's time or share ran out) is news, not an error.
        const log = error instanceof RetryLaterError ? telemetry.logger.info : telemetry.logger.error;
        log.call(telemetry.logger, 'launch not settled: its messages will be retried', {
          instanceId: candidate.instanceId,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          messages: messageIds.length,
        });
        for (const itemIdentifier of messageIds) batchItemFailures.push({ itemIdentifier });
      }
      return { batchItemFailures };
    } finally {
      telemetry.publish();
    }
  };
}
