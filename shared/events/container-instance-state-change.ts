import * as z from '../zod';
import { ecsArn } from './task-state-change';

/**
 * The part of an EventBridge "ECS Container Instance State Change" event launch readiness reads
 * (aws-semantics §4.2). ECS may add fields at any time, so unknown keys pass through untouched; the
 * counts and `registeredAt` are optional in the event's schema and are not relied upon.
 */
export const ContainerInstanceStateChangeEvent = z.object({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal('ECS Container Instance State Change'),
  time: z.string().check(z.refine((text) => !Number.isNaN(Date.parse(text)), 'not a timestamp')),
  detail: z.object({
    clusterArn: ecsArn('cluster'),
    containerInstanceArn: ecsArn('container-instance'),
    ec2InstanceId: z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/, 'not an EC2 instance id')),
    status: z.string().check(z.minLength(1)),
    agentConnected: z.boolean(),
    attributes: z.optional(z.array(z.object({ name: z.string(), value: z.optional(z.string()) }))),
    registeredAt: z.optional(z.string()),
    version: z.optional(z.number().check(z.int(), z.nonnegative())),
  }),
});
export type ContainerInstanceStateChangeEvent = z.infer<typeof ContainerInstanceStateChangeEvent>;

/** The attribute the ECS agent sets to the AMI the instance booted from. */
export const AMI_ID_ATTRIBUTE = 'ecs.ami-id';
