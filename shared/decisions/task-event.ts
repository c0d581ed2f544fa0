import { clusterMatches, type ControllerConfig } from '../config';
import type { TaskStateChangeEvent } from '../events/task-state-change';

/** A task that stopped on one of our container instances: its host may now be empty. */
export interface StoppedTask {
  clusterArn: string;
  containerInstanceArn: string;
  taskArn: string;
  version: number | undefined;
  /** When ECS emitted the event, in epoch milliseconds. */
  emittedAt: number;
  /** The stop reason says the instance was draining: proof of a drain, whatever a lagging read shows. */
  stoppedByDrain: boolean;
}

export type TaskEventDecision =
  { kind: 'check-host'; task: StoppedTask } | { kind: 'ignore'; reason: string };

/** Decides whether a task state change can finish a drain. Pure: no AWS call. */
export function decideOnTaskEvent(event: TaskStateChangeEvent, config: ControllerConfig): TaskEventDecision {
  const { detail } = event;
  if (!config.clusters.some((cluster) => clusterMatches(detail.clusterArn, cluster))) {
    return {
      kind: 'ignore',
      reason: `task of a cluster this stack does not serve (it serves ${config.clusters.join(', ')})`,
    };
  }
  if (detail.lastStatus !== 'STOPPED') {
    return { kind: 'ignore', reason: `task is ${detail.lastStatus}, not STOPPED` };
  }
  if (detail.containerInstanceArn === undefined || detail.launchType === 'FARGATE') {
    return { kind: 'ignore', reason: 'task ran on no EC2 container instance (Fargate)' };
  }
  return {
    kind: 'check-host',
    task: {
      clusterArn: detail.clusterArn,
      containerInstanceArn: detail.containerInstanceArn,
      taskArn: detail.taskArn,
      version: detail.version,
      emittedAt: Date.parse(event.time),
      // "Service web: container instance is in DRAINING state" (the text third-party tools match on).
      stoppedByDrain: detail.stoppedReason?.includes('DRAINING') ?? false,
    },
  };
}
