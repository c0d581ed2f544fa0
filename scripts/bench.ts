/**
 * Benchmark: what the controller costs and how fast it hands instances back, under ECS's real API
 * limits (token buckets on) and the SDK's standard retries, through the real handlers and SDK clients.
 * Prints figures; asserts nothing (performance is measured here, not in timed tests).
 *
 *   npm run bench [-- --json] [--instances 1000] [--repeat 1] [--transport in-process|http|both]
 *                 [--ecs-reads-per-second 10]   (the stack's EcsReadsPerSecond)
 *                 [--only designs|scale|cold-start ...] [--cold-start-processes 21] [--large-instances 5000]
 *
 * - designs: ours beside the other tools' drain designs, one row each (scripts/bench/designs.ts);
 * - scale: an instance refresh of 1,000 instances running 10,000 tasks, then one of 5,000 (wall time
 *   and memory);
 * - irrelevantEvents: a busy batch cluster where tasks end all the time and nothing drains: what
 *   does each task STOPPED event of a host that is not draining cost in ECS reads?
 * - coldStart: each function's bundle with the SDK bundled and left to the runtime (bench/cold-start.ts).
 */
import { parseArgs } from 'node:util';
import { SDK_MAX_ATTEMPTS } from '../shared/aws/pacer';
import { measureColdStart } from './bench/cold-start';
import { designsSection, formatDesignsTable } from './bench/designs';
import { runProgram, UsageError, wholeNumber } from '../sim/cli-input';
import { loadController, openTransport, type Transport } from '../sim/controller';
import { callRate, handBack, median } from '../sim/metrics';
import { summarize } from '../sim/report';
import {
  buildWorld,
  ClusterShape,
  defaultOptions,
  runScenario,
  SETTLE_SECONDS,
  setActive,
} from '../sim/scenario';

const HELP = `npm run bench -- [--json] [--instances 1000] [--repeat 1] [--transport in-process|http|both]
                    [--ecs-reads-per-second 10] [--only designs|scale|cold-start ...]
                    [--cold-start-processes 21] [--large-instances 5000]

Through the real handlers, with ECS's token buckets and the SDK's retries on:
  cold-start  each function's cold start with the SDK bundled and left to the runtime;
  designs     ours beside the other tools' drain designs on one cluster (about a minute);
  scale       an instance refresh of --large-instances (5,000; 0 skips it; several minutes and over
              a gigabyte of memory), then of --instances (1,000) instances running ten tasks each, then
              a busy batch cluster where nothing drains.
Prints figures. --only runs the sections named (repeat it for several); all by default.
`;

const SECTIONS = ['cold-start', 'designs', 'scale'] as const;

function parseFlags() {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '1' },
      transport: { type: 'string', default: 'in-process' },
      json: { type: 'boolean', default: false },
      'ecs-reads-per-second': { type: 'string', default: '10' },
      only: { type: 'string', multiple: true, default: [...SECTIONS] },
      'cold-start-processes': { type: 'string', default: '21' },
      'large-instances': { type: 'string', default: '5000' },
      help: { type: 'boolean', default: false },
    },
  });
  const ecsReadsPerSecond = Number(values['ecs-reads-per-second']);
  if (!(ecsReadsPerSecond >= 1 && ecsReadsPerSecond <= 20)) {
    throw new UsageError(
      `--ecs-reads-per-second takes a number from 1 to 20, as the template parameter does, not "${values['ecs-reads-per-second']}"`,
    );
  }
  const transports = (
    values.transport === 'both' ? ['in-process', 'http'] : [values.transport]
  ) as Transport['kind'][];
  if (transports.some((kind) => kind !== 'in-process' && kind !== 'http'))
    throw new UsageError(`--transport is in-process, http or both, not "${values.transport}"`);
  const unknown = values.only.filter((section) => !(SECTIONS as readonly string[]).includes(section));
  if (unknown.length > 0)
    throw new UsageError(`--only takes ${SECTIONS.join(' or ')}, not "${unknown.join(', ')}"`);
  return {
    only: values.only,
    coldStartProcesses: wholeNumber(values['cold-start-processes'], '--cold-start-processes', 20, 1000),
    json: values.json,
    help: values.help,
    instances: wholeNumber(values.instances, '--instances', 1, 5000),
    largeInstances: wholeNumber(values['large-instances'], '--large-instances', 0, 5000),
    repeat: wholeNumber(values.repeat, '--repeat', 1, 100),
    ecsReadsPerSecond,
    transports,
  };
}

/** The flags, as main parsed them: everything below runs after. */
let flags: ReturnType<typeof parseFlags>;
const say = (line: string) => {
  if (!flags.json) process.stdout.write(`${line}\n`);
};

