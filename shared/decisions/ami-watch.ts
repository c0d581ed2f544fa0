/**
 * What the AMI watcher does with one served group, from what it saw. Pure: no AWS call here (the
 * watcher's handler observes and acts), so a test can compare decisions as data.
 */
import type { RolloutStrategy } from './rollout-strategy';

/** A blue/green rollout in progress on the group; the watcher leaves such a group alone. */
export const BLUE_GREEN_TAG = 'ecs-drain:blue-green';

/** Refresh statuses during which another refresh cannot start (Auto Scaling answers InstanceRefreshInProgress). */
export const RUNNING_REFRESH_STATUSES: ReadonlySet<string> = new Set([
  'Pending',
  'InProgress',
  'Cancelling',
  'RollbackInProgress',
  'Baking',
]);

/** Refresh statuses of a refresh that ended without replacing the group. */
const UNSUCCESSFUL_REFRESH_STATUSES: ReadonlySet<string> = new Set([
  'Failed',
  'Cancelled',
  'RollbackSuccessful',
  'RollbackFailed',
]);

/** Marks the launch template versions the watcher creates, so that a run after a failed start reuses its version. */
export const VERSION_DESCRIPTION_PREFIX = 'ecs-drain ami-watch';

export function versionDescription(imageId: string, fromVersion: number, imageName?: string): string {
  return `${VERSION_DESCRIPTION_PREFIX}: ${imageId}${imageName === undefined ? '' : ` (${imageName})`} from version ${fromVersion}`;
}

/** The version a watcher-made version was made from, as its description says. */
function sourceVersionOf(description: string): number | undefined {
  const from = / from version (\d+)$/.exec(description)?.[1];
  return from === undefined ? undefined : Number(from);
}

/** A launch template version as the watcher reads it. */
export interface VersionSeen {
  launchTemplateId: string;
  versionNumber: number;
  imageId?: string;
  description?: string;
}

/** Everything the decision needs about one group. */
export interface AmiWatchSnapshot {
  autoScalingGroupName: string;
  /** The recommended AMI id as read from SSM (unchecked); undefined when the parameter was not found. */
  recommendedImageId: string | undefined;
  /** The SSM parameter it came from, for the reasons. */
  parameter: string;
  /** The group's own launch template; absent when it has none. */
  launchTemplate?: { launchTemplateId?: string; launchTemplateName?: string; version: string };
  mixedInstancesPolicy: boolean;
  launchConfigurationName?: string;
  /** The version the group refers to, as read (when the group has a launch template). */
  current?: VersionSeen;
  /** The template's `$Latest` version, as read: a version an earlier run created and could not start. */
  latest?: VersionSeen;
  /** The group's most recent instance refresh. */
  latestRefresh?: {
    instanceRefreshId: string;
    status: string;
    /** The launch template version it refreshes to, and the AMI that version names (when read). */
    desiredVersion?: string;
    desiredImageId?: string;
  };
  tags: Record<string, string>;
  dryRun: boolean;
  /** How a new AMI is rolled out (RolloutStrategy); absent: `rolling`, the stack's default. */
  strategy?: RolloutStrategy;
}

export type AmiWatchDecision =
  | { kind: 'up-to-date'; reason: string; imageId: string }
  | {
      kind: 'refresh-running';
      reason: string;
      newImage: string;
      currentImage: string;
      /** The running refresh is the rollout of this very AMI (nothing holds it back: no alert). */
      ownRollout?: boolean;
    }
  | { kind: 'cannot'; reason: string; fix: string }
  | {
      kind: 'dry-run';
      reason: string;
      newImage: string;
      currentImage: string;
      launchTemplateId: string;
      fromVersion: number;
      strategy: RolloutStrategy;
    }
  | {
      kind: 'roll-out';
      reason: string;
      newImage: string;
      currentImage: string;
      launchTemplateId: string;
      fromVersion: number;
      /** A version an earlier run created with this image (its refresh never started): refresh to it. */
      existingVersion?: number;
      /** `rolling`: StartInstanceRefresh to the version; `blue-green`: the first blue/green step to it. */
      strategy: RolloutStrategy;
    };

/**
 * The shape of an AMI id: `ami-` and 8 or 17 characters (EC2 writes hexadecimal digits; lower-case
 * letters are let through, the twin's made-up ids use them). A guard against a parameter that holds
 * something else entirely, not a check that the image exists.
 */
const AMI_ID = /^ami-[0-9a-z]{8}(?:[0-9a-z]{9})?$/;

