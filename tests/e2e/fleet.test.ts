import type { RunResult } from '../../sim/scenario';
import { twoClustersThreeGroups } from '../../sim/scenario';
import { servicesBelowFloor, type Simulation, startSimulation } from './harness';

// One stack, two clusters, three groups (prod: prod-ecs-asg and prod-spot-asg; batch: batch-asg).

let sim: Simulation;
beforeAll(async () => {
  sim = await startSimulation();
});
afterAll(() => sim.close());

/** How each group's lifecycle actions ended: group -> endedBy -> count. */
function endingsByGroup(result: RunResult): Record<string, Record<string, number>> {
  const endings: Record<string, Record<string, number>> = {};
  for (const { group, endedBy } of result.recorder.actions) {
    const byEnd = (endings[group] ??= {});
    byEnd[endedBy] = (byEnd[endedBy] ?? 0) + 1;
  }
  return endings;
}

describe('a stack serving two clusters and three groups', () => {
  it('instance refresh of every group: every action completed by the controller, no task killed, no service below its floor', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 7,
      fleet: twoClustersThreeGroups(),
    });

    expect(endingsByGroup(result)).toEqual({
      'prod-ecs-asg': { completed: 4 },
      'prod-spot-asg': { completed: 2 },
      'batch-asg': { completed: 3 },
    });
    expect(summary.settled).toBe(true);
    expect(summary.instancesTerminated).toBe(9);
    expect(summary.lifecycleActions.completedByController).toBe(9);
    expect(summary.lifecycleActions.heartbeatTimeouts + summary.lifecycleActions.globalTimeouts).toBe(0);
    expect(summary.tasksKilled).toBe(0);
    expect(summary.releasedWithTasksRunning).toBe(0);
    expect(summary.failedEvents).toBe(0);
    // Every notification was taken (its hook named its group's cluster), and every instance was handed
    // back within seconds of its last task stopping: by the task events of its own cluster, not by a
    // later round of the reconciler, and without an alert.
    expect(result.recorder.metrics.get('MessageRejected') ?? 0).toBe(0);
    expect(result.recorder.metrics.get('AlertSent') ?? 0).toBe(0);
    expect(summary.handBackSeconds.p99).toBeLessThan(10);
    // Both clusters' services are in the report, the two `worker`s apart, and none fell below its floor.
    expect(summary.services.map((service) => service.name)).toEqual(
      expect.arrayContaining(['prod/web', 'prod/worker', 'batch/worker', 'batch/scheduler']),
    );
    expect(servicesBelowFloor(summary)).toEqual([]);
  });

  it('scale-in of every group by one: each drained and completed by the controller', async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'scale-in',
      scaleInBy: 1,
      fleet: twoClustersThreeGroups(),
    });

    expect(endingsByGroup(result)).toEqual({
      'prod-ecs-asg': { completed: 1 },
      'prod-spot-asg': { completed: 1 },
      'batch-asg': { completed: 1 },
    });
    expect(summary.settled).toBe(true);
    expect(summary.tasksKilled).toBe(0);
    expect(servicesBelowFloor(summary)).toEqual([]);
  });

  it("a stack deployed for prod only leaves batch-asg's actions to time out while it drains prod's", async () => {
    const { summary, result } = await sim.rehearse({
      scenario: 'instance-refresh',
      seed: 7,
      fleet: twoClustersThreeGroups(),
      clusterNames: ['prod'],
    });

    expect(endingsByGroup(result)).toEqual({
      'prod-ecs-asg': { completed: 4 },
      'prod-spot-asg': { completed: 2 },
      'batch-asg': { 'heartbeat-timeout': 3 },
    });
    // Batch's notifications reached the stack's one queue and were refused: a group it does not serve.
    expect(result.recorder.metrics.get('MessageRejected')).toBe(3);
    // Nobody drained batch: its tasks died with their instances; prod's services kept their floors.
    expect(summary.tasksKilled).toBeGreaterThan(0);
    expect(servicesBelowFloor(summary).filter((name) => name.startsWith('prod/'))).toEqual([]);
  });
});
