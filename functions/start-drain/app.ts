import { decideOnNotification, type DrainRequest } from '../../shared/decisions/notification';
import { type BatchHost, type FunctionDependencies, newHost } from '../../shared/drain/drive-hosts';
import { reject, sqsBatchHandler } from '../../shared/drain/sqs-batch';
import { snsMessageOf } from '../../shared/events/sns-envelope';

export type StartDrainDependencies = FunctionDependencies;

/**
 * SQS (lifecycle hook -> SNS topic -> queue -> this function): batches of Auto Scaling lifecycle
 * notifications, as raw JSON. Sets each terminating instance's container instances to DRAINING,
 * and completes at once when there is nothing to drain. The instances of a batch are looked up
 * together: twenty per ListContainerInstances, a hundred per DescribeContainerInstances.
 *
 * Returns the messages of instances whose reads or actions failed (ReportBatchItemFailures); a
 * message that can never succeed is logged once, naming the field, and dropped.
 */
export function createStartDrainHandler(dependencies: StartDrainDependencies) {
  const { config, telemetry } = dependencies;
  return sqsBatchHandler(dependencies, 'start', ({ messageId, body }, hosts, deps) => {
    const decision = decideOnNotification(snsMessageOf(body).message, config);
    if (decision.kind === 'ignore') {
      telemetry.logger.info('message skipped', { messageId, reason: decision.reason });
    } else if (decision.kind === 'reject') {
      const { reason, field, value } = decision;
      reject(telemetry, reason, { messageId, field, value });
    } else {
      telemetry.logger.info('terminating lifecycle action received: starting drain', {
        messageId,
        ...decision.request,
      });
      addToHost(hosts, decision.request, messageId, deps.timing.now());
    }
  });
}

/** The notification tells us the action waits on our hook, and its timer started when it was sent. */
function addToHost(
  hosts: Map<string, BatchHost>,
  request: DrainRequest,
  messageId: string,
  now: number,
): void {
  const key = `${request.cluster} ${request.instanceId}`;
  const sentAt = request.sentAt ?? now;
  const known = hosts.get(key);
  if (known !== undefined) {
    known.messageIds.add(messageId);
    // A newer notification for the same instance names the action that waits now.
    if (sentAt > (known.snapshot.newestEventAt ?? 0)) {
      known.lifecycleActionToken = request.lifecycleActionToken;
      known.snapshot.newestEventAt = sentAt;
      known.snapshot.lastHeartbeatAt = sentAt;
    }
    return;
  }
  const host = newHost(
    {
      cluster: request.cluster,
      ec2InstanceId: request.instanceId,
      containerInstanceArns: [],
      stoppedByEvents: [],
      lifecycle: {
        autoScalingGroupName: request.autoScalingGroupName,
        lifecycleState: request.destination === 'WarmPool' ? 'Warmed:Pending:Wait' : 'Terminating:Wait',
      },
      newestEventAt: sentAt,
      lastHeartbeatAt: sentAt,
    },
    { destination: request.destination },
    request.lifecycleActionToken,
  );
  hosts.set(key, { ...host, messageIds: new Set([messageId]) });
}
