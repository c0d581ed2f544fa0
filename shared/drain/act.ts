import type { LifecycleActionRef, LifecycleCallOutcome } from '../aws/auto-scaling';
import type { DrainingResult } from '../aws/ecs';
import type { HostCommand } from '../decisions/host';
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
      return;
    }
    case 'heartbeat': {
      const outcome = await deps.autoScaling.recordHeartbeat(lifecycleAction(host, deps));
      if (snapshot.ec2InstanceId !== undefined) {
        deps.heartbeats.sent(snapshot.ec2InstanceId, snapshot.newestEventAt ?? deps.timing.now());
      }
      if (outcome === 'done') deps.count('HeartbeatRecorded');
      deps.logger.info(command.reason, {
        ...context,
        ...describeProgress(command.progress),
        heartbeat: outcome === 'done' ? 'recorded' : 'no lifecycle action of ours is waiting',
      });
      return;
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
      return;
    }
  }
}

function lifecycleAction(host: Host, deps: DrainDeps): LifecycleActionRef {
  return {
    autoScalingGroupName: deps.policy.autoScalingGroupName,
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
