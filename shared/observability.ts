import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

// Service name, log level and namespace come from POWERTOOLS_* variables set in template.yaml.
export const logger = new Logger({ serviceName: 'ecs-drain' });
export const metrics = new Metrics({ namespace: 'EcsDrain', serviceName: 'ecs-drain' });

/** Counts an operator would alarm on; one name per outcome so dashboards stay readable. */
export type DrainMetric =
  | 'DrainStarted'
  | 'LifecycleActionCompleted'
  | 'LifecycleActionAlreadyGone'
  | 'HeartbeatRecorded'
  | 'MessageRejected';

export function count(metric: DrainMetric): void {
  metrics.addMetric(metric, MetricUnit.Count, 1);
}

/** Flushes the counts of this invocation; an invocation that counted nothing writes nothing. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
