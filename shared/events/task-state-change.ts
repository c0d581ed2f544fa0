import { z } from 'zod';

/**
 * The part of an EventBridge "ECS Task State Change" event the controller reads.
 * ECS may add fields at any time, so unknown keys pass through untouched.
 */
export const TaskStateChangeEvent = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Task State Change'),
  // When ECS emitted the event; paces heartbeats without trusting the order of arrival.
  time: z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'not a timestamp'),
  detail: z.object({
    clusterArn: z.string().startsWith('arn:', 'not an ARN'),
    taskArn: z.string().startsWith('arn:', 'not an ARN'),
    lastStatus: z.string().min(1),
    desiredStatus: z.string().optional(),
    launchType: z.string().optional(),
    // Absent for Fargate tasks, which run on no container instance of ours.
    containerInstanceArn: z.string().startsWith('arn:', 'not an ARN').optional(),
    // Increases with every change of this task; duplicates carry the same version.
    version: z.number().int().nonnegative().optional(),
    group: z.string().optional(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
  }),
});
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEvent>;
