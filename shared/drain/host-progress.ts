import * as ecs from '../aws/ecs';
import {
  type ContainerInstanceView,
  type HostProgress,
  hostProgress,
  type KnownStoppedTask,
  type TaskView,
  tasksStillStopping,
  tasksWantingToRun,
} from '../decisions/host';

/**
 * Reads how far the drain of a host has come. Listing stopping tasks costs calls, so it is
 * skipped when a task that still wants to run already proves the host busy.
 */
export async function readHostProgress(
  cluster: string,
  instances: ContainerInstanceView[],
  knownStopped?: KnownStoppedTask,
): Promise<HostProgress> {
  const stopping = new Map<string, TaskView[]>();
  const busy = instances.some((instance) => tasksWantingToRun(instance) > 0);
  if (!busy) {
    for (const instance of instances) {
      const toldToStop = await ecs.describeTasksToldToStop(cluster, instance.arn);
      stopping.set(instance.arn, tasksStillStopping(toldToStop, knownStopped));
    }
  }
  return hostProgress(instances, stopping);
}
