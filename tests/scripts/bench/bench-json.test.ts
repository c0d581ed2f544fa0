import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// `npm run bench -- --json` at a toy size: one JSON object on stdout with the sections issue 11 names
// (the designs' rows are checked in tests/e2e/designs.test.ts, the cold start's figures in
// cold-start.test.ts; the cold-start section itself takes minutes and is not run here).
const root = join(__dirname, '..', '..', '..');

it('prints one JSON object with scale (the large run inside it, with wall time and memory) and irrelevantEvents', () => {
  const stdout = execFileSync(
    join(root, 'node_modules', '.bin', 'tsx'),
    [
      join(root, 'scripts', 'bench.ts'),
      '--json',
      '--only',
      'scale',
      '--instances',
      '6',
      '--large-instances',
      '12',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
  );
  const report = JSON.parse(stdout);
  expect(Object.keys(report).sort()).toEqual(['irrelevantEvents', 'node', 'scale', 'wallSecondsMedian']);
  const { scale } = report;
  expect(scale).toMatchObject({ instances: 6, settled: true, tasksKilled: 0, releasedWithTasksRunning: 0 });
  expect(scale.large).toMatchObject({ instances: 12, settled: true, tasksKilled: 0 });
  for (const run of [scale, scale.large]) {
    expect(run.wallSeconds).toBeGreaterThan(0);
    expect(run.peakRssMegabytes).toBeGreaterThan(0);
    expect(run.peakHeapMegabytes).toBeGreaterThan(0);
    expect(run.actions.completedByController).toBe(run.instances);
  }
  expect(report.irrelevantEvents.taskStoppedEvents).toBeGreaterThan(0);
  expect(report.irrelevantEvents.ecsReadsPerEvent).toEqual(expect.any(Number));
}, 60_000);
