import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Counts an operator would alarm on; one name per outcome so dashboards stay readable. */
export type DrainMetric =
  | 'DrainStarted'
  | 'LifecycleActionCompleted'
  | 'LifecycleActionAlreadyGone'
  | 'HeartbeatRecorded'
  | 'MessageRejected';

/** How the controller reports: one structured log line per decision, and counts. */
export interface Telemetry {
  logger: Logger;
  count(metric: DrainMetric): void;
}

// Service name, log level and namespace come from POWERTOOLS_* variables set in template.yaml.
export const logger = new Logger({ serviceName: 'ecs-drain' });
export const metrics = new Metrics({ namespace: 'EcsDrain', serviceName: 'ecs-drain' });

/** Telemetry over a logger and a metrics store; `publish` flushes the counts of one invocation. */
export function telemetry(log: Logger, store: Metrics): Telemetry & { publish(): void } {
  return {
    logger: log,
    count: (metric) => store.addMetric(metric, MetricUnit.Count, 1),
    // An invocation that counted nothing writes nothing.
    publish: () => {
      if (store.hasStoredMetrics()) store.publishStoredMetrics();
    },
  };
}
