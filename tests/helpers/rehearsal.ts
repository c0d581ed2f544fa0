import { loadController, openTransport } from '../../sim/controller';
import { defaultOptions, type RunResult, runScenario, type ScenarioOptions } from '../../sim/scenario';

/**
 * The rehearsal `npm start` runs with no options (the demo cluster, an instance refresh, seed 1):
 * once without the controller and once with it, in process.
 */
export async function rehearseDemo(options: Partial<ScenarioOptions> = {}): Promise<RunResult[]> {
  const scenario = { ...defaultOptions(), ...options };
  const { transport, close } = await openTransport('in-process');
  try {
    const without = await runScenario(scenario);
    const controller = loadController(transport, { heartbeatTimeout: scenario.heartbeatTimeout });
    const withController = await runScenario({ ...scenario, controller });
    return [without, withController];
  } finally {
    await close();
  }
}
