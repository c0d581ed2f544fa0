import type { GroupView, InstanceRefreshView } from '../../shared/aws/auto-scaling';
import {
  type AmiWatchDecision,
  type AmiWatchSnapshot,
  RUNNING_REFRESH_STATUSES,
  versionDescription,
} from '../../shared/decisions/ami-watch';
import { BLUE_GREEN_TAG, MalformedStateError, parseState } from '../../shared/decisions/blue-green';
import type { RolloutStrategy } from '../../shared/decisions/rollout-strategy';

/**
 * What `ecs-drain refresh` and `ecs-drain rollback` do with a group, from what they read of it. Pure:
 * the commands observe (commands/refresh.ts, commands/rollback.ts), these decide, the commands act.
 * The image path decides through the AMI watcher's own decision (shared/decisions/ami-watch.ts), so
 * the tool refuses what the watcher refuses and reuses the versions it made.
 */

/** Where a refresh goes: an image pinned in a new version (the default: the recommended AMI), or a version. */
export type RefreshChoice =
  | { kind: 'image' }
  | {
      kind: 'version';
      /** A version number, or `current`: the version the group launches now (replace every instance). */
      version: string;
    };

export type RefreshCommand =
  /** Nothing started: exit 1 with the reason (the group cannot be refreshed this way now). */
  | { kind: 'refuse'; reason: string; fix?: string }
  /** Nothing to do: the group already launches what was asked for. */
  | { kind: 'nothing'; reason: string }
  | {
      kind: 'start';
      strategy: RolloutStrategy;
      reason: string;
      launchTemplateId: string;
      /** The version to refresh to; absent when `create` makes it. */
      version?: number;
      /** A new version to create first: the group's version with only the AMI replaced. */
      create?: { fromVersion: number; imageId: string; description: string };
      /** Replace instances that already launch the version (SkipMatching off). */
      replaceMatching: boolean;
    };

/** A refresh to the image the AMI decision was given: the decision's outcome as a command. */
export function refreshToImage(
  snapshot: AmiWatchSnapshot,
  decision: AmiWatchDecision,
  imageName?: string,
): RefreshCommand {
  // Before the image: once a blue/green rollout has begun, the group launches the new image already.
  const running = runningRollout(snapshot, snapshot.latestRefresh);
  if (running !== undefined) return { kind: 'refuse', reason: running };
  switch (decision.kind) {
    case 'up-to-date':
      return {
        kind: 'nothing',
        reason: `${decision.reason}: nothing to refresh (--launch-template-version current replaces every instance anyway)`,
      };
    case 'refresh-running':
      return { kind: 'refuse', reason: decision.reason };
    case 'cannot':
      return { kind: 'refuse', reason: decision.reason, fix: decision.fix };
    case 'dry-run': // the command decides with dryRun false: --dry-run prints the request instead
    case 'roll-out':
      return {
        kind: 'start',
        strategy: decision.strategy,
        reason: decision.reason,
        launchTemplateId: decision.launchTemplateId,
        replaceMatching: false,
        ...(decision.kind === 'roll-out' && decision.existingVersion !== undefined
          ? { version: decision.existingVersion }
          : {
              create: {
                fromVersion: decision.fromVersion,
                imageId: decision.newImage,
                description: versionDescription(decision.newImage, decision.fromVersion, imageName),
              },
            }),
      };
  }
}

/** A refresh to a launch template version the person named (or the group's own). */
export function refreshToVersion(
  group: GroupView,
  latestRefresh: InstanceRefreshView | undefined,
  version: string,
  strategy: RolloutStrategy,
): RefreshCommand {
  const template = group.launchTemplate;
  if (group.mixedInstancesPolicy)
    return {
      kind: 'refuse',
      reason: 'the group launches from a mixed instances policy',
      fix: 'refresh it with aws autoscaling start-instance-refresh and its own DesiredConfiguration',
    };
  if (template === undefined || template.launchTemplateId === undefined)
    return {
      kind: 'refuse',
      reason: 'the group has no launch template',
      fix: 'move the group to a launch template with a numbered version',
    };
  const running = runningRollout(group, latestRefresh);
  if (running !== undefined) return { kind: 'refuse', reason: running };
  const current = template.version;
  const target = version === 'current' ? current : version;
  if (!/^[1-9]\d*$/.test(target))
    return {
      kind: 'refuse',
      reason: `the group launches version ${current}, which moves on its own; a refresh needs a numbered version to come back to`,
      fix: 'name the version: --launch-template-version N',
    };
  const same = target === current;
  if (same && strategy === 'blue-green')
    return {
      kind: 'refuse',
      reason: `the group already launches version ${target}: a blue/green rollout goes to another version`,
      fix: 'use --strategy rolling to replace every instance with the version it launches',
    };
  return {
    kind: 'start',
    strategy,
    reason: same
      ? `replace every instance of the group with its own version ${target}`
      : `the group launches version ${current}; refresh to version ${target}`,
    launchTemplateId: template.launchTemplateId,
    version: Number(target),
    replaceMatching: same,
  };
}

/** Why nothing may start now: a refresh or a blue/green rollout is running (one line), or undefined. */
export function runningRollout(
  group: Pick<GroupView, 'tags'>,
  latestRefresh: Pick<InstanceRefreshView, 'instanceRefreshId' | 'status'> | undefined,
): string | undefined {
  if (latestRefresh !== undefined && RUNNING_REFRESH_STATUSES.has(latestRefresh.status))
    return `instance refresh ${latestRefresh.instanceRefreshId} is ${latestRefresh.status}: one at a time (ecs-drain rollback --group to come back from it)`;
  const phase = blueGreenPhase(group.tags[BLUE_GREEN_TAG]);
  if (phase !== undefined && phase !== 'rolled-back')
    return `a blue/green rollout is in phase ${phase} (tag ${BLUE_GREEN_TAG}): one at a time`;
  return undefined;
}

