import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEADLINE_ACTIONS,
  type DeadlineAction,
  DRAIN_POLICY_DEFAULTS,
  globalTimeoutSeconds,
} from '../shared/config';
import {
  outputDirectory,
  readShapeFile,
  runProgram,
  UsageError,
  wholeNumber,
  writableFile,
} from './cli-input';
import {
  type Controller,
  type DrainSettings,
  loadController,
  openTransport,
  rehearsalRollout,
} from './controller';
import { BLUE_GREEN_DEFAULTS } from '../shared/decisions/blue-green';
import {
  type ClusterShape,
  defaultOptions,
  demoShape,
  type Progress,
  type RunResult,
  runScenario,
  AMI_SCENARIOS,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
} from './scenario';
import { formatComparison, impossibleShape, summarize } from './report';
import { reportStem, renderReport } from './html-report';
import { clock, plural, renderTimeline } from './svg';

const HELP = `npm start -- [options]

Rehearses an Auto Scaling event on a simulated ECS cluster twice: once without the drain controller
(no termination hook, as most clusters run today) and once with the real controller handlers, then
compares what the services went through. Nothing reaches AWS.

Options:
  --scenario NAME         instance-refresh (default), scale-in, spot (EC2 takes instances away),
                          ami-update (AWS publishes a new ECS-optimized AMI: the stack's AMI watcher
                          rolls it out; without it, an instance refresh with Auto Scaling's defaults),
                          bad-ami (the same with an AMI whose ECS agent never connects), or
                          blue-green (the watcher rolls it out blue/green: a new fleet beside the old)
  --seed N                random seed; the same seed gives the same run (default 1)
  --instances N           size of the built-in demo cluster (default 6)
  --config FILE           rehearse your own cluster shape (JSON: instances, services, standaloneTasks, ...)
  --min-healthy PCT       instance refresh MinHealthyPercentage (default 90)
  --max-healthy PCT       instance refresh MaxHealthyPercentage (default: omitted)
  --warmup SECONDS        instance refresh InstanceWarmup (default 60)
  --scale-in-by N         instances the scale-in scenario removes (default a third)
  --heartbeat-timeout S   the hook's HeartbeatTimeout (default 1800)
  --drain-deadline S      the stack's DrainDeadline (default 3600)
  --deadline-action A     the stack's DeadlineAction: continue (default), stop-tasks or keep-waiting
  --faults                duplicate, delay and reorder events; throttle API calls at random, fail
                          some, and lose some answers after the call took effect (ECS's token
                          buckets and the SDK's retries are always on)
  --controller-only       skip the run without the controller
  --rollback              blue-green: an operator asks for the way back half-way through the burn-in
  --json                  print a machine-readable summary instead of the table
  --out DIR               where to write the timeline (.svg) and the report (.html, and report.html
                          for the latest) (default out/)
  --over-http             the handlers' SDK clients call a local HTTP endpoint (default: in-process handler)
  --verbose               show the controller's own log lines
  --help                  this text
`;

