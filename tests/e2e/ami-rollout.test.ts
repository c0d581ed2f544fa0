import { rehearsalRollout } from '../../sim/controller';
import { NEW_AMI, OLD_AMI, type RunResult } from '../../sim/scenario';
import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

// A new ECS-optimized AMI reaches the fleet: AWS publishes it (its public SSM parameter), the stack's
// AMI watcher pins it in a new launch template version and starts a rolling refresh (launch before
// terminate, checkpoints, auto-rollback), launch readiness holds every new instance until ECS can use
// it, and the drain hook empties every old one. Without the stack: Auto Scaling's refresh defaults.

let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation();
});
afterAll(() => sim.close());

/** The watcher as the rehearsal deploys it: acting, every five minutes. */
const rollout = rehearsalRollout('rolling');

const originals = (result: RunResult) =>
  [...result.recorder.lanes.values()].filter((lane) => lane.launchedAt === 0);

describe('AMI rollouts in the twin', () => {
  it('ami-update: the watcher rolls the new AMI out to every instance, no service below its floor, nothing killed', async () => {
    const { result, summary } = await sim.rehearse({ scenario: 'ami-update', rollout });

    expect(summary.refresh).toEqual({
      strategy: 'rolling',
      status: 'Successful',
      instancesReplaced: 6,
      rolledBack: false,
    });
    expect(summary.settled).toBe(true);
    expect(servicesBelowFloor(summary)).toEqual([]);
    expect(summary.services.every((service) => service.secondsBelowFloor === 0)).toBe(true);
    expect(summary.tasksKilled).toBe(0);
    expect(result.recorder.inServiceUnready).toEqual([]);
    for (const lane of originals(result)) expect(lane.amiId).toBe(OLD_AMI);
    // The watcher pinned the AMI (a numbered version) and refreshed to it once.
    expect(result.refreshes).toHaveLength(1);
    const started = result.recorder.metrics;
    expect(started.get('LaunchContinued')).toBe(6);
  });

  it('bad-ami: launches abandoned, no old instance given up for them, the refresh rolls back, and the run says why', async () => {
    const { result, summary } = await sim.rehearse({ scenario: 'bad-ami', rollout });

    expect(summary.refresh).toMatchObject({ strategy: 'rolling', instancesReplaced: 0, rolledBack: true });
    expect(['RollbackSuccessful', 'Failed', 'RollbackFailed']).toContain(summary.refresh?.status);
    // No instance of the broken AMI ever served, and none went into service unusable.
    const broken = [...result.recorder.lanes.values()].filter((lane) => lane.amiId === NEW_AMI);
    expect(broken.length).toBeGreaterThan(0);
    for (const lane of broken) expect(lane.inServiceAt).toBeUndefined();
    expect(result.recorder.inServiceUnready).toEqual([]);
    // Every original instance went only once an instance of the old AMI was ready to take its place.
    for (const lane of originals(result).filter((each) => each.terminatedAt !== undefined)) {
      const readyBefore = [...result.recorder.lanes.values()].some(
        (other) =>
          other.launchedAt > 0 &&
          other.amiId === OLD_AMI &&
          other.inServiceAt !== undefined &&
          other.inServiceAt <= (lane.waitingAt ?? 0),
      );
      expect(readyBefore).toBe(true);
    }
    expect(summary.services.every((service) => service.secondsBelowFloor === 0)).toBe(true);
    expect(summary.tasksKilled).toBe(0);
    expect(summary.findings.join(' ')).toMatch(/launch readiness held \d+ new instances? out of service/);
    // The controller gives each up (ABANDON) before the hook's own timeout would, and says so once each.
    const abandoned = result.recorder.launchActions.filter((action) => action.result === 'ABANDON');
    expect(abandoned.every((action) => action.endedBy === 'completed')).toBe(true);
    const alerts = (result.published ?? []).map((published) => JSON.parse(published.message).key);
    expect(alerts.filter((key) => key === 'launch-abandoned')).toHaveLength(abandoned.length);
    // The watcher said it started the rollout, once, and kept quiet while its own refresh ran.
    expect(alerts.filter((key) => key.startsWith('ami-watch'))).toEqual(['ami-watch-roll-out']);
    expect(summary.findings.join(' ')).toMatch(/ended RollbackSuccessful/);

    // Every scheduled run twice (EventBridge is at-least-once): still one rollout, and no second one
    // of the same AMI after it rolled back.
    const { result: twice } = await sim.rehearse({
      scenario: 'bad-ami',
      rollout,
      scheduleFaults: { jitterSeconds: 0, duplicate: 1, skip: 0 },
    });
    expect(twice.refreshes).toEqual([expect.objectContaining({ rolledBack: true })]);
    expect(twice.apiCalls['autoscaling:StartInstanceRefresh']).toBeLessThanOrEqual(2);
    expect(twice.recorder.launchActions.length).toBeLessThanOrEqual(result.recorder.launchActions.length);

    // Without the stack, the same AMI replaces the whole fleet with instances no task can run on.
    const { summary: baseline } = await sim.rehearse({ scenario: 'bad-ami' }, false);
    expect(baseline.refresh).toEqual({
      strategy: 'instance-refresh',
      status: 'Successful',
      instancesReplaced: 6,
      rolledBack: false,
    });
    expect(baseline.services.some((service) => service.secondsAtZero > 0)).toBe(true);
  });

  const blueGreen = rehearsalRollout('blue-green');

  it('blue-green: a new fleet beside the old, the old drained, on standby through the burn-in, then retired; no service below its floor', async () => {
    const { result, summary } = await sim.rehearse({ scenario: 'blue-green', rollout: blueGreen });

    expect(summary.refresh).toEqual({
      strategy: 'blue-green',
      status: 'Successful',
      instancesReplaced: 6,
      rolledBack: false,
    });
    expect(summary.settled).toBe(true);
    expect(summary.services.every((service) => service.secondsBelowFloor === 0)).toBe(true);
    expect(summary.tasksKilled).toBe(0);
    for (const lane of originals(result)) expect(lane.terminatedAt).toBeDefined();
    // Step runs came every minute; no invocation failed.
    expect(result.lambdas['watch-ami']?.errors).toBe(0);
  });

  it('blue-green rolled back during the burn-in: the old fleet serves again, the new one is gone, no second at zero', async () => {
    const { result, summary } = await sim.rehearse({
      scenario: 'blue-green',
      rollout: blueGreen,
      rollbackDuringBurnIn: { burnInSeconds: 3600 },
    });

    expect(summary.refresh).toEqual({
      strategy: 'blue-green',
      status: 'RolledBack',
      instancesReplaced: 0,
      rolledBack: true,
    });
    expect(summary.services.every((service) => service.secondsAtZero === 0)).toBe(true);
    expect(summary.services.every((service) => service.secondsBelowFloor === 0)).toBe(true);
    expect(summary.tasksKilled).toBe(0);
    for (const lane of originals(result)) expect(lane.terminatedAt).toBeUndefined();
    const fresh = [...result.recorder.lanes.values()].filter((lane) => lane.amiId === NEW_AMI);
    expect(fresh.length).toBeGreaterThan(0);
    for (const lane of fresh) expect(lane.terminatedAt).toBeDefined();
  });
});