export function decideAmiWatch(snapshot: AmiWatchSnapshot): AmiWatchDecision {
  const { recommendedImageId: recommended, launchTemplate: template, current } = snapshot;
  if (recommended === undefined)
    return {
      kind: 'cannot',
      reason: `SSM parameter ${snapshot.parameter} does not exist here`,
      fix: 'choose an AmiVariant that AWS publishes in this Region',
    };
  if (!AMI_ID.test(recommended))
    return {
      kind: 'cannot',
      reason: `SSM parameter ${snapshot.parameter} holds ${JSON.stringify(recommended.slice(0, 64))}, not an AMI id`,
      fix: 'nothing is changed until the parameter holds an ami-... id again; check the parameter name (AmiVariant)',
    };
  if (snapshot.mixedInstancesPolicy)
    return {
      kind: 'cannot',
      reason: 'the group launches from a mixed instances policy',
      fix: 'the watcher refreshes groups with a single launch template only; refresh this group yourself',
    };
  if (template === undefined)
    return {
      kind: 'cannot',
      reason:
        snapshot.launchConfigurationName === undefined
          ? 'the group has no launch template'
          : `the group launches from launch configuration ${snapshot.launchConfigurationName}`,
      fix: 'move the group to a launch template with a numbered version',
    };
  if (!/^[1-9]\d*$/.test(template.version))
    return {
      kind: 'cannot',
      reason: `the group refers to launch template version ${template.version}, which moves on its own; Auto Scaling's AutoRollback is unsupported with $Latest or $Default`,
      fix: 'set the group to a numbered version of its launch template (UpdateAutoScalingGroup LaunchTemplate.Version)',
    };
  const currentImage = current?.imageId;
  if (current === undefined || currentImage === undefined)
    return {
      kind: 'cannot',
      reason: `launch template version ${template.version} names no AMI`,
      fix: 'give the launch template version an ImageId',
    };
  if (currentImage.startsWith('resolve:ssm:'))
    return {
      kind: 'cannot',
      reason: `launch template version ${template.version} takes its AMI from SSM (${currentImage}); Auto Scaling's AutoRollback is unsupported then`,
      fix: 'pin an AMI id in the launch template; the watcher then follows the recommended AMI for you',
    };
  if (currentImage === recommended)
    return {
      kind: 'up-to-date',
      reason: `the group launches the recommended AMI ${recommended}`,
      imageId: recommended,
    };

  const refresh = snapshot.latestRefresh;
  if (refresh !== undefined && RUNNING_REFRESH_STATUSES.has(refresh.status))
    return {
      kind: 'refresh-running',
      reason:
        refresh.desiredImageId === recommended
          ? `instance refresh ${refresh.instanceRefreshId} to ${recommended} is ${refresh.status}`
          : `instance refresh ${refresh.instanceRefreshId} is ${refresh.status}; a new refresh to ${recommended} waits until it ends`,
      newImage: recommended,
      currentImage,
      ...(refresh.desiredImageId === recommended && { ownRollout: true }),
    };
  const strategy = snapshot.strategy ?? 'rolling';
  if (snapshot.tags[BLUE_GREEN_TAG] !== undefined)
    return {
      kind: 'refresh-running',
      reason: `a blue/green rollout is in progress (tag ${BLUE_GREEN_TAG}); a rollout of ${recommended} waits until it ends${
        strategy === 'rolling'
          ? ', and RolloutStrategy is rolling, so nothing steps it: set RolloutStrategy to blue-green to finish or roll it back'
          : ''
      }`,
      newImage: recommended,
      currentImage,
    };

  // A rollout of this very AMI (to whichever version pins it) already failed or rolled back: starting
  // it again every run would replace instances, fail and roll back for ever. An operator decides; a
  // newer AMI is rolled out as usual.
  const latest = snapshot.latest;
  if (
    refresh !== undefined &&
    UNSUCCESSFUL_REFRESH_STATUSES.has(refresh.status) &&
    refresh.desiredImageId === recommended
  )
    return {
      kind: 'cannot',
      reason: `the last rollout of ${recommended} (instance refresh ${refresh.instanceRefreshId} to version ${refresh.desiredVersion}) ended ${refresh.status}; it is not tried again`,
      fix: 'find why (the alert and the refresh status reason say), then start a refresh to that version yourself; a newer recommended AMI is rolled out as usual',
    };

  const launchTemplateId =
    current === undefined ? undefined : (snapshot.launchTemplate?.launchTemplateId ?? '');
  const fromVersion = current.versionNumber;
  const base = {
    newImage: recommended,
    currentImage,
    launchTemplateId: launchTemplateId ?? '',
    fromVersion,
    strategy,
  };
  const how = strategy === 'rolling' ? 'refresh the group' : 'start a blue/green rollout to it';
  if (snapshot.dryRun)
    return {
      kind: 'dry-run',
      reason: `would pin ${recommended} in a new version from version ${fromVersion} and ${how} (dry run: nothing changed)`,
      ...base,
    };
  const reusable =
    latest !== undefined &&
    latest.versionNumber > fromVersion &&
    latest.imageId === recommended &&
    (latest.description ?? '').startsWith(VERSION_DESCRIPTION_PREFIX) &&
    // Made from this group's version: another group of the same template may be on another one.
    sourceVersionOf(latest.description ?? '') === fromVersion;
  return {
    kind: 'roll-out',
    reason: reusable
      ? `the group launches ${currentImage}; ${strategy === 'rolling' ? 'refresh' : 'roll out blue/green'} to version ${latest.versionNumber}, which pins the recommended ${recommended}`
      : `the group launches ${currentImage}; the recommended AMI is ${recommended}`,
    ...base,
    ...(reusable && { existingVersion: latest.versionNumber }),
  };
}
