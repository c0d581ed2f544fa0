import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEADLINE_ACTIONS,
  type DeadlineAction,
  DRAIN_POLICY_DEFAULTS,
  globalTimeoutSeconds,
} from '../shared/config';
import { BLUE_GREEN_DEFAULTS } from '../shared/decisions/blue-green';
import { outputDirectory, readShapeFile, UsageError, wholeNumber, writableFile } from './cli-input';
import type { DrainSettings } from './controller';
import { reportStem } from './html-report';
import { impossibleShape } from './report';
import {
  type ClusterShape,
  defaultOptions,
  demoShape,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
} from './scenario';

/**
 * What `npm start` is asked to rehearse, checked before anything runs: every bad flag, value, file or
 * path is a UsageError naming it (sim/cli.ts turns it into one line and exit code 2). Separate from
 * the program so that its checks can be tested without a process each.
 */
export type RehearsalInput =
  | { help: true }
  | {
      help: false;
      values: Flags;
      options: ScenarioOptions & { shape: ClusterShape };
      drain: DrainSettings;
      svgPath: string;
      reportPath: string;
      latestReport: string;
    };

export function rehearsalInput(
  args: string[],
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): RehearsalInput {
  const values = parseFlags(args);
  if (values.help) return { help: true };
  const options = rehearsalOptions(values);
  const drain = drainSettings(values, options.heartbeatTimeout, warn);
  // Before the runs: a bad --out, or a directory where a file goes, is known at once.
  outputDirectory(values.out);
  // One pair of files per run configuration, named after what sets it apart (see reportStem).
  const stem = resolve(join(values.out, reportStem(values)));
  return {
    help: false,
    values,
    options,
    drain,
    svgPath: writableFile(`${stem}.svg`),
    reportPath: writableFile(`${stem}.html`),
    latestReport: writableFile(join(values.out, 'report.html')),
  };
}

function parseFlags(args: string[]) {
  return parseArgs({
    args,
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

export type Flags = ReturnType<typeof parseFlags>;

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
function drainSettings(values: Flags, heartbeatTimeout: number, warn: (line: string) => void): DrainSettings {
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
    warn(
      `--drain-deadline ${asked} is beyond the hook's global timeout (100 x HeartbeatTimeout ${heartbeatTimeout} = ${global} s): ` +
        `the stack caps it to ${global} s, and so does this rehearsal`,
    );
  }
  return { deadlineAction, drainDeadlineSeconds: Math.min(asked, global) };
}

function isDeadlineAction(text: string): text is DeadlineAction {
  return (DEADLINE_ACTIONS as readonly string[]).includes(text);
}