/** Nine replica services with different deployment settings plus a daemon: ten tasks per instance. */
function benchShape(size: number): ClusterShape {
  const settings = [
    [100, 200],
    [50, 200],
    [50, 100],
    [0, 100],
    [100, 150],
  ] as const;
  return ClusterShape.parse({
    instances: size,
    instanceCpu: 4096,
    instanceMemory: 16384,
    services: [
      ...Array.from({ length: 9 }, (_, n) => {
        const [minimumHealthyPercent, maximumPercent] = settings[n % settings.length] ?? [100, 200];
        return {
          name: `svc-${n}`,
          desiredCount: size,
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

async function scaleRun(transport: Transport, seed: number, instances: number) {
  const shape = benchShape(instances);
  const options = { ...defaultOptions(shape), seed };
  const started = process.hrtime.bigint();
  // Memory while this run runs, sampled: the process's resident set at its highest (what an earlier run
  // left counts too: V8 seldom gives memory back, so the section runs the large refresh first, whose
  // figure is then its own), and the JavaScript heap in use at its highest (this run's own, garbage
  // not yet collected included).
  const peak = { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
  const sample = () => {
    const { rss, heapUsed } = process.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.heap = Math.max(peak.heap, heapUsed);
  };
  const sampler = setInterval(sample, 250);
  const result = await runScenario({
    ...options,
    controller: loadController(transport, { drain: { ecsReadsPerSecond: flags.ecsReadsPerSecond } }),
  }).finally(() => clearInterval(sampler));
  sample();
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const megabytes = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const summary = summarize(result);
  const tasks = shape.services.reduce((sum, s) => sum + (s.daemon ? shape.instances : s.desiredCount), 0);
  return {
    instances,
    tasks,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    peakRssMegabytes: megabytes(peak.rss),
    peakHeapMegabytes: megabytes(peak.heap),
    simulatedSeconds: summary.simulatedSeconds,
    tokenBuckets: options.apiFaults.tokenBuckets,
    ecsReadsPerSecond: flags.ecsReadsPerSecond,
    // The functions' clients retry (SDK_MAX_ATTEMPTS), on the twin's clock, through the SDK's own middleware.
    sdkRetries: SDK_MAX_ATTEMPTS > 1 && Object.values(result.retries).some((client) => client.calls > 0),
    settled: result.settled,
    actions: {
      completedByController: summary.lifecycleActions.completedByController,
      timedOut: summary.lifecycleActions.heartbeatTimeouts + summary.lifecycleActions.globalTimeouts,
    },
    tasksKilled: summary.tasksKilled,
    releasedWithTasksRunning: result.recorder.releasedWithTasks.length,
    servicesBelowFloor: summary.services.filter((s) => !s.daemon && s.lowestHealthy < s.floor).length,
    ecsReads: callRate(result.recorder.ecsReadTimes, result.actionAt, result.endedAt),
    handBack: handBack(result),
    throttledCalls: result.throttledCalls,
    sdkRetriesMade: Object.values(result.retries).reduce((sum, client) => sum + client.retries, 0),
    failedEvents: summary.failedEvents,
    invocations: summary.invocations,
    apiCalls: result.apiCalls,
  };
}

/**
 * A busy batch cluster: 200 instances (fewer with a smaller --instances) where a job runner starts
 * short standalone tasks all the time, one a second per ten instances, and nothing drains. Every task
 * that ends is an event the controller receives and must dismiss.
 */
async function irrelevantEventsRun(transport: Transport) {
  const instances = Math.min(200, flags.instances);
  const shape = ClusterShape.parse({
    instances,
    instanceCpu: 4096,
    instanceMemory: 16384,
    services: [{ name: 'api', desiredCount: instances, minimumHealthyPercent: 50, maximumPercent: 200 }],
  });
  const options = {
    ...defaultOptions(shape),
    controller: loadController(transport, { drain: { ecsReadsPerSecond: flags.ecsReadsPerSecond } }),
  };
  const world = buildWorld(options, 'notify');
  setActive(world);
  const { clock } = world;
  await clock.run(SETTLE_SECONDS);
  const from = clock.now;
  const minutes = 10;
  // 20 jobs a second on 200 instances, each running 20 to 60 seconds: about 20 task STOPPED events a second.
  const jobsPerSecond = Math.max(1, Math.round(instances / 10));
  for (let second = 0; second < minutes * 60; second++) {
    clock.at(from + second, () => {
      for (let job = 0; job < jobsPerSecond; job++) {
        world.ecs.runStandaloneTasks({
          family: 'job',
          count: 1,
          cpu: 128,
          memory: 256,
          runSeconds: world.random.between(20, 60),
        });
      }
    });
  }
  await clock.run(from + minutes * 60 + 120);
  setActive(undefined);
  // Per STOPPED event, as issue 6 asks; the told-to-stop events ride in the same batches for free.
  const events = world.recorder.taskEventsQueued.stopped;
  const reads = world.recorder.ecsReadTimes.filter((t) => t >= from).length;
  return {
    instances: shape.instances,
    simulatedSeconds: minutes * 60,
    taskStoppedEvents: events,
    recordsDelivered: world.taskEventSource?.stats.recordsDelivered ?? 0,
    batches: world.taskEventSource?.stats.batches ?? 0,
    ecsReads: reads,
    ecsReadsPerEvent: events === 0 ? null : Math.round((reads / events) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  flags = parseFlags();
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  const report: Record<string, unknown> = { node: process.version };
  // First, on a machine not yet busy with the simulation: process start-up times are its own figures.
  if (flags.only.includes('cold-start'))
    report.coldStart = await measureColdStart({ processes: flags.coldStartProcesses, say });
  const opened = new Map(
    await Promise.all(flags.transports.map(async (kind) => [kind, await openTransport(kind)] as const)),
  );
  const transportOf = (kind: Transport['kind']) => {
    const open = opened.get(kind);
    if (open === undefined) throw new Error(`transport ${kind} was not opened`);
    return open.transport;
  };
  const [first] = flags.transports;
  if (first === undefined) throw new Error('no transport');
  try {
    if (flags.only.includes('designs')) {
      const designs = await designsSection(transportOf(first), {
        ecsReadsPerSecond: flags.ecsReadsPerSecond,
      });
      for (const line of formatDesignsTable(designs)) say(line);
      report.designsSetup = designs.setup;
      report.designs = designs.rows;
    }
    if (flags.only.includes('scale')) Object.assign(report, await scaleSection(transportOf, first));
  } finally {
    for (const { close } of opened.values()) await close();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

async function scaleSection(transportOf: (kind: Transport['kind']) => Transport, first: Transport['kind']) {
  say(
    `instance refresh: ${flags.instances} instances, node ${process.version}, ECS token buckets and SDK retries on, ` +
      `EcsReadsPerSecond ${flags.ecsReadsPerSecond}`,
  );
  const describe = (kind: string, result: Awaited<ReturnType<typeof scaleRun>>) =>
    say(
      `${kind.padEnd(11)} wall ${result.wallSeconds} s  peak RSS ${result.peakRssMegabytes} MB (heap ${result.peakHeapMegabytes} MB)  simulated ${result.simulatedSeconds} s  ` +
        `completed by controller ${result.actions.completedByController}/${result.instances}  timed out ${result.actions.timedOut}  ` +
        `tasks killed ${result.tasksKilled}  ECS reads ${result.ecsReads.total} (mean ${result.ecsReads.perSecondMean}/s, ` +
        `peak ${result.ecsReads.perSecondPeak}/s)  hand-back median ${result.handBack.medianSeconds} s / p99 ` +
        `${result.handBack.p99Seconds} s (delivery ${result.handBack.deliveryMedianSeconds} s)  throttled ${result.throttledCalls}`,
    );
  // First, the largest run, on a process nothing else has grown yet: its peak memory is its own.
  let large: Awaited<ReturnType<typeof scaleRun>> | undefined;
  if (flags.largeInstances > 0) {
    say(`instance refresh: ${flags.largeInstances} instances`);
    large = await scaleRun(transportOf(first), 1, flags.largeInstances);
    describe(first, large);
  }
  const runs: { kind: Transport['kind']; result: Awaited<ReturnType<typeof scaleRun>> }[] = [];
  for (let round = 0; round < flags.repeat; round++) {
    // Transports alternate within each repeat, so a noisy neighbour hits them alike.
    for (const kind of flags.transports) {
      const result = await scaleRun(transportOf(kind), 1 + round, flags.instances);
      runs.push({ kind, result });
      describe(kind, result);
    }
  }
  const wallMedians = Object.fromEntries(
    flags.transports.map((kind) => [
      kind,
      median(runs.filter((run) => run.kind === kind).map((run) => run.result.wallSeconds)),
    ]),
  );
  for (const [kind, seconds] of Object.entries(wallMedians))
    say(`median wall time ${kind}: ${seconds} s over ${flags.repeat} run(s)`);

  const irrelevant = await irrelevantEventsRun(transportOf(first));
  say(
    `busy batch cluster, nothing draining: ${irrelevant.taskStoppedEvents} task STOPPED events ` +
      `(${irrelevant.recordsDelivered} records with the told-to-stop ones) in ${irrelevant.batches} batches, ` +
      `${irrelevant.ecsReads} ECS reads: ${irrelevant.ecsReadsPerEvent} per STOPPED event`,
  );
  return {
    // The section the issue names `scale`: the refresh of --instances, and the large one inside it.
    scale: { ...runs.find((run) => run.kind === first)?.result, ...(large !== undefined && { large }) },
    wallSecondsMedian: wallMedians,
    irrelevantEvents: irrelevant,
  };
}

runProgram('npm run bench', main);
