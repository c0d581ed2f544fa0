import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import type { AsgInstanceView } from '../decisions/lifecycle';

// Created once per container; the endpoint can be redirected with AWS_ENDPOINT_URL_AUTO_SCALING.
export const autoScalingClient = new AutoScalingClient({});

/** Identifies one lifecycle action: by its token when we have it, otherwise by instance id. */
export interface LifecycleActionRef {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  lifecycleActionToken?: string;
}

/** `gone`: the action no longer exists (completed by someone else, timed out, or instance gone). */
export type LifecycleCallOutcome = 'done' | 'gone';

/** Auto Scaling's view of the instance, or undefined when it is in no group (unknown ids are ignored, not errors). */
export async function describeAsgInstance(instanceId: string): Promise<AsgInstanceView | undefined> {
  const output = await autoScalingClient.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
  );
  const instance = output.AutoScalingInstances?.find((candidate) => candidate.InstanceId === instanceId);
  if (instance === undefined) return undefined;
  return {
    instanceId,
    autoScalingGroupName: instance.AutoScalingGroupName ?? '',
    lifecycleState: instance.LifecycleState ?? '',
  };
}

/** Lets the instance go on terminating (CONTINUE). Completing an action that is already gone is success. */
export async function completeLifecycleAction(action: LifecycleActionRef): Promise<LifecycleCallOutcome> {
  return tolerateMissingAction(() =>
    autoScalingClient.send(
      new CompleteLifecycleActionCommand({
        ...identify(action),
        LifecycleActionResult: 'CONTINUE',
      }),
    ),
  );
}

/** Restarts the hook's heartbeat timer, so a drain that keeps making progress is not cut off. */
export async function recordHeartbeat(action: LifecycleActionRef): Promise<LifecycleCallOutcome> {
  return tolerateMissingAction(() =>
    autoScalingClient.send(new RecordLifecycleActionHeartbeatCommand(identify(action))),
  );
}

function identify(action: LifecycleActionRef) {
  const target =
    action.lifecycleActionToken === undefined
      ? { InstanceId: action.instanceId }
      : { LifecycleActionToken: action.lifecycleActionToken };
  return {
    AutoScalingGroupName: action.autoScalingGroupName,
    LifecycleHookName: action.lifecycleHookName,
    ...target,
  };
}

async function tolerateMissingAction(call: () => Promise<unknown>): Promise<LifecycleCallOutcome> {
  try {
    await call();
    return 'done';
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return 'gone';
    throw error;
  }
}

/** HTTP 400 ValidationError "No active Lifecycle Action found with instance ID …" / "… with token …". */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationError' &&
    error.message.includes('No active Lifecycle Action found')
  );
}
