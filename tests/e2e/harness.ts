import {
  type DrainSettings,
  loadController,
  openTransport,
  type RolloutSettings,
} from '../../sim/controller';
import { type RunSummary, summarize } from '../../sim/report';
import { defaultOptions, type RunResult, runScenario, type ScenarioOptions } from '../../sim/scenario';

/** The simulation endpoint and the real handlers, pointed at it through their SDK clients. */
export interface Simulation {
  /** `clusterNames`: the clusters the stack serves (with their groups); absent: every one of the run. */
  rehearse(
    options: Partial<ScenarioOptions> & {
      drain?: DrainSettings;
      clusterNames?: string[];
      /** Deploy the AMI watcher too, with these settings. */
      rollout?: RolloutSettings;
    },
    withController?: boolean,
  ): Promise<{ result: RunResult; summary: RunSummary }>;
  close(): Promise<void>;
}

/** `http`: the SDK clients call the local endpoint, as with `sam local invoke`; `in-process`: no socket. */
export async function startSimulation(kind: 'http' | 'in-process' = 'in-process'): Promise<Simulation> {
  const { transport, close } = await openTransport(kind);
  return {
    async rehearse({ drain, clusterNames, rollout, ...options }, withController = true) {
      // Every rehearsal gets a cold Lambda container: fresh handler modules, clients and caches.
      jest.resetModules();
      const controller = withController
        ? await loadController(
            transport,
            // The shortest hook timeout these tests use: heartbeats paced for it keep longer ones alive too.
            {
              heartbeatTimeout: 300,
              ...(drain !== undefined && { drain }),
              ...(clusterNames !== undefined && { clusterNames }),
              ...(rollout !== undefined && { rollout }),
            },
          )
        : undefined;
      const result = await runScenario({ ...defaultOptions(options.shape), ...options, controller });
      return { result, summary: summarize(result) };
    },
    close,
  };
}

/** Service summaries that fell below their floor at any moment. */
export function servicesBelowFloor(summary: RunSummary): string[] {
  return summary.services.filter((s) => !s.daemon && s.lowestHealthy < s.floor).map((s) => s.name);
}
