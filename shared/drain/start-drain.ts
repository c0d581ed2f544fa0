import * as autoScaling from '../aws/auto-scaling';
import * as ecs from '../aws/ecs';
import { instancesToDrain } from '../decisions/host';
import type { DrainRequest } from '../decisions/notification';
import { count, logger } from '../observability';
import { readHostProgress } from './host-progress';
import { reportCompletion } from './report';

/** Thrown for a refusal that may pass (e.g. an instance still REGISTERING): Lambda retries the event. */
export class DrainRefusedError extends Error {
  override name = 'DrainRefusedError';
}

/**
 * Starts draining the container instance(s) of a terminating EC2 instance, and releases the
 * instance at once when there is nothing to drain. Safe to run any number of times.
 */
export async function startDrain(request: DrainRequest): Promise<void> {
  const { cluster, instanceId } = request;
  const context = { instanceId, cluster, destination: request.destination };

  let instances = await ecs.findContainerInstances(cluster, instanceId);
  if (instances.length === 0) {
    return release(request, 'not a container instance of the cluster: nothing to drain');
  }

  const targets = instancesToDrain(instances);
  if (targets.length > 0) {
    const result = await ecs.setDraining(
      cluster,
      targets.map((target) => target.arn),
    );
    const missing = new Set(result.failures.filter((f) => f.reason === 'MISSING').map((f) => f.arn));
    const refused = result.failures.filter((f) => f.reason !== 'MISSING');
    if (refused.length > 0) {
      logger.error('ECS refused to drain container instances', { ...context, failures: refused });
      throw new DrainRefusedError(
        `ECS refused DRAINING for ${refused.map((f) => `${f.arn} (${f.reason})`).join(', ')}`,
      );
    }
    // Use the fresh view ECS returned, and forget instances deregistered meanwhile.
    const fresh = new Map(result.draining.map((instance) => [instance.arn, instance]));
    instances = instances
      .filter((instance) => !missing.has(instance.arn))
      .map((instance) => fresh.get(instance.arn) ?? instance);
    count('DrainStarted');
  }

  const progress = await readHostProgress(cluster, instances);
  if (progress.drained) {
    return release(request, 'no task left on the instance');
  }
  const disconnected = instances
    .filter((instance) => !instance.agentConnected)
    .map((instance) => instance.arn);
  logger.info('drain in progress: waiting for tasks to stop', {
    ...context,
    containerInstances: instances.map((instance) => instance.arn),
    tasksWantingToRun: progress.tasksWantingToRun,
    tasksStopping: progress.tasksStopping,
    ...(disconnected.length > 0 && { agentDisconnected: disconnected }),
  });
}

async function release(request: DrainRequest, why: string): Promise<void> {
  const outcome = await autoScaling.completeLifecycleAction({
    autoScalingGroupName: request.autoScalingGroupName,
    lifecycleHookName: request.lifecycleHookName,
    instanceId: request.instanceId,
    lifecycleActionToken: request.lifecycleActionToken,
  });
  reportCompletion(outcome, { instanceId: request.instanceId, cluster: request.cluster, why });
}
