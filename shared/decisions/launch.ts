import type { ServedGroup } from '../config';

/**
 * Launch readiness: a new instance of a served group waits in Pending:Wait on our launch hook until
 * ECS can use it, so that an instance refresh never counts capacity ECS cannot place tasks on, and a
 * broken AMI (an agent that never connects) stops the refresh instead of eating the fleet.
 *
 * Pure: what was observed in, what to do out.
 */

/** A container instance registered for the EC2 instance, in one of the served clusters. */
export interface RegisteredView {
  /** The cluster it registered in (a name, as the configuration names clusters). */
  cluster: string;
  arn: string;
  status: string;
  agentConnected: boolean;
  /** The `ecs.ami-id` attribute its agent reported, if any. */
  amiId?: string;
}

export interface LaunchObservation {
  instanceId: string;
  /** The served group Auto Scaling says the instance belongs to; absent: in no served group. */
  group?: ServedGroup;
  /** Its lifecycle state, as Auto Scaling shows it; absent: Auto Scaling does not know it (gone). */
  lifecycleState?: string;
  /** Its container instances found in the served clusters (looked up in the group's, or told by an event). */
  registered: RegisteredView[];
  /** The AMI its launch template version names, when the version names one (`ami-…`). */
  expectedAmiId?: string;
  /** Since when our launch hook holds it (epoch ms), when a notification said. */
  waitingSince?: number;
  /** Epoch ms. */
  now: number;
}

export type LaunchDecision =
  /** ECS can use it: CONTINUE, the instance goes InService. */
  | { kind: 'continue'; reason: string; containerInstanceArn?: string }
  /** It will never be usable (or its time is up): ABANDON, Auto Scaling terminates and replaces it. */
  | { kind: 'abandon'; reason: string }
  /** Not yet: a later event, or the reconciler, looks again; the hook's timeout abandons it at the latest. */
  | { kind: 'wait'; reason: string }
  /** Not held at launch by us (already in service, terminating, gone, or not in a served group). */
  | { kind: 'ignore'; reason: string };

/** Statuses from which a container instance never becomes ACTIVE again by itself. */
const NEVER_ACTIVE = new Set(['REGISTRATION_FAILED', 'INACTIVE', 'DEREGISTERING']);

export function decideLaunch(observation: LaunchObservation, launchTimeoutSeconds: number): LaunchDecision {
  const { group, lifecycleState, registered } = observation;
  if (group === undefined) return { kind: 'ignore', reason: 'not in a served Auto Scaling group' };
  // Auto Scaling's reads lag its changes: a launch our notification told of may still show Pending.
  if (lifecycleState === 'Pending')
    return { kind: 'wait', reason: 'not held by the launch hook yet (Auto Scaling shows it Pending)' };
  // Launched into a warm pool: stopped there before it serves; readiness is checked when it leaves.
  if (lifecycleState === 'Warmed:Pending:Wait')
    return { kind: 'continue', reason: 'entering the warm pool, where it serves no task' };
  if (lifecycleState !== 'Pending:Wait')
    return { kind: 'ignore', reason: `not waiting at launch (${lifecycleState ?? 'gone'})` };

  const inGroupCluster = registered.filter((view) => view.cluster === group.cluster);
  if (inGroupCluster.length === 0) {
    const elsewhere = registered[0];
    if (elsewhere !== undefined)
      return {
        kind: 'abandon',
        reason: `registered in cluster ${elsewhere.cluster}, but group ${group.autoScalingGroupName} feeds cluster ${group.cluster} (check ECS_CLUSTER in the launch template's user data)`,
      };
    return waitOrTimeOut(
      observation,
      launchTimeoutSeconds,
      'the ECS agent has not registered the instance yet',
    );
  }

  // A replaced agent may register twice: the newest usable registration counts.
  const usable = inGroupCluster.find((view) => view.status === 'ACTIVE' && view.agentConnected);
  if (usable !== undefined) {
    const { expectedAmiId } = observation;
    if (expectedAmiId !== undefined && usable.amiId !== undefined && usable.amiId !== expectedAmiId)
      return {
        kind: 'abandon',
        reason: `runs ${usable.amiId}, but its launch template version names ${expectedAmiId}`,
      };
    return {
      kind: 'continue',
      reason: `ACTIVE in cluster ${group.cluster} with its agent connected`,
      containerInstanceArn: usable.arn,
    };
  }
  if (inGroupCluster.every((view) => NEVER_ACTIVE.has(view.status)))
    return {
      kind: 'abandon',
      reason: `its container instance is ${inGroupCluster.map((view) => view.status).join(', ')}`,
    };
  const active = inGroupCluster.find((view) => view.status === 'ACTIVE');
  return waitOrTimeOut(
    observation,
    launchTimeoutSeconds,
    active !== undefined
      ? 'its ECS agent is disconnected'
      : `its container instance is ${inGroupCluster.map((view) => view.status).join(', ')}`,
  );
}

/** Waits, unless the hook has held the instance for the whole launch timeout already. */
function waitOrTimeOut(
  { waitingSince, now }: LaunchObservation,
  launchTimeoutSeconds: number,
  why: string,
): LaunchDecision {
  if (waitingSince !== undefined && now - waitingSince >= launchTimeoutSeconds * 1000)
    return { kind: 'abandon', reason: `not ready after ${launchTimeoutSeconds} s: ${why}` };
  return { kind: 'wait', reason: why };
}
