import { decideOnTaskEvent, type TaskOnHost } from '../../shared/decisions/task-event';
import type { AnnouncedStop } from '../../shared/drain/container-memory';
import { type BatchHost, type FunctionDependencies, newHost } from '../../shared/drain/drive-hosts';
import { reject, sqsBatchHandler } from '../../shared/drain/sqs-batch';
import { parseJson } from '../../shared/events/json';
import { TaskStateChangeEvent } from '../../shared/events/task-state-change';

export type FinishDrainDependencies = FunctionDependencies;

/**
 * SQS (EventBridge rule -> queue -> this function): batches of "ECS Task State Change" events, two
 * per task: ECS telling it to stop, and its STOPPED. STOPPED events are grouped by container
 * instance and duplicates collapse, so a batch costs one DescribeContainerInstances per hundred
 * hosts however many tasks stopped; only draining hosts go on to further reads. A told-to-stop
 * event only tells the host's later checks that a STOPPED event is still to come. Completes a
 * host's lifecycle action once no task on it runs.
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
    const { task } = decision;
    if (task.stopped) {
      deps.stoppedTasks.remember(task.taskArn, task.version);
      deps.announcedStops.stopped(task.containerInstanceArn, task.taskArn);
      addToHost(hosts, task, messageId, deps.announcedStops.of(task.containerInstanceArn));
    } else {
      // Told to stop: remembered, and known to a host this batch decides anyway; it decides nothing alone.
      const { taskArn, version, emittedAt, stoppedByDrain } = task;
      const stop = { taskArn, version, emittedAt, stoppedByDrain };
      if (!deps.stoppedTasks.has(taskArn)) deps.announcedStops.announce(task.containerInstanceArn, stop);
      const host = hosts.get(hostKey(task));
      if (host !== undefined) addAnnounced(host, [stop]);
    }
  });
}

function hostKey(task: TaskOnHost): string {
  return `${task.clusterArn} ${task.containerInstanceArn}`;
}

/** Groups a STOPPED event with the others about the same container instance; a repeated event adds nothing. */
function addToHost(
  hosts: Map<string, BatchHost>,
  task: TaskOnHost,
  messageId: string,
  announced: AnnouncedStop[],
): void {
  let host = hosts.get(hostKey(task));
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
    hosts.set(hostKey(task), host);
  }
  host.messageIds.add(messageId);
  const { snapshot } = host;
  snapshot.newestEventAt = Math.max(snapshot.newestEventAt ?? task.emittedAt, task.emittedAt);
  if (!snapshot.stoppedByEvents.some((known) => known.taskArn === task.taskArn)) {
    const { taskArn, version, emittedAt, stoppedByDrain } = task;
    snapshot.stoppedByEvents.push({ taskArn, version, emittedAt, stoppedByDrain });
  }
  addAnnounced(host, announced);
}

function addAnnounced(host: BatchHost, stops: AnnouncedStop[]): void {
  const known = (host.snapshot.stoppingByEvents ??= []);
  for (const stop of stops) if (!known.some((each) => each.taskArn === stop.taskArn)) known.push(stop);
}
