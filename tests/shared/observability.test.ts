import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { telemetry } from '../../shared/observability';

/** A metrics store that notes what is added, and under which extra dimensions. */
function recordingStore() {
  const added: { metric: string; value: number; dimensions: Record<string, string> }[] = [];
  const store = {
    addMetric: (metric: string, _unit: string, value: number) =>
      added.push({ metric, value, dimensions: {} }),
    singleMetric: () => {
      const dimensions: Record<string, string> = {};
      return {
        addDimensions: (more: Record<string, string>) => Object.assign(dimensions, more),
        addMetric: (metric: string, _unit: string, value: number) =>
          added.push({ metric, value, dimensions }),
      };
    },
    hasStoredMetrics: () => added.length > 0,
    publishStoredMetrics: () => undefined,
  };
  return { added, store: store as unknown as Metrics };
}

describe('telemetry', () => {
  const logger = new Logger({ logLevel: 'SILENT' });

  it('counts drains started and completed under the path that did it, and every metric without it', () => {
    const { added, store } = recordingStore();
    const { count } = telemetry(logger, store, 'reconciler');
    count('LifecycleActionCompleted');
    count('DrainStarted');
    count('HeartbeatRecorded');
    expect(added).toEqual([
      { metric: 'LifecycleActionCompleted', value: 1, dimensions: {} },
      { metric: 'LifecycleActionCompleted', value: 1, dimensions: { path: 'reconciler' } },
      { metric: 'DrainStarted', value: 1, dimensions: {} },
      { metric: 'DrainStarted', value: 1, dimensions: { path: 'reconciler' } },
      { metric: 'HeartbeatRecorded', value: 1, dimensions: {} },
    ]);
  });

  it('counts a deadline under the action it took as well', () => {
    const { added, store } = recordingStore();
    telemetry(logger, store, 'event').count('DeadlineReached', 1, { action: 'keep-waiting' });
    expect(added).toEqual([
      { metric: 'DeadlineReached', value: 1, dimensions: {} },
      { metric: 'DeadlineReached', value: 1, dimensions: { action: 'keep-waiting' } },
    ]);
  });
});
