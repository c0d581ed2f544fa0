import { decideOnTaskEvent, type StoppedTask } from '../../shared/decisions/task-event';
import { type BatchHost, type FunctionDependencies, newHost } from '../../shared/drain/drive-hosts';
import { reject, sqsBatchHandler } from '../../shared/drain/sqs-batch';
import { parseJson } from '../../shared/events/json';
import { TaskStateChangeEvent } from '../../shared/events/task-state-change';

export type FinishDrainDependencies = FunctionDependencies;

/**
 * SQS (EventBridge rule -> queue -> this function): batches of "ECS Task State Change" events with
 * lastStatus STOPPED. Events are grouped by container instance and duplicates collapse, so a batch
 * costs one DescribeContainerInstances per hundred hosts however many tasks stopped; only draining
 * hosts go on to further reads. Completes a host's lifecycle action once no task on it runs.
 *
 * Returns the messages of hosts whose reads or actions failed (ReportBatchItemFailures), so one
 * failing host does not re-drive the others. A malformed message is logged once and dropped.
 *
 * Each call of this factory is one Lambda container: its heartbeat pacing and its memory of
 * stopped tasks live as long as the handler it returns.
 */
export function createFinishDrainHandler(dependencies: FinishDrainDependencies) {
  const { config, telemetry } = dependencies;
  return sqsBatchHandler(dependencies, 'event', ({ messageId, body }, hosts, deps) => {
    const parsed = TaskStateChangeEvent.safeParse(parseJson(body));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reject(telemetry, `body is not an ECS Task State Change event: ${issue?.message}`, {
        messageId,
        field: ['body', ...(issue?.path ?? [])].join('.'),
      });
    }
    const decision = decideOnTaskEvent(parsed.data, config);
    if (decision.kind === 'ignore') {
      return telemetry.logger.debug('task event skipped', { messageId, reason: decision.reason });
    }
    deps.stoppedTasks.remember(decision.task.taskArn, decision.task.version);
    addToHost(hosts, decision.task, messageId);
  });
}

/** Groups the event with the others about the same container instance; a repeated event adds nothing. */
function addToHost(hosts: Map<string, BatchHost>, task: StoppedTask, messageId: string): void {
  const key = `${task.clusterArn} ${task.containerInstanceArn}`;
  let host = hosts.get(key);
  if (host === undefined) {
    host = {
      ...newHost(
        {
          cluster: task.clusterArn,
          containerInstanceArns: [task.containerInstanceArn],
          stoppedByEvents: [],
          newestEventAt: task.emittedAt,
        },
        { containerInstanceArn: task.containerInstanceArn },
      ),
      messageIds: new Set(),
    };
    hosts.set(key, host);
  }
  host.messageIds.add(messageId);
  const { snapshot } = host;
  snapshot.newestEventAt = Math.max(snapshot.newestEventAt ?? task.emittedAt, task.emittedAt);
  if (!snapshot.stoppedByEvents.some((known) => known.taskArn === task.taskArn)) {
    const { taskArn, version, emittedAt, stoppedByDrain } = task;
    snapshot.stoppedByEvents.push({ taskArn, version, emittedAt, stoppedByDrain });
  }
}
