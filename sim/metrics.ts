import type { RunResult } from './scenario';

/** Figures an operator of a large fleet asks about, computed from a run. Pure. */

export function percentile(values: number[], share: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Calls per second over [from, to): the mean, and the busiest one-second window (whole seconds). */
export function callRate(
  times: number[],
  from: number,
  to: number,
): { total: number; perSecondMean: number; perSecondPeak: number } {
  const inside = times.filter((t) => t >= from && t < to);
  const perSecond = new Map<number, number>();
  for (const t of inside) perSecond.set(Math.floor(t), (perSecond.get(Math.floor(t)) ?? 0) + 1);
  return {
    total: inside.length,
    perSecondMean: round(inside.length / Math.max(1, to - from), 2),
    perSecondPeak: Math.max(0, ...perSecond.values()),
  };
}

/**
 * Hand-back latency: from the moment the last task on a draining instance reached STOPPED to the
 * moment the controller completed its lifecycle action, for every action it completed after a drain
 * that emptied the host (not one a deadline let go with tasks on it). The floor is the event
 * delivery itself (EventBridge to the queue), reported beside it.
 */
export function handBack(result: RunResult): {
  medianSeconds: number | null;
  p99Seconds: number | null;
  deliveryMedianSeconds: number | null;
  drains: number;
} {
  const letGoWithTasks = new Set(result.recorder.releasedWithTasks.map((release) => release.instanceId));
  const latencies = result.recorder.actions.flatMap((action) =>
    action.endedBy === 'completed' &&
    action.lastTaskStoppedAt !== undefined &&
    !letGoWithTasks.has(action.instanceId)
      ? [action.endedAt - action.lastTaskStoppedAt]
      : [],
  );
  return {
    medianSeconds: roundOrNull(median(latencies)),
    p99Seconds: roundOrNull(percentile(latencies, 0.99)),
    deliveryMedianSeconds: roundOrNull(median(result.recorder.deliveryDelays)),
    drains: latencies.length,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}
