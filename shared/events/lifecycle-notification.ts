import * as z from '../zod';

/**
 * The JSON that Auto Scaling publishes as the SNS `Message` for a lifecycle action.
 * `Origin`, `Destination` and `NotificationMetadata` are optional: older messages lack the first two,
 * and metadata is present only when the hook has some.
 */
export const LifecycleActionMessage = z.object({
  LifecycleTransition: z.string().check(z.minLength(1)),
  LifecycleHookName: z.string().check(z.minLength(1)),
  AutoScalingGroupName: z.string().check(z.minLength(1)),
  EC2InstanceId: z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/, 'not an EC2 instance id')),
  LifecycleActionToken: z.string().check(z.length(36, 'a lifecycle action token is a 36-character UUID')),
  NotificationMetadata: z.optional(z.string()),
  // When Auto Scaling sent it; the hook's heartbeat timer started then.
  Time: z.optional(z.string()),
  Origin: z.optional(z.string()),
  Destination: z.optional(z.string()),
});
export type LifecycleActionMessage = z.infer<typeof LifecycleActionMessage>;

/** What this controller reads from the hook's NotificationMetadata, e.g. `{"cluster":"prod"}`. */
export const DrainMetadata = z.object({ cluster: z.string().check(z.minLength(1)) });
export type DrainMetadata = z.infer<typeof DrainMetadata>;

export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';
export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
