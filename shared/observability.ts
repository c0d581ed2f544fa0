import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Counts an operator would alarm on; one name per outcome so dashboards stay readable. */
export type DrainMetric =
  | 'DrainStarted'
  | 'LifecycleActionCompleted'
  | 'LifecycleActionAlreadyGone'
  | 'HeartbeatRecorded'
  | 'DeadlineReached'
  | 'TasksStoppedByPolicy'
  | 'AlertSent'
  | 'AlertFailed'
  | 'DrainCannotProgress'
  | 'MessageRejected'
  /** Launch readiness: a new instance went into service once ECS could use it, or was given up. */
  | 'LaunchContinued'
  | 'LaunchAbandoned';

/** Values with a distribution: how long drains take, how big batches are. */
export type DrainMeasure = 'DrainDurationSeconds' | 'BatchSize';

/** How the controller reports: one structured log line per decision, counts and measures. */
export interface Telemetry {
  logger: Logger;
  /** Counts `value` (1); with `dimensions`, also counted under them (e.g. the action a deadline took). */
  count(metric: DrainMetric, value?: number, dimensions?: Record<string, string>): void;
  measure(metric: DrainMeasure, value: number): void;
}

// Service name, log level and namespace come from POWERTOOLS_* variables set in template.yaml.
export const logger = new Logger({ serviceName: 'ecs-drain' });

export const metrics = new Metrics({ namespace: 'EcsDrain', serviceName: 'ecs-drain' });

/**
 * Drains started and completed are also counted with the path that did it (start, event,
 * reconciler) as a dimension: a drain completed by the reconciler means an event was lost. Every
 * metric is also counted with the `service` dimension alone, which the template's alarms watch.
 */
const BY_PATH: ReadonlySet<DrainMetric> = new Set(['DrainStarted', 'LifecycleActionCompleted']);

/** Telemetry over a logger and a metrics store; `publish` flushes the metrics of one invocation. */
export function telemetry(log: Logger, store: Metrics, path?: string): Telemetry & { publish(): void } {
  return {
    logger: log,
    count: (metric, value = 1, dimensions = {}) => {
      store.addMetric(metric, MetricUnit.Count, value);
      const extra = { ...dimensions, ...(path !== undefined && BY_PATH.has(metric) && { path }) };
      if (Object.keys(extra).length === 0) return;
      const single = store.singleMetric();
      single.addDimensions(extra);
      single.addMetric(metric, MetricUnit.Count, value);
    },
    measure: (metric, value) =>
      store.addMetric(metric, metric === 'BatchSize' ? MetricUnit.Count : MetricUnit.Seconds, value),
    // An invocation that counted nothing writes nothing.
    publish: () => {
      if (store.hasStoredMetrics()) store.publishStoredMetrics();
    },
  };
}
