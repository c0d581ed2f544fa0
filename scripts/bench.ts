/**
 * Benchmark: an instance refresh of 1,000 instances running 10,000 tasks, with the real controller
 * handlers talking to the simulation over HTTP through the real SDK clients. Prints figures; asserts
 * nothing (performance is measured here, not in timed tests).
 *
 *   npm run bench [-- --instances 1000 --repeat 1 --baseline --transport in-process|http|both]
 */
import { parseArgs } from 'node:util';
import { loadController, openTransport, type Transport } from '../sim/controller';
import { summarize } from '../sim/report';
import { ClusterShape, defaultOptions, runScenario } from '../sim/scenario';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '1' },
    baseline: { type: 'boolean', default: false },
    transport: { type: 'string', default: 'in-process' },
  },
});
const instances = Number(values.instances);

/** Nine replica services with different deployment settings plus a daemon: ten tasks per instance. */
function benchShape(): ClusterShape {
  const settings = [
    [100, 200],
    [50, 200],
    [50, 100],
    [0, 100],
    [100, 150],
  ] as const;
  return ClusterShape.parse({
    instances,
    instanceCpu: 4096,
    instanceMemory: 16384,
    services: [
      ...Array.from({ length: 9 }, (_, n) => {
        const [minimumHealthyPercent, maximumPercent] = settings[n % settings.length] ?? [100, 200];
        return {
          name: `svc-${n}`,
          desiredCount: instances,
          minimumHealthyPercent,
          maximumPercent,
          cpu: 256,
          memory: 1024,
          startupSeconds: 20 + 10 * n,
          stopSeconds: 30 + 15 * n,
        };
      }),
      { name: 'log-router', daemon: true, cpu: 64, memory: 128, startupSeconds: 5, stopSeconds: 5 },
    ],
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

type Variant = 'without' | 'in-process' | 'http';

async function main(): Promise<void> {
  const transports = (
    values.transport === 'both' ? ['in-process', 'http'] : [values.transport]
  ) as Transport['kind'][];
  const variants: Variant[] = [
    ...(values.baseline ? ['without' as const] : []),
    ...(transports as Variant[]),
  ];
  const opened = new Map(
    await Promise.all(transports.map(async (kind) => [kind, await openTransport(kind)] as const)),
  );
  const shape = benchShape();
  const tasks = shape.services.reduce((sum, s) => sum + (s.daemon ? instances : s.desiredCount), 0);
  console.log(`instance refresh: ${instances} instances, ${tasks} tasks, node ${process.version}`);
  const runs: { variant: Variant; seconds: number }[] = [];
  for (let repeat = 0; repeat < Number(values.repeat); repeat++) {
    // Variants alternate within each repeat, so a noisy neighbour hits them alike.
    for (const variant of variants) {
      const controller = variant === 'without' ? undefined : await loadController(transportOf(variant));
      const started = process.hrtime.bigint();
      const result = await runScenario({ ...defaultOptions(shape), seed: 1 + repeat, controller });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const summary = summarize(result);
      const calls = Object.values(result.apiCalls).reduce((a, b) => a + b, 0);
      const invocations = Object.values(result.lambdas).reduce((a, l) => a + l.invocations, 0);
      runs.push({ variant, seconds });
      console.log(
        `${variant.padEnd(11)} wall ${seconds.toFixed(1)} s  simulated ${(result.endedAt / 3600).toFixed(2)} h  ` +
          `settled ${result.settled}  invocations ${invocations}  API calls ${calls}  ` +
          `completed by controller ${summary.lifecycleActions.completedByController}/${summary.instancesTerminated}  ` +
          `tasks killed ${summary.tasksKilled}  services below floor ${summary.services.filter((s) => !s.daemon && s.lowestHealthy < s.floor).length}`,
      );
    }
  }
  const medians = new Map(
    variants.map((variant) => [
      variant,
      median(runs.filter((run) => run.variant === variant).map((run) => run.seconds)),
    ]),
  );
  for (const [variant, seconds] of medians) {
    console.log(`median wall time ${variant}: ${seconds.toFixed(1)} s over ${values.repeat} run(s)`);
  }
  const http = medians.get('http');
  const inProcess = medians.get('in-process');
  if (http !== undefined && inProcess !== undefined)
    console.log(`http / in-process: ${(http / inProcess).toFixed(2)}x`);
  for (const { close } of opened.values()) await close();

  function transportOf(kind: Transport['kind']): Transport {
    const open = opened.get(kind);
    if (open === undefined) throw new Error(`transport ${kind} was not opened`);
    return open.transport;
  }
}

void main();
