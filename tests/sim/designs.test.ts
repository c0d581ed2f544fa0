import { openTransport } from '../../sim/controller';
import { designEntries, type DesignEntry, designsShape, measureDesign } from '../../sim/designs';
import { CDK_DRAIN_TIME_SECONDS } from '../../sim/designs/cdk-drain-hook';
import { RECURSIVE_LOOP_LIMIT } from '../../sim/designs/design';
import type { DesignRow } from '../../sim/designs/measures';
import type { RunResult } from '../../sim/scenario';

// The other tools' designs, each run alone through the same instance refresh of the same cluster
// (sim/designs/index.ts: tasks that take minutes to stop, no daemon, a service whose drains outlast
// 15 minutes), and what the world recorded of each. Each weakness a tool's users complain of
// (docs background.md) must show here, and ours must not have it.

const runs = new Map<string, { result: RunResult; row: DesignRow }>();
let close: () => Promise<void>;

beforeAll(async () => {
  const opened = await openTransport('in-process');
  close = opened.close;
  const shape = designsShape(10);
  for (const entry of designEntries(opened.transport))
    runs.set(entry.name, await measureDesign(entry, { seed: 1, shape, busyCluster: false }));
}, 60_000);
afterAll(() => close());

const run = (name: DesignEntry['name']) => {
  const found = runs.get(name);
  if (found === undefined) throw new Error(`no design ${name}`);
  return found;
};

describe('drain designs in the same instance refresh', () => {
  it('ours lets no instance go before all its tasks have stopped, kills none, and cuts no drain', () => {
    const { row, result } = run('ours');
    expect(result.settled).toBe(true);
    expect(row.drains).toBe(10);
    expect(row.earlyTerminations).toBe(0);
    expect(row.tasksKilled).toBe(0);
    expect(row.drainsCutByCap).toBe(0);
    // Its hosts with the slow service drained for longer than any 15-minute cap, and were waited for.
    expect(Math.max(...result.recorder.actions.map((a) => a.endedAt - a.startedAt))).toBeGreaterThan(900);
  });

  it.each(['aws-sample', 'aws-sample-no-loop-cutoff', 'two-lambda-eventbridge', 'queue-delay-heartbeat'])(
    '%s completes while tasks are still stopping: it counts desired status RUNNING, which a task told to stop has left',
    (name) => {
      const { row, result } = run(name);
      expect(row.earlyTerminations).toBeGreaterThan(0);
      expect(row.tasksKilled).toBeGreaterThan(0);
      // Completed by the design itself (not a timeout) while a task on the host had not stopped.
      const early = new Set(result.recorder.releasedWithTasks.map((release) => release.instanceId));
      expect(
        result.recorder.actions.some(
          (action) => action.endedBy === 'completed' && early.has(action.instanceId),
        ),
      ).toBe(true);
    },
  );

  it('the aws-cdk drain hook waits for stopping tasks, but cuts every drain longer than its 15 minutes', () => {
    const { row, result } = run('cdk-drain-hook');
    expect(row.drainsCutByCap).toBeGreaterThan(0);
    const cut = result.recorder.actions.filter(
      (a) => a.endedBy !== 'completed' && a.leftOnInstance.length > 0,
    );
    for (const action of cut) expect(action.endedAt - action.startedAt).toBe(CDK_DRAIN_TIME_SECONDS);
    // The drains it finished, it finished right: every instance it let go of early was a cut one.
    expect(row.earlyTerminations).toBe(cut.length);
    // Lambda's 900 s timeout killed the loop of each cut drain.
    expect(result.lambdas['cdk-drain-hook']?.timeouts).toBeGreaterThanOrEqual(cut.length);
  });

  it("the AWS sample's re-publish loop dies after 16 hops, and its drains then wait for the hook to time out", () => {
    const { result } = run('aws-sample');
    const stopped = result.lambdas['aws-sample']?.failed ?? [];
    expect(stopped.length).toBeGreaterThan(0);
    for (const failure of stopped) expect(failure.error).toMatch(/^RecursiveInvocationException/);
    // Each stopped chain is a drain no function looks at any more: its action ends by the hook's timeout.
    const timedOut = result.recorder.actions.filter((a) => a.endedBy === 'heartbeat-timeout');
    expect(timedOut).toHaveLength(stopped.length);
    for (const action of timedOut) expect(action.endedAt - action.startedAt).toBe(900);
    // Before the cut-off the same loop went on, ~5 s a hop, and completed every drain itself.
    const before = run('aws-sample-no-loop-cutoff');
    expect(before.result.recorder.actions.every((a) => a.endedBy === 'completed')).toBe(true);
    const longest = Math.max(...before.result.recorder.actions.map((a) => a.endedAt - a.startedAt));
    expect(longest).toBeGreaterThan(RECURSIVE_LOOP_LIMIT * 5);
    expect(before.result.lambdas['aws-sample-no-loop-cutoff']?.invocations).toBeGreaterThan(
      result.lambdas['aws-sample']?.invocations ?? Infinity,
    );
  });

  it('without a hook every instance goes at once, with its tasks', () => {
    const { row } = run('no-hook');
    expect(row.earlyTerminations).toBe(row.drains);
    expect(row.tasksKilled).toBeGreaterThan(0);
    expect(row.apiCallsPerDrain).toEqual({ ecs: 0, autoScaling: 0 });
  });
});
