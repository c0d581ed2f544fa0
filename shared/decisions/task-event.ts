import { clusterMatches, type ControllerConfig } from '../config';
import type { TaskStateChangeEvent } from '../events/task-state-change';

/**
 * A task on one of our container instances that stopped (its host may now be empty), or that ECS
 * has told to stop and that has not stopped yet (its STOPPED event is still to come).
 */
export interface TaskOnHost {
  /** true: lastStatus STOPPED; false: desired STOPPED, still stopping. */
  stopped: boolean;
  clusterArn: string;
  containerInstanceArn: string;
  taskArn: string;
  version: number | undefined;
  /** When ECS emitted the event, in epoch milliseconds. */
  emittedAt: number;
  /** The stop reason says the instance was draining: proof of a drain, whatever a lagging read shows. */
  stoppedByDrain: boolean;
}

export type TaskEventDecision = { kind: 'check-host'; task: TaskOnHost } | { kind: 'ignore'; reason: string };

/**
 * Decides whether a task state change concerns a drain: a task that stopped may finish one; a task
 * told to stop says that a STOPPED event will follow, so its host need not be listed before then.
 * Pure: no AWS call.
 */
export function decideOnTaskEvent(event: TaskStateChangeEvent, config: ControllerConfig): TaskEventDecision {
  const { detail } = event;
  if (!config.clusters.some((cluster) => clusterMatches(detail.clusterArn, cluster))) {
    return {
      kind: 'ignore',
      reason: `task of a cluster this stack does not serve (it serves ${config.clusters.join(', ')})`,
    };
  }
  const stopped = detail.lastStatus === 'STOPPED';
  if (!stopped && detail.desiredStatus !== 'STOPPED') {
    return { kind: 'ignore', reason: `task is ${detail.lastStatus} and not told to stop` };
  }
  if (detail.containerInstanceArn === undefined || detail.launchType === 'FARGATE') {
    return { kind: 'ignore', reason: 'task ran on no EC2 container instance (Fargate)' };
  }
  return {
    kind: 'check-host',
    task: {
      stopped,
      clusterArn: detail.clusterArn,
      containerInstanceArn: detail.containerInstanceArn,
      taskArn: detail.taskArn,
      version: detail.version,
      emittedAt: Date.parse(event.time),
      // "Service web: container instance is in DRAINING state" (the text third-party tools match on);
      // ECS sets the reason when it tells the task to stop.
      stoppedByDrain: detail.stoppedReason?.includes('DRAINING') ?? false,
    },
  };
}
