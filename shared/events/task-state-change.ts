import * as z from '../zod';

/** An ECS ARN of this resource type (`cluster/…`, `task/…`, `container-instance/…`), in any partition. */
export const ecsArn = (resource: string) =>
  z
    .string()
    .check(
      z.regex(
        new RegExp(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\\d{12}:${resource}/\\S+$`),
        `not an ARN of an ECS ${resource}`,
      ),
    );

/**
 * The part of an EventBridge "ECS Task State Change" event the controller reads.
 * ECS may add fields at any time, so unknown keys pass through untouched.
 */
export const TaskStateChangeEvent = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  // When ECS emitted the event; paces heartbeats without trusting the order of arrival.
  time: z.string().check(z.refine((text) => !Number.isNaN(Date.parse(text)), 'not a timestamp')),
  detail: z.object({
    clusterArn: ecsArn('cluster'),
    taskArn: ecsArn('task'),
    lastStatus: z.string().check(z.minLength(1)),
    desiredStatus: z.optional(z.string()),
    launchType: z.optional(z.string()),
    // Absent for Fargate tasks, which run on no container instance of ours.
    // Checked for its kind: one bad identifier would make ECS refuse the batch's shared describe.
    containerInstanceArn: z.optional(ecsArn('container-instance')),
    // Increases with every change of this task; duplicates carry the same version.
    version: z.optional(z.number().check(z.int(), z.nonnegative())),
    group: z.optional(z.string()),
    stopCode: z.optional(z.string()),
    stoppedReason: z.optional(z.string()),
  }),
});
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEvent>;