/** The phase a blue/green tag records; `malformed` when it cannot be read; undefined without a tag. */
export function blueGreenPhase(tag: string | undefined): string | undefined {
  if (tag === undefined) return undefined;
  try {
    return parseState(tag).phase;
  } catch (error) {
    if (error instanceof MalformedStateError) return 'malformed';
    throw error;
  }
}

export type RollbackCommand =
  | { kind: 'rollback-refresh'; instanceRefreshId: string; reason: string }
  | { kind: 'rollback-blue-green'; reason: string }
  /** Already on its way back: nothing to call, --wait watches it. */
  | { kind: 'already'; what: 'refresh' | 'blue-green'; reason: string }
  | { kind: 'nothing'; reason: string };

/** What `rollback` does: Auto Scaling's rollback for a refresh, the state machine's for a blue/green rollout. */
export function decideRollback(
  group: Pick<GroupView, 'tags' | 'autoScalingGroupName'>,
  latestRefresh: InstanceRefreshView | undefined,
): RollbackCommand {
  const phase = blueGreenPhase(group.tags[BLUE_GREEN_TAG]);
  if (phase === 'rolling-back')
    return { kind: 'already', what: 'blue-green', reason: 'the blue/green rollout is rolling back already' };
  if (phase !== undefined && phase !== 'rolled-back')
    return {
      kind: 'rollback-blue-green',
      reason: `a blue/green rollout is in phase ${phase}: it comes back to the old fleet`,
    };
  if (latestRefresh !== undefined) {
    const { instanceRefreshId: id, status } = latestRefresh;
    if (status === 'RollbackInProgress')
      return { kind: 'already', what: 'refresh', reason: `instance refresh ${id} is rolling back already` };
    if (['Pending', 'InProgress', 'Baking'].includes(status))
      return {
        kind: 'rollback-refresh',
        instanceRefreshId: id,
        reason: `instance refresh ${id} is ${status}: Auto Scaling rolls it back (RollbackInstanceRefresh)`,
      };
    if (status === 'Cancelling')
      return {
        kind: 'nothing',
        reason: `instance refresh ${id} is being cancelled; what it replaced stays (start a refresh to the old version to go back)`,
      };
  }
  const last =
    latestRefresh === undefined
      ? ''
      : ` (the last instance refresh, ${latestRefresh.instanceRefreshId}, ended ${latestRefresh.status})`;
  return {
    kind: 'nothing',
    reason: `nothing to roll back on ${group.autoScalingGroupName}: no refresh or blue/green rollout in progress${last}`,
  };
}

/** Where a rolling refresh stands for --wait: finished with an exit code, or how far it got. */
export type RefreshProgress =
  | { finished: true; succeeded: boolean; status: string; reason: string }
  | { finished: false; percentage: number; status: string };

/**
 * `expect` `refresh`: only Successful succeeds (a rollback means the refresh failed); `rollback`:
 * only RollbackSuccessful does.
 */
export function refreshProgress(
  refresh: InstanceRefreshView | undefined,
  expect: 'refresh' | 'rollback',
): RefreshProgress {
  if (refresh === undefined)
    return { finished: true, succeeded: false, status: 'gone', reason: 'the instance refresh is gone' };
  const { status } = refresh;
  const why = refresh.statusReason === undefined ? '' : `: ${refresh.statusReason}`;
  const ended = ['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'];
  if (!ended.includes(status)) return { finished: false, percentage: refresh.percentageComplete, status };
  const succeeded = status === (expect === 'refresh' ? 'Successful' : 'RollbackSuccessful');
  return {
    finished: true,
    succeeded,
    status,
    reason: `instance refresh ${refresh.instanceRefreshId} ended ${status}${why}`,
  };
}

/** Where a blue/green rollout stands for --wait, from the group's tag and version. */
export type BlueGreenProgress =
  | { finished: true; succeeded: boolean; phase: string; reason: string }
  | { finished: false; step: number; of: number; phase: string };

const PHASE_ORDER = ['launching', 'draining-blue', 'standby', 'retiring'];

export function blueGreenProgress(
  group: Pick<GroupView, 'tags' | 'launchTemplate'>,
  target: string,
  expect: 'refresh' | 'rollback',
): BlueGreenProgress {
  const phase = blueGreenPhase(group.tags[BLUE_GREEN_TAG]);
  const launches = group.launchTemplate?.version;
  if (phase === undefined)
    return launches === target
      ? {
          finished: true,
          succeeded: expect === 'refresh',
          phase: 'done',
          reason: `the blue/green rollout is done: the group launches version ${target}`,
        }
      : {
          finished: true,
          succeeded: false,
          phase: 'gone',
          reason: `tag ${BLUE_GREEN_TAG} is gone and the group launches version ${launches ?? 'none'}, not ${target}`,
        };
  if (phase === 'rolled-back')
    return {
      finished: true,
      succeeded: expect === 'rollback',
      phase,
      reason: `the blue/green rollout to version ${target} rolled back; the group launches version ${launches ?? 'none'}`,
    };
  if (phase === 'malformed')
    return {
      finished: true,
      succeeded: false,
      phase,
      reason: `tag ${BLUE_GREEN_TAG} is malformed: a person must fix or delete it`,
    };
  if (phase === 'rolling-back') return { finished: false, step: 1, of: 2, phase };
  return {
    finished: false,
    step: PHASE_ORDER.indexOf(phase) + 1,
    of: PHASE_ORDER.length + 1,
    phase,
  };
}
