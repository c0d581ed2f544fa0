import type { LifecycleActionRef, LifecycleCallOutcome } from '../aws/auto-scaling';
import type { DrainingResult } from '../aws/ecs';
import {
  type Alert,
  alertsSentInDrain,
  drainStartOf,
  type HostCommand,
  onlyGroupOf,
} from '../decisions/host';
import type { DrainDeps, Host } from './drive-hosts';

/** Not a failure of AWS: the decision wants another look later (see decideHost's `retry`). */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
}

/** Thrown for a refusal that may pass (e.g. an instance still REGISTERING): the event is retried. */
export class DrainRefusedError extends Error {
  override name = 'DrainRefusedError';
}

/**
 * Takes in ECS's answer to setting a host's container instances to DRAINING (the drain itself is
 * asked for many hosts at once, ten container instances per call: see driveHosts), and logs it.
 * A refusal other than MISSING throws: the host is retried.
 */
export function drained(
  host: Host,
  command: Extract<HostCommand, { kind: 'drain' }>,
  result: DrainingResult,
  deps: DrainDeps,
): void {
  const { snapshot } = host;
  const context = { ...host.context, instanceId: snapshot.ec2InstanceId, cluster: snapshot.cluster };
  const refused = result.failures.filter((failure) => failure.reason !== 'MISSING');
  if (refused.length > 0) {
    deps.logger.error('ECS refused to drain container instances', { ...context, failures: refused });
    throw new DrainRefusedError(
      `ECS refused DRAINING for ${refused.map((f) => `${f.arn} (${f.reason})`).join(', ')}`,
    );
  }
  // Use the fresh view ECS returned, and forget instances deregistered meanwhile.
  const missing = new Set(result.failures.map((failure) => failure.arn));
  const fresh = new Map(result.draining.map((instance) => [instance.arn, instance]));
  snapshot.containerInstances = (snapshot.containerInstances ?? [])
    .filter((instance) => !missing.has(instance.arn))
    .map((instance) => fresh.get(instance.arn) ?? instance);
  deps.count('DrainStarted');
  deps.logger.info('drain started: container instances set to DRAINING', {
    ...context,
    containerInstances: command.containerInstanceArns,
    reason: command.reason,
  });
}

/**
 * Carries out one decided command (other than a drain: see `drained`) and logs its reason once.
 */
export async function act(
  host: Host,
  command: Exclude<HostCommand, { kind: 'read' | 'drain' }>,
  deps: DrainDeps,
): Promise<void> {
  const { snapshot } = host;
  const context = { ...host.context, instanceId: snapshot.ec2InstanceId, cluster: snapshot.cluster };
  switch (command.kind) {
    case 'retry':
      // The caller retries what woke us up about this host (its messages come back to the queue).
      throw new RetryLaterError(command.reason);
    case 'complete': {
      const outcome = await deps.autoScaling.completeLifecycleAction(lifecycleAction(host, deps));
      reportCompletion(outcome, { ...context, reason: command.reason }, deps);
      if (outcome === 'done') recordDuration(host, deps);
      break;
    }
    case 'stop-tasks': {
      await deps.ecs.stopTasks(snapshot.cluster, command.taskArns, `ecs-drain: ${command.reason}`);
      deps.count('TasksStoppedByPolicy', command.taskArns.length);
      deps.logger.warn('tasks stopped', { ...context, reason: command.reason, tasks: command.taskArns });
      break;
    }
    case 'heartbeat': {
      const outcome = await restartHookTimer(host, deps);
      deps.logger.info(command.reason, {
        ...context,
        ...describeProgress(command.progress),
        heartbeat: outcome === 'done' ? 'recorded' : 'no lifecycle action of ours is waiting',
      });
      break;
    }
    case 'none': {
      const details = {
        ...context,
        reason: command.reason,
        ...(command.progress && describeProgress(command.progress)),
      };
      // Most task events in a busy cluster concern hosts that are not draining: not worth a line each.
      if (command.quiet) deps.logger.debug('no action', details);
      else deps.logger.info('no action', details);
      break;
    }
  }
  // The alert follows the action: a drain never waits on the alert topic, whatever happens to SNS.
  const alert = 'alert' in command ? command.alert : undefined;
  if (alert !== undefined) await alertOnce(host, alert, deps);
}

/**
 * Records a heartbeat for the host's lifecycle action, and when it was recorded: every container
 * and function paces its heartbeats from this one (without the record, a few more heartbeats).
 */
export async function restartHookTimer(host: Host, deps: DrainDeps): Promise<LifecycleCallOutcome> {
  const { snapshot } = host;
  const outcome = await deps.autoScaling.recordHeartbeat(lifecycleAction(host, deps));
  const at = snapshot.newestEventAt ?? deps.timing.now();
  if (snapshot.ec2InstanceId !== undefined) deps.heartbeats.sent(snapshot.ec2InstanceId, at);
  if (outcome === 'done') {
    deps.count('HeartbeatRecorded');
    await bestEffort('record the heartbeat time', host, deps, () =>
      deps.ecs.markHeartbeat(snapshot.cluster, liveInstances(host), at),
    );
  }
  return outcome;
}

