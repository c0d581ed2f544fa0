import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

// The path `sam local invoke --env-vars events/env.json` takes: the handlers' SDK clients find the
// simulation through AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL_AUTO_SCALING and call it over HTTP.
let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation('http');
});
afterAll(() => sim.close());

it('drains an instance refresh with the handlers calling the local endpoint over HTTP', async () => {
  const { summary, result } = await sim.rehearse({ scenario: 'instance-refresh', seed: 2 });

  expect(summary.settled).toBe(true);
  expect(servicesBelowFloor(summary)).toEqual([]);
  expect(summary.lifecycleActions.completedByController).toBe(6);
  expect(summary.tasksKilled).toBe(0);
  expect(result.apiCalls['autoscaling:CompleteLifecycleAction']).toBeGreaterThanOrEqual(6);
});
