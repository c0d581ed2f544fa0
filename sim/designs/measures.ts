import { median, percentile } from '../metrics';
import { summarize } from '../report';
import type { RunResult } from '../scenario';

/**
 * One row of the designs table, computed from what the world recorded during a run (the recorder,
 * the API's call counts, Lambda's statistics): never from what a design says about itself. Pure.
 */
export interface DesignRow {
  name: string;
  /** Instances Auto Scaling let go (Terminating:Proceed) after the scenario acted. */
  drains: number;
  /**
   * From the last task on an instance reaching STOPPED to its lifecycle action ending (completed, or
   * timed out while the instance sat empty): how long an empty instance was held. Instances let go
   * with a task not yet STOPPED are earlyTerminations instead.
   */
  handBackSeconds: { median: number | null; p99: number | null };
  /** Hand-back over the twin's event-delivery latency for task events (`floorSeconds`). */
  ratioToFloor: { median: number | null; p99: number | null };
  /** Instances released while one of their tasks (daemon included) had not reached STOPPED. */
  earlyTerminations: number;
  /** Non-daemon tasks still running or stopping when their EC2 instance went away. */
  tasksKilled: number;
  /** Lifecycle actions a timeout ended while the instance still ran tasks: the drain was cut, not finished. */
  drainsCutByCap: number;
  /** Every ECS and Auto Scaling call of the run, per drain. */
  apiCallsPerDrain: { ecs: number; autoScaling: number };
  /**
   * ECS "cluster resource read" calls (Describe/List of tasks and container instances) per drain,
   * from the moment the scenario acted (apiCallsPerDrain counts the whole run, settling included).
   */
  ecsReadsPerDrain: number;
  lambdaInvocationsPerDrain: number;
  /** ECS reads per task STOPPED event of a busy cluster where nothing drains (see irrelevantEvents). */
  ecsReadsPerIrrelevantEvent: number | null;
  /** Seconds each replica service spent below its floor (minimumHealthyPercent), summed. */
  servicesBelowFloorSeconds: number;
}

/** What the busy-cluster run of a design measured: task STOPPED events, and the ECS reads meanwhile. */
export interface IrrelevantEvents {
  taskStoppedEvents: number;
  ecsReads: number;
}

export function designRow(
  name: string,
  result: RunResult,
  floorSeconds: number | null,
  irrelevant?: IrrelevantEvents,
): DesignRow {
  const { recorder, apiCalls, lambdas, actionAt } = result;
  const drains = [...recorder.lanes.values()].filter(
    (lane) => lane.proceedingAt !== undefined && lane.proceedingAt >= actionAt,
  ).length;
  const early = new Set(recorder.releasedWithTasks.map((release) => release.instanceId));
  const handBacks = recorder.actions.flatMap((action) =>
    action.lastTaskStoppedAt !== undefined && !early.has(action.instanceId)
      ? [action.endedAt - action.lastTaskStoppedAt]
      : [],
  );
  const handBack = { median: median(handBacks), p99: percentile(handBacks, 0.99) };
  const perDrain = (count: number) => (drains === 0 ? 0 : round(count / drains, 2));
  const calls = (prefix: string) =>
    Object.entries(apiCalls).reduce((sum, [key, count]) => sum + (key.startsWith(prefix) ? count : 0), 0);
  const ratio = (seconds: number | null) =>
    seconds === null || floorSeconds === null || floorSeconds <= 0 ? null : round(seconds / floorSeconds, 2);
  return {
    name,
    drains,
    handBackSeconds: { median: roundOrNull(handBack.median), p99: roundOrNull(handBack.p99) },
    ratioToFloor: { median: ratio(handBack.median), p99: ratio(handBack.p99) },
    earlyTerminations: recorder.releasedWithTasks.length,
    tasksKilled: recorder.killedTasks.reduce((sum, kill) => sum + kill.groups.length, 0),
    drainsCutByCap: recorder.actions.filter(
      (action) => action.endedBy !== 'completed' && action.leftOnInstance.length > 0,
    ).length,
    apiCallsPerDrain: { ecs: perDrain(calls('ecs:')), autoScaling: perDrain(calls('autoscaling:')) },
    ecsReadsPerDrain: perDrain(recorder.ecsReadTimes.filter((at) => at >= actionAt).length),
    lambdaInvocationsPerDrain: perDrain(
      Object.values(lambdas).reduce((sum, stats) => sum + stats.invocations, 0),
    ),
    ecsReadsPerIrrelevantEvent:
      irrelevant === undefined || irrelevant.taskStoppedEvents === 0
        ? null
        : round(irrelevant.ecsReads / irrelevant.taskStoppedEvents, 3),
    servicesBelowFloorSeconds: round(
      summarize(result)
        .services.filter((service) => !service.daemon)
        .reduce((sum, service) => sum + service.secondsBelowFloor, 0),
      1,
    ),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}
