import * as z from '../zod';
import { ControllerEnvironment, type ServedGroup } from '../config';
import { BLUE_GREEN_DEFAULTS, type BlueGreenSettings } from '../decisions/blue-green';
import { REFRESH_DEFAULTS, type RefreshSettings, refreshSettingsProblems } from '../decisions/refresh-plan';
import { ROLLOUT_STRATEGIES, type RolloutStrategy } from '../decisions/rollout-strategy';
import { AMI_VARIANTS, type AmiVariant } from './ami-variants';

/** Comma-joined whole numbers. */
const numberList = z.pipe(
  z.pipe(
    z.string(),
    z.transform((value: string) => value.split(',').map((item) => Number(item.trim()))),
  ),
  z.array(z.number().check(z.int())),
);

/** Comma-joined names; empty items are dropped (template.yaml joins an optional, possibly empty list). */
const optionalNames = z.pipe(
  z._default(z.string(), ''),
  z.transform((value: string) =>
    value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  ),
);

const seconds = z.coerce.number().check(z.int(), z.gte(0), z.lte(172800));

/**
 * What the AMI watcher needs to know about the stack (template.yaml, WatchAmiFunction). The served
 * clusters and groups are read as the drain functions read them.
 */
export const WatcherEnvironment = z
  .object({
    CLUSTER_NAMES: ControllerEnvironment.shape.CLUSTER_NAMES,
    AUTO_SCALING_GROUPS: ControllerEnvironment.shape.AUTO_SCALING_GROUPS,
    AMI_VARIANT: z._default(z.enum(AMI_VARIANTS), 'amazon-linux-2023'),
    // Only the exact word `false` acts: a typo keeps the watcher reporting.
    AMI_WATCH_DRY_RUN: z._default(z.enum(['true', 'false']), 'true'),
    REFRESH_MAX_HEALTHY_PERCENTAGE: z._default(z.coerce.number(), REFRESH_DEFAULTS.maxHealthyPercentage),
    REFRESH_INSTANCE_WARMUP: z._default(z.coerce.number(), REFRESH_DEFAULTS.instanceWarmupSeconds),
    REFRESH_CHECKPOINTS: z._default(numberList, [...REFRESH_DEFAULTS.checkpointPercentages]),
    REFRESH_CHECKPOINT_DELAY: z._default(z.coerce.number(), REFRESH_DEFAULTS.checkpointDelaySeconds),
    REFRESH_ALARM_NAMES: optionalNames,
    ROLLOUT_STRATEGY: z._default(z.enum(ROLLOUT_STRATEGIES), 'rolling'),
    BLUE_GREEN_BURN_IN: z._default(seconds, BLUE_GREEN_DEFAULTS.burnInSeconds),
    BLUE_GREEN_LAUNCH_TIMEOUT: z._default(seconds.check(z.gte(60)), BLUE_GREEN_DEFAULTS.launchTimeoutSeconds),
    BLUE_GREEN_DRAIN_TIMEOUT: z._default(seconds.check(z.gte(60)), BLUE_GREEN_DEFAULTS.drainTimeoutSeconds),
    // 0: a quarter of the fleet, rounded up (the state machine's own default).
    BLUE_GREEN_DRAIN_BATCH_SIZE: z._default(z.coerce.number().check(z.int(), z.gte(0)), 0),
    ALERT_TOPIC_ARN: z.optional(z.string()),
  })
  .check(
    z.superRefine((env, context) => {
      const problems = refreshSettingsProblems(refreshSettings(env));
      for (const message of problems) context.addIssue({ code: 'custom', path: ['REFRESH_*'], message });
    }),
  );
type WatcherEnvironment = z.infer<typeof WatcherEnvironment>;

export interface WatcherConfig {
  groups: ServedGroup[];
  variant: AmiVariant;
  dryRun: boolean;
  refresh: RefreshSettings;
  /** How a new AMI is rolled out (RolloutStrategy). */
  strategy: RolloutStrategy;
  /** The blue/green state machine's settings (used with strategy blue-green). */
  blueGreen: BlueGreenSettings;
  alertTopicArn?: string;
}

function refreshSettings(
  env: Omit<WatcherEnvironment, 'AUTO_SCALING_GROUPS' | 'CLUSTER_NAMES'>,
): RefreshSettings {
  return {
    maxHealthyPercentage: env.REFRESH_MAX_HEALTHY_PERCENTAGE,
    instanceWarmupSeconds: env.REFRESH_INSTANCE_WARMUP,
    checkpointPercentages: env.REFRESH_CHECKPOINTS,
    checkpointDelaySeconds: env.REFRESH_CHECKPOINT_DELAY,
    alarmNames: env.REFRESH_ALARM_NAMES,
  };
}

/** Reads the watcher's configuration once, at cold start; a missing or invalid variable fails loudly with its name. */
export function loadWatcherConfig(env: NodeJS.ProcessEnv = process.env): WatcherConfig {
  const parsed = WatcherEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')} (${issue.message})`)
      .join(', ');
    throw new Error(`Invalid AMI watcher configuration: environment variable(s) ${problems}`);
  }
  const { data } = parsed;
  return {
    groups: data.AUTO_SCALING_GROUPS,
    variant: data.AMI_VARIANT,
    dryRun: data.AMI_WATCH_DRY_RUN === 'true',
    refresh: refreshSettings(data),
    strategy: data.ROLLOUT_STRATEGY,
    blueGreen: {
      burnInSeconds: data.BLUE_GREEN_BURN_IN,
      launchTimeoutSeconds: data.BLUE_GREEN_LAUNCH_TIMEOUT,
      drainTimeoutSeconds: data.BLUE_GREEN_DRAIN_TIMEOUT,
      ...(data.BLUE_GREEN_DRAIN_BATCH_SIZE > 0 && { drainBatchSize: data.BLUE_GREEN_DRAIN_BATCH_SIZE }),
    },
    ...(data.ALERT_TOPIC_ARN !== undefined &&
      data.ALERT_TOPIC_ARN !== '' && { alertTopicArn: data.ALERT_TOPIC_ARN }),
  };
}
