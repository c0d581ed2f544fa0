import type { StartInstanceRefreshCommandInput } from '@aws-sdk/client-auto-scaling';

/**
 * The rolling strategy of an ECS-safe instance refresh, as StartInstanceRefresh input. Pure: the AMI
 * watcher uses it, and so can a command-line tool. Launch before terminate (MinHealthyPercentage 100,
 * MaxHealthyPercentage above it), skip instances that already match, pause at checkpoints for a
 * burn-in, and roll back on failure or on any of the alarms (aws-semantics §2.1).
 */

/** The settings an operator chooses (template.yaml's refresh parameters). */
export interface RefreshSettings {
  /** 100..200: how far above the desired capacity the group may go while new instances start. */
  maxHealthyPercentage: number;
  /** Seconds a new instance is given before it counts as healthy; absent: the group's default. */
  instanceWarmupSeconds?: number;
  /** Ascending, unique, 1..100, ending at 100: where the refresh pauses for the burn-in. */
  checkpointPercentages: number[];
  /** Burn-in: seconds to wait at each checkpoint (0..172800). */
  checkpointDelaySeconds: number;
  /** CloudWatch alarms that fail (and so roll back) the refresh when they go to ALARM; at most 10. */
  alarmNames: string[];
}

/** The defaults template.yaml offers; each is explained there. */
export const REFRESH_DEFAULTS = {
  maxHealthyPercentage: 200,
  instanceWarmupSeconds: 300,
  checkpointPercentages: [10, 50, 100],
  checkpointDelaySeconds: 900,
  alarmNames: [],
} as const satisfies RefreshSettings;

/** Launch before terminate: never fewer healthy instances than desired (aws-semantics §2.1). */
export const MIN_HEALTHY_PERCENTAGE = 100;
/** AlarmSpecification.Alarms: "up to 10". */
export const MAX_ALARMS = 10;
/** CheckpointDelay and the other durations: 0..172800 s. */
const MAX_DELAY_SECONDS = 172_800;

/** What a refresh replaces the instances with: a launch template and a numbered version. */
export interface RefreshTarget {
  autoScalingGroupName: string;
  launchTemplateId: string;
  /** A version number: AutoRollback is unsupported with `$Latest` or `$Default`. */
  version: number;
}

/** Why these settings would be refused by Auto Scaling, or defeat launch-before-terminate; empty when fine. */
export function refreshSettingsProblems(settings: RefreshSettings): string[] {
  const problems: string[] = [];
  const {
    maxHealthyPercentage: max,
    instanceWarmupSeconds: warmup,
    checkpointPercentages: checkpoints,
  } = settings;
  // 100 is allowed: set explicitly with MinHealthyPercentage 100, Auto Scaling still launches one new
  // instance before terminating an old one (aws-semantics §2.1), one at a time.
  if (!Number.isInteger(max) || max < MIN_HEALTHY_PERCENTAGE || max > 200)
    problems.push(
      `MaxHealthyPercentage ${max}: must be an integer from ${MIN_HEALTHY_PERCENTAGE} to 200 (at most 100 above MinHealthyPercentage ${MIN_HEALTHY_PERCENTAGE})`,
    );
  if (warmup !== undefined && (!Number.isInteger(warmup) || warmup < 0))
    problems.push(`InstanceWarmup ${warmup}: must be a whole number of seconds, 0 or more`);
  if (checkpoints.length === 0) problems.push('CheckpointPercentages: at least one (the last must be 100)');
  checkpoints.forEach((checkpoint, n) => {
    if (!Number.isInteger(checkpoint) || checkpoint < 1 || checkpoint > 100)
      problems.push(`CheckpointPercentages ${checkpoint}: each must be an integer from 1 to 100`);
    if (n > 0 && checkpoint <= (checkpoints[n - 1] ?? 0))
      problems.push(`CheckpointPercentages ${checkpoints.join(',')}: must be unique and ascending`);
  });
  if (checkpoints.length > 0 && checkpoints.at(-1) !== 100)
    problems.push(
      `CheckpointPercentages ${checkpoints.join(',')}: the last must be 100, or the refresh ends with old instances left`,
    );
  const delay = settings.checkpointDelaySeconds;
  if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS)
    problems.push(`CheckpointDelay ${delay}: must be 0 to ${MAX_DELAY_SECONDS} seconds`);
  if (settings.alarmNames.length > MAX_ALARMS)
    problems.push(`Alarms: ${settings.alarmNames.length} given, Auto Scaling takes at most ${MAX_ALARMS}`);
  if (settings.alarmNames.some((name) => name === '')) problems.push('Alarms: an empty alarm name');
  return [...new Set(problems)];
}

/**
 * StartInstanceRefresh's input for a rolling, ECS-safe refresh of `target`. Throws on settings Auto
 * Scaling would refuse. `replaceMatching`: replace instances that already run the target too (a
 * person refreshing a group to the version it launches, to replace every instance); by default
 * they are skipped (SkipMatching), as a rollout to a new version wants.
 */
export function planRefresh(
  target: RefreshTarget,
  settings: RefreshSettings,
  { replaceMatching = false }: { replaceMatching?: boolean } = {},
): StartInstanceRefreshCommandInput {
  const problems = refreshSettingsProblems(settings);
  if (!Number.isInteger(target.version) || target.version < 1)
    problems.push(`launch template version ${target.version}: must be a version number`);
  if (problems.length > 0) throw new Error(`Invalid instance refresh: ${problems.join('; ')}`);
  return {
    AutoScalingGroupName: target.autoScalingGroupName,
    Strategy: 'Rolling',
    DesiredConfiguration: {
      LaunchTemplate: { LaunchTemplateId: target.launchTemplateId, Version: String(target.version) },
    },
    Preferences: {
      MinHealthyPercentage: MIN_HEALTHY_PERCENTAGE,
      MaxHealthyPercentage: settings.maxHealthyPercentage,
      ...(settings.instanceWarmupSeconds !== undefined && { InstanceWarmup: settings.instanceWarmupSeconds }),
      SkipMatching: !replaceMatching,
      CheckpointPercentages: [...settings.checkpointPercentages],
      CheckpointDelay: settings.checkpointDelaySeconds,
      AutoRollback: true,
      ...(settings.alarmNames.length > 0 && { AlarmSpecification: { Alarms: [...settings.alarmNames] } }),
      // ECS managed termination protection marks instances protected from scale-in: without Refresh the
      // refresh waits an hour for them and fails (aws-semantics §2.2).
      ScaleInProtectedInstances: 'Refresh',
      // Instances put in Standby on purpose stay as they are, and do not hold the refresh for an hour.
      StandbyInstances: 'Ignore',
    },
  };
}