/**
 * Bookkeeping the drain does not depend on (attributes that pace heartbeats or remember alerts): a
 * failure is logged, never passed on, so that it cannot hold up a drain or its completion.
 */
export async function bestEffort(
  what: string,
  host: Host,
  deps: DrainDeps,
  write: () => Promise<void>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    deps.logger.warn(`could not ${what}`, {
      ...host.context,
      instanceId: host.snapshot.ec2InstanceId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

function liveInstances(host: Host): string[] {
  return (host.snapshot.containerInstances ?? [])
    .filter((instance) => instance.status !== 'INACTIVE')
    .map((instance) => instance.arn);
}

/**
 * One alert per drain and key: counted, logged, published to the alert topic (when there is one),
 * and recorded on the host's container instances so that it goes out once. Never throws: a publish
 * that fails is logged and not recorded, so the next decision about the host sends it again.
 */
export async function alertOnce(host: Host, alert: Alert, deps: DrainDeps): Promise<void> {
  const { snapshot } = host;
  const message = {
    subject: `ECS drain ${alert.key}: ${snapshot.ec2InstanceId ?? 'unknown instance'}`,
    key: alert.key,
    cluster: snapshot.cluster,
    ...(snapshot.ec2InstanceId !== undefined && { instanceId: snapshot.ec2InstanceId }),
    ...(snapshot.lifecycle?.autoScalingGroupName !== undefined && {
      autoScalingGroupName: snapshot.lifecycle.autoScalingGroupName,
    }),
    summary: alert.summary,
  };
  // Counted with their alert, which is decided once per drain whatever command carries it (a deadline
  // with keep-waiting carries it on a heartbeat), and whether or not SNS takes it.
  if (alert.key === 'cannot-progress') deps.count('DrainCannotProgress');
  if (alert.key === 'deadline') deps.count('DeadlineReached', 1, { action: deps.policy.deadlineAction });
  try {
    await deps.alerts.publish(message);
  } catch (error) {
    deps.count('AlertFailed');
    deps.logger.error('alert not published: it is sent again at the next decision about the host', {
      ...host.context,
      ...message,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return;
  }
  deps.count('AlertSent');
  deps.logger.warn('alert', { ...host.context, ...message, published: deps.alerts.enabled });
  await bestEffort('record the alert as sent', host, deps, () => recordAlertSent(host, alert, deps));
}

async function recordAlertSent(host: Host, alert: Alert, deps: DrainDeps): Promise<void> {
  const arns = liveInstances(host);
  const instances = host.snapshot.containerInstances ?? [];
  const startedAt = drainStartOf(instances);
  const sent = alertsSentInDrain(instances, startedAt);
  if (arns.length > 0)
    await deps.ecs.markAlertsSent(host.snapshot.cluster, arns, [...sent, alert.key], startedAt);
}

/** Drain duration, from the start recorded on the container instance to the completion. */
function recordDuration(host: Host, deps: DrainDeps): void {
  const starts = (host.snapshot.containerInstances ?? []).flatMap(
    (instance) => instance.drainStartedAt ?? [],
  );
  if (starts.length === 0) return;
  deps.measure('DrainDurationSeconds', Math.max(0, (deps.timing.now() - Math.min(...starts)) / 1000));
}

function lifecycleAction(host: Host, deps: DrainDeps): LifecycleActionRef {
  return {
    // Decided only once the lifecycle state names a served group, or when the cluster has only one.
    autoScalingGroupName:
      host.snapshot.lifecycle?.autoScalingGroupName ??
      onlyGroupOf(deps.policy, host.snapshot.cluster)?.autoScalingGroupName ??
      '',
    lifecycleHookName: deps.policy.lifecycleHookName,
    instanceId: host.snapshot.ec2InstanceId ?? '',
    ...(host.lifecycleActionToken !== undefined && { lifecycleActionToken: host.lifecycleActionToken }),
  };
}

/** One log line and one metric for every lifecycle action this controller answers. */
function reportCompletion(
  outcome: LifecycleCallOutcome,
  context: Record<string, unknown>,
  deps: DrainDeps,
): void {
  if (outcome === 'done') {
    deps.count('LifecycleActionCompleted');
    deps.logger.info('lifecycle action completed with CONTINUE', context);
  } else {
    deps.count('LifecycleActionAlreadyGone');
    deps.logger.info('lifecycle action already gone: someone finished first', context);
  }
}

/** What still holds the host, in terms an operator can act on: counts, and the services of stopping tasks. */
function describeProgress(progress: NonNullable<Extract<HostCommand, { kind: 'none' }>['progress']>) {
  const groups = new Map<string, number>();
  for (const task of progress.tasksStopping) {
    const group = task.group ?? 'unknown';
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  return {
    tasksWantingToRun: progress.tasksWantingToRun,
    tasksStopping: progress.tasksStopping.length,
    ...(groups.size > 0 && { stoppingByGroup: Object.fromEntries(groups) }),
    ...(progress.agentDisconnected.length > 0 && { agentDisconnected: progress.agentDisconnected }),
  };
}
