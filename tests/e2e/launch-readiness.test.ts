import { NEW_AMI, type RunResult } from '../../sim/scenario';
import { NO_DELIVERY_FAULTS } from '../../sim/delivery';
import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation();
});
afterAll(() => sim.close());

/** How the launch actions ended: `completed CONTINUE`, `heartbeat-timeout ABANDON`, ... -> count. */
function launchEndings(result: RunResult): Record<string, number> {
  const endings: Record<string, number> = {};
  for (const { endedBy, result: outcome } of result.recorder.launchActions) {
    const key = `${endedBy} ${outcome}`;
    endings[key] = (endings[key] ?? 0) + 1;
  }
  return endings;
}

describe('launch readiness in the twin', () => {
  it('keeps every new instance out of service until ECS can use it; without it, the refresh counts instances no task can use', async () => {
    const { result, summary } = await sim.rehearse({ scenario: 'instance-refresh' });
    const launches = result.recorder.launchActions.length;
    expect(launches).toBe(6);
    expect(launchEndings(result)).toEqual({ 'completed CONTINUE': 6 });
    expect(result.recorder.metrics.get('LaunchContinued')).toBe(6);
    expect(result.recorder.inServiceUnready).toEqual([]);
    expect(summary.tasksKilled).toBe(0);
    expect(servicesBelowFloor(summary)).toEqual([]);

    // The same refresh without the stack: instances pass EC2's checks 45 s before their agent registers.
    const { result: baseline } = await sim.rehearse({ scenario: 'instance-refresh' }, false);
    expect(baseline.recorder.launchActions).toEqual([]);
    expect(baseline.recorder.inServiceUnready.length).toBeGreaterThan(0);
  });

  it('lets launches in when every notification and half the events are lost: the reconciler finds them', async () => {
    const { result, summary } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 3,
      notificationFaults: { ...NO_DELIVERY_FAULTS, drop: 1 },
      deliveryFaults: { ...NO_DELIVERY_FAULTS, drop: 0.5 },
    });
    expect(launchEndings(result)).toEqual({ 'completed CONTINUE': 6 });
    expect(result.recorder.inServiceUnready).toEqual([]);
    expect(summary.settled).toBe(true);
  });

  it('stops a refresh to an AMI whose agent never connects: launches abandoned, no old instance replaced, no service below its floor', async () => {
    const { result, summary } = await sim.rehearse({
      scenario: 'instance-refresh',
      brokenAmis: [NEW_AMI],
      // Launch before terminate: an old instance goes only once a new one is ready.
      refresh: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: 60 },
      drain: { launchTimeoutSeconds: 300 },
      maxSimulatedHours: 1.5,
    });
    const endings = launchEndings(result);
    expect(Object.keys(endings).every((ending) => ending.endsWith('ABANDON'))).toBe(true);
    expect(result.recorder.launchActions.length).toBeGreaterThan(0);
    expect(result.recorder.inServiceUnready).toEqual([]);
    // Every instance the refresh started with still serves: none was terminated for a replacement that never came.
    const originals = [...result.recorder.lanes.values()].filter((lane) => lane.launchedAt === 0);
    expect(originals).toHaveLength(6);
    for (const lane of originals) expect(lane.terminatedAt).toBeUndefined();
    expect(summary.tasksKilled).toBe(0);
    expect(servicesBelowFloor(summary)).toEqual([]);
    // An hour without a new instance ready: Auto Scaling fails the refresh.
    expect(result.refreshes).toEqual([
      expect.objectContaining({
        status: 'Failed',
        statusReason: expect.stringMatching(/No new instance became healthy/),
      }),
    ]);
  });
});