function parseFlags() {
  return parseArgs({
    options: {
      scenario: { type: 'string', default: 'instance-refresh' },
      seed: { type: 'string', default: '1' },
      instances: { type: 'string' },
      config: { type: 'string' },
      'min-healthy': { type: 'string' },
      'max-healthy': { type: 'string' },
      warmup: { type: 'string' },
      'scale-in-by': { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'drain-deadline': { type: 'string' },
      'deadline-action': { type: 'string' },
      faults: { type: 'boolean', default: false },
      'controller-only': { type: 'boolean', default: false },
      rollback: { type: 'boolean' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: 'out' },
      verbose: { type: 'boolean', default: false },
      'over-http': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

type Flags = ReturnType<typeof parseFlags>;

async function main(): Promise<void> {
  const values = parseFlags();
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const options = rehearsalOptions(values);
  const { shape, scenario } = options;
  const drain = drainSettings(values, options.heartbeatTimeout);
  // Before the runs: a bad --out, or a directory where a file goes, is known at once.
  outputDirectory(values.out);
  // One pair of files per run configuration, named after what sets it apart (see reportStem).
  const stem = resolve(join(values.out, reportStem(values)));
  const svgPath = writableFile(`${stem}.svg`);
  const reportPath = writableFile(`${stem}.html`);
  const latestReport = writableFile(join(values.out, 'report.html'));

  const { transport, close } = await openTransport(values['over-http'] ? 'http' : 'in-process');
  try {
    const controller = loadController(transport, {
      heartbeatTimeout: options.heartbeatTimeout,
      logLevel: values.verbose ? 'INFO' : 'SILENT',
      drain,
      ...(AMI_SCENARIOS.includes(scenario) && {
        rollout: rehearsalRollout(scenario === 'blue-green' ? 'blue-green' : 'rolling'),
      }),
    });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say(
      `Rehearsing ${scenario} on ${plural(shape.instances, 'instance')}, ${plural(shape.services.length, 'service')} (seed ${options.seed})`,
    );
    const without = values['controller-only']
      ? undefined
      : await rehearse(options, undefined, reporter('without controller', scenario));
    const withController = await rehearse(options, controller, reporter('with controller', scenario));

    const runs = without ? [without, withController] : [withController];
    writeFileSync(svgPath, renderTimeline(runs));
    const report = renderReport(runs);
    writeFileSync(reportPath, report);
    // And the latest rehearsal's report under a name that does not move: out/report.html.
    writeFileSync(latestReport, report);

    const summaries = runs.map(summarize);
    const withSummary = summaries[summaries.length - 1];
    if (withSummary === undefined) throw new Error('no run');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ scenario, seed: options.seed, runs: summaries, timeline: svgPath, report: reportPath }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(
        `\n${formatComparison(without ? summaries[0] : undefined, withSummary)}\n\nTimeline: ${svgPath}\nReport:   ${reportPath}\n`,
      );
    }
  } finally {
    await close();
  }
}

/** One run of the rehearsal, its progress reported as it goes and where it ended. */
async function rehearse(
  options: ScenarioOptions,
  controller: Controller | undefined,
  progress: ReturnType<typeof reporter>,
): Promise<RunResult> {
  const result = await runScenario({
    ...options,
    ...(controller && { controller }),
    onProgress: progress.onProgress,
  });
  progress.finish();
  return result;
}

/**
 * Live progress on stderr: one line rewritten in place on a terminal, a line every 10 simulated
 * minutes otherwise; `finish` prints where the run ended, which those lines may have skipped.
 */
function reporter(label: string, scenario: ScenarioName) {
  let lastPrinted = -Infinity;
  let last: string | undefined;
  // A refresh replaces instances; a scale-in and a spot interruption only take them away.
  const done = scenario === 'instance-refresh' || AMI_SCENARIOS.includes(scenario) ? 'replaced' : 'removed';
  return {
    onProgress: (progress: Progress) => {
      const line = `  ${label}: t=${clock(progress.simulatedSeconds)}  ${done} ${progress.instancesReplaced}/${progress.instancesToReplace}  draining ${progress.draining}  in service ${progress.inService}`;
      last = line;
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${line}\u001b[K`);
      } else if (progress.simulatedSeconds - lastPrinted >= 600) {
        process.stderr.write(`${line}\n`);
        lastPrinted = progress.simulatedSeconds;
        last = undefined;
      }
    },
    finish: () => {
      if (process.stderr.isTTY) process.stderr.write('\n');
      else if (last !== undefined) process.stderr.write(`${last}\n`);
    },
  };
}

/** The scenario the flags describe, checked as Auto Scaling and the template would check it. */
function rehearsalOptions(values: Flags): ScenarioOptions & { shape: ClusterShape } {
  const scenario = values.scenario as ScenarioName;
  if (!SCENARIOS.includes(scenario)) {
    throw new UsageError(`--scenario is one of ${SCENARIOS.join(', ')}, not "${values.scenario}"`);
  }
  if (values.config !== undefined && values.instances !== undefined) {
    throw new UsageError('--instances sizes the built-in demo; a --config file gives its own instances');
  }
  const shape =
    values.config !== undefined
      ? readShapeFile(values.config)
      : demoShape(wholeNumber(values.instances ?? '6', '--instances', 1, 5000));
  const impossible = impossibleShape(shape);
  if (impossible.length > 0) {
    throw new UsageError(`the cluster can never run what it is asked to: ${impossible.join('; ')}`);
  }
  const base = defaultOptions(shape);
  // A flag that does not apply to the scenario would be ignored: refused instead.
  const onlyFor: [keyof Flags, ScenarioName][] = [
    ['min-healthy', 'instance-refresh'],
    ['max-healthy', 'instance-refresh'],
    ['warmup', 'instance-refresh'],
    ['scale-in-by', 'scale-in'],
    ['rollback', 'blue-green'],
  ];
  for (const [flag, only] of onlyFor) {
    if (values[flag] !== undefined && scenario !== only)
      throw new UsageError(`--${flag} applies to --scenario ${only} only, not ${scenario}`);
  }
  // Auto Scaling's own bounds for an instance refresh: 0-100, 100-200, at most 100 apart, and a
  // maximum only with a minimum.
  if (values['max-healthy'] !== undefined && values['min-healthy'] === undefined) {
    throw new UsageError('--max-healthy needs --min-healthy too, as Auto Scaling asks for both');
  }
  const minHealthy =
    values['min-healthy'] !== undefined
      ? wholeNumber(values['min-healthy'], '--min-healthy', 0, 100)
      : base.refresh.minHealthyPercentage;
  const maxHealthy =
    values['max-healthy'] !== undefined
      ? wholeNumber(values['max-healthy'], '--max-healthy', 100, 200)
      : undefined;
  if (maxHealthy !== undefined && maxHealthy - minHealthy > 100) {
    throw new UsageError(
      `--max-healthy ${maxHealthy} and --min-healthy ${minHealthy} are more than 100 apart, which Auto Scaling refuses`,
    );
  }
  const scaleInBy =
    values['scale-in-by'] !== undefined
      ? wholeNumber(
          values['scale-in-by'],
          '--scale-in-by',
          1,
          shape.instances,
          ` (the group has ${shape.instances} instances)`,
        )
      : base.scaleInBy;
  if (scenario === 'scale-in') {
    const left = impossibleShape({ ...shape, instances: shape.instances - scaleInBy });
    if (left.length > 0) {
      throw new UsageError(
        `scaling in by ${scaleInBy} leaves ${shape.instances - scaleInBy} instance(s), too few: ${left.join('; ')}`,
      );
    }
  }
  return {
    ...base,
    scenario,
    scaleInBy,
    seed: wholeNumber(values.seed, '--seed', 0, Number.MAX_SAFE_INTEGER),
    heartbeatTimeout:
      values['heartbeat-timeout'] !== undefined
        ? wholeNumber(
            values['heartbeat-timeout'],
            '--heartbeat-timeout',
            300,
            7200,
            " (the template's HeartbeatTimeout; Auto Scaling allows 30, the stack needs 300)",
          )
        : base.heartbeatTimeout,
    refresh: {
      minHealthyPercentage: minHealthy,
      ...(maxHealthy !== undefined && { maxHealthyPercentage: maxHealthy }),
      instanceWarmup:
        values.warmup !== undefined
          ? wholeNumber(values.warmup, '--warmup', 0, 3600)
          : base.refresh.instanceWarmup,
    },
    ...(values.rollback === true && {
      rollbackDuringBurnIn: { burnInSeconds: BLUE_GREEN_DEFAULTS.burnInSeconds },
    }),
    ...(values.faults && {
      deliveryFaults: { duplicate: 0.2, delay: 0.2, maxDelaySeconds: 120, drop: 0 },
      apiFaults: { tokenBuckets: true, throttle: 0.05, serverError: 0.01, lostResponse: 0.02 },
    }),
  };
}

/** The stack's drain parameters the flags give, checked as the template checks them. */
function drainSettings(values: Flags, heartbeatTimeout: number): DrainSettings {
  const deadlineAction = values['deadline-action'] ?? DRAIN_POLICY_DEFAULTS.deadlineAction;
  if (!isDeadlineAction(deadlineAction)) {
    throw new UsageError(
      `--deadline-action must be one of ${DEADLINE_ACTIONS.join(', ')}, not "${deadlineAction}"`,
    );
  }
  if (values['drain-deadline'] === undefined) return { deadlineAction };
  // The template takes 60 to 172800; the stack caps a deadline beyond the hook's global timeout,
  // min(48 h, 100 x HeartbeatTimeout), and says so at cold start: the rehearsal does the same.
  const asked = wholeNumber(values['drain-deadline'], '--drain-deadline', 60, 172800);
  const global = globalTimeoutSeconds(heartbeatTimeout);
  if (asked > global) {
    process.stderr.write(
      `--drain-deadline ${asked} is beyond the hook's global timeout (100 x HeartbeatTimeout ${heartbeatTimeout} = ${global} s): ` +
        `the stack caps it to ${global} s, and so does this rehearsal\n`,
    );
  }
  return { deadlineAction, drainDeadlineSeconds: Math.min(asked, global) };
}

function isDeadlineAction(text: string): text is DeadlineAction {
  return (DEADLINE_ACTIONS as readonly string[]).includes(text);
}

runProgram('npm start', main);
