import type { ControllerConfig } from '../config';

/** Auto Scaling's view of an EC2 instance (DescribeAutoScalingInstances). */
export interface AsgInstanceView {
  instanceId: string;
  autoScalingGroupName: string;
  lifecycleState: string;
}

/** States in which a terminating hook holds the instance for us: terminating, or being stopped into a warm pool. */
export const HOOK_WAIT_STATES: ReadonlySet<string> = new Set(['Terminating:Wait', 'Warmed:Pending:Wait']);

export type CompletionDecision = { kind: 'complete' } | { kind: 'leave'; reason: string };

/** Whether an empty, draining host may be released to Auto Scaling. Pure: no AWS call. */
export function decideCompletion(
  instance: AsgInstanceView | undefined,
  config: ControllerConfig,
): CompletionDecision {
  if (instance === undefined) {
    return {
      kind: 'leave',
      reason: 'instance is in no Auto Scaling group (drained by hand, or already gone)',
    };
  }
  if (instance.autoScalingGroupName !== config.autoScalingGroupName) {
    return {
      kind: 'leave',
      reason: `instance belongs to Auto Scaling group ${instance.autoScalingGroupName}`,
    };
  }
  if (!HOOK_WAIT_STATES.has(instance.lifecycleState)) {
    return { kind: 'leave', reason: `no lifecycle action is waiting (state ${instance.lifecycleState})` };
  }
  return { kind: 'complete' };
}
