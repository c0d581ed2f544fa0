import type { ServedGroup } from '../config';
import { BLUE_GREEN_TAG, MalformedStateError, parseState } from './blue-green';

/**
 * How the AMI watcher replaces a group's instances, and which blue/green rollouts a run steps.
 * Pure: the served groups as read (their tags), the stack's strategy and a request go in; what to do
 * with each group, and why, comes out.
 */

/**
 * `rolling`: an instance refresh (Auto Scaling replaces the fleet in checkpoints; the drain controller
 * drains what it terminates). `blue-green`: a second fleet beside the first, the first drained and
 * kept on standby for a burn-in, with a way back (shared/decisions/blue-green.ts).
 */
export const ROLLOUT_STRATEGIES = ['rolling', 'blue-green'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** A served group as a run read it: the cluster it serves and its tags. */
export interface TaggedGroup extends ServedGroup {
  tags: Record<string, string>;
}

/** What a run does with a group that carries the blue/green tag. */
export type StepPlan =
  | { kind: 'step'; autoScalingGroupName: string; cluster: string; reason: string }
  | { kind: 'leave'; autoScalingGroupName: string; cluster: string; reason: string };

/**
 * The groups whose blue/green rollout a run steps: every group that carries the tag, unless the
 * rollout was rolled back (the tag then only keeps the watcher from trying the same version again,
 * until a person deletes it) or the stack's strategy is `rolling` (it then has no rights to step).
 * A malformed tag is stepped: the state machine refuses it and says why, every minute, to a person.
 */
export function planSteps(groups: TaggedGroup[], strategy: RolloutStrategy): StepPlan[] {
  const plans: StepPlan[] = [];
  for (const { autoScalingGroupName, cluster, tags } of groups) {
    const tag = tags[BLUE_GREEN_TAG];
    if (tag === undefined) continue;
    const group = { autoScalingGroupName, cluster };
    if (strategy === 'rolling') {
      plans.push({
        kind: 'leave',
        ...group,
        reason: `a blue/green rollout is recorded (tag ${BLUE_GREEN_TAG}) but RolloutStrategy is rolling, so nothing steps it: set RolloutStrategy to blue-green to finish or roll it back`,
      });
      continue;
    }
    const phase = phaseOf(tag);
    if (phase === 'rolled-back') {
      plans.push({
        kind: 'leave',
        ...group,
        reason: `rolled back; the watcher starts no rollout of this group until tag ${BLUE_GREEN_TAG} is deleted`,
      });
      continue;
    }
    plans.push({ kind: 'step', ...group, reason: `blue/green rollout in phase ${phase}` });
  }
  return plans;
}

function phaseOf(tag: string): string {
  try {
    return parseState(tag).phase;
  } catch (error) {
    if (error instanceof MalformedStateError) return 'unknown (malformed tag)';
    throw error;
  }
}

/** Whether a rollback request may go to the state machine, and for which cluster. */
export type RollbackPlan = { kind: 'rollback'; group: ServedGroup } | { kind: 'refused'; reason: string };

export function planRollback(
  autoScalingGroupName: string,
  served: ServedGroup[],
  strategy: RolloutStrategy,
): RollbackPlan {
  const group = served.find((each) => each.autoScalingGroupName === autoScalingGroupName);
  if (group === undefined)
    return {
      kind: 'refused',
      reason: `${autoScalingGroupName} is not one of this stack's AutoScalingGroups (${served.map((each) => each.autoScalingGroupName).join(', ')})`,
    };
  if (strategy === 'rolling')
    return {
      kind: 'refused',
      reason:
        'RolloutStrategy is rolling: this stack has no blue/green rights; set RolloutStrategy to blue-green to roll a blue/green rollout back',
    };
  return { kind: 'rollback', group };
}
