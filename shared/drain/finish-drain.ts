import * as autoScaling from '../aws/auto-scaling';
import * as ecs from '../aws/ecs';
import type { ControllerConfig } from '../config';
import { readInstance } from '../decisions/host';
import { decideCompletion } from '../decisions/lifecycle';
import type { StoppedTask } from '../decisions/task-event';
import { count, logger } from '../observability';
import { HeartbeatPacer } from './heartbeat-pacer';
import { readHostProgress } from './host-progress';
import { reportCompletion } from './report';

const heartbeats = new HeartbeatPacer();

/**
 * Called for every task that reached STOPPED. Completes the lifecycle action once the host runs no
 * task any more. Reads current state instead of trusting event order, so repeats are harmless.
 */
export async function finishDrainAfterTaskStopped(
  task: StoppedTask,
  config: ControllerConfig,
): Promise<void> {
  const cluster = task.clusterArn;
  const context = { taskArn: task.taskArn, containerInstanceArn: task.containerInstanceArn, cluster };

  // The one read every event pays; most tasks stop on hosts that are not draining.
  const instance = await ecs.describeContainerInstance(cluster, task.containerInstanceArn);
  const reading = readInstance(instance);
  if (instance === undefined || reading.kind === 'gone') {
    logger.info('container instance is gone: no drain to finish', context);
    return;
  }
  const instanceId = instance.ec2InstanceId;
  if (reading.kind === 'not-draining') {
    logger.debug('container instance is not draining: no action', { ...context, status: reading.status });
    return;
  }
  const action = {
    autoScalingGroupName: config.autoScalingGroupName,
    lifecycleHookName: config.lifecycleHookName,
    instanceId,
  };
  const progressMade = (details: Record<string, unknown>) =>
    keepAlive(action, task.emittedAt, config, { ...context, instanceId, ...details });
  if (reading.kind === 'busy') {
    return progressMade({ tasksWantingToRun: reading.tasksWantingToRun });
  }

  const progress = await readHostProgress(cluster, [instance], {
    taskArn: task.taskArn,
    version: task.version,
  });
  if (!progress.drained) {
    return progressMade({ ...progress });
  }
  // Every container instance registered for this EC2 instance must be empty, not only this one.
  // Looked up only now, so that the events before the last one do not pay for it.
  const others = (await ecs.findContainerInstances(cluster, instanceId)).filter(
    (other) => other.arn !== instance.arn,
  );
  const othersProgress = await readHostProgress(cluster, others);
  if (!othersProgress.drained) {
    return progressMade({ ...othersProgress });
  }

  const decision = decideCompletion(await autoScaling.describeAsgInstance(instanceId), config);
  if (decision.kind === 'leave') {
    logger.info('host is empty but no lifecycle action of ours waits: no action', {
      ...context,
      instanceId,
      reason: decision.reason,
    });
    return;
  }
  const outcome = await autoScaling.completeLifecycleAction(action);
  reportCompletion(outcome, { instanceId, cluster, why: 'last task on the draining host has stopped' });
}

/**
 * A task stopped but the host is not empty yet: that is progress, so restart the hook's heartbeat
 * timer, at most once per tenth of HeartbeatTimeout for the same instance.
 */
async function keepAlive(
  action: autoScaling.LifecycleActionRef,
  emittedAt: number,
  config: ControllerConfig,
  context: Record<string, unknown>,
): Promise<void> {
  if (!heartbeats.isDue(action.instanceId, emittedAt, config.heartbeatTimeoutSeconds)) {
    logger.debug('drain in progress: heartbeat recorded recently', context);
    return;
  }
  const outcome = await autoScaling.recordHeartbeat(action);
  heartbeats.sent(action.instanceId, emittedAt);
  if (outcome === 'done') count('HeartbeatRecorded');
  logger.info('drain in progress: tasks remain on the host', {
    ...context,
    heartbeat: outcome === 'done' ? 'recorded' : 'no lifecycle action of ours is waiting',
  });
}
