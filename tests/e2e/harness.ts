import { type RunningServer, startApiServer } from '../../sim/api/server';
import { loadController } from '../../sim/controller';
import { type RunSummary, summarize } from '../../sim/report';
import {
  activeWorld,
  defaultOptions,
  type RunResult,
  runScenario,
  type ScenarioOptions,
} from '../../sim/scenario';
import type { ControllerHandlers } from '../../sim/world';

/** The simulation endpoint and the real handlers, pointed at it through their SDK clients. */
export interface Simulation {
  controller: ControllerHandlers;
  rehearse(
    options: Partial<ScenarioOptions>,
    withController?: boolean,
  ): Promise<{ result: RunResult; summary: RunSummary }>;
  close(): Promise<void>;
}

export async function startSimulation(): Promise<Simulation> {
  const server: RunningServer = await startApiServer(() => activeWorld?.api);
  const controller = await loadController(server.url);
  return {
    controller,
    async rehearse(options, withController = true) {
      const result = await runScenario({
        ...defaultOptions(options.shape),
        ...options,
        controller: withController ? controller : undefined,
      });
      return { result, summary: summarize(result) };
    },
    close: () => server.close(),
  };
}

/** Service summaries that fell below their floor at any moment. */
export function servicesBelowFloor(summary: RunSummary): string[] {
  return summary.services.filter((s) => !s.daemon && s.lowestHealthy < s.floor).map((s) => s.name);
}
