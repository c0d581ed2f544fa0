import { z } from 'zod';

/** What the controller needs to know about the stack it was deployed with. */
export const ControllerEnvironment = z.object({
  CLUSTER_NAME: z.string().min(1),
  AUTO_SCALING_GROUP_NAME: z.string().min(1),
  LIFECYCLE_HOOK_NAME: z.string().min(1),
  // The hook's HeartbeatTimeout, so heartbeats can be paced to it (30 to 7200 s, as the API allows).
  HEARTBEAT_TIMEOUT: z.coerce.number().int().min(30).max(7200),
});

export interface ControllerConfig {
  /** Cluster drained when the hook's NotificationMetadata names none. */
  clusterName: string;
  /** The one Auto Scaling group whose lifecycle actions this stack may complete. */
  autoScalingGroupName: string;
  /** The one hook this stack owns; actions of any other hook are never completed. */
  lifecycleHookName: string;
  /** Seconds a lifecycle action waits without a heartbeat before its default result applies. */
  heartbeatTimeoutSeconds: number;
}

/** Reads the configuration once, at cold start; a missing variable fails loudly with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const parsed = ControllerEnvironment.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`Invalid controller configuration: missing or invalid environment variable(s) ${names}`);
  }
  return {
    clusterName: parsed.data.CLUSTER_NAME,
    autoScalingGroupName: parsed.data.AUTO_SCALING_GROUP_NAME,
    lifecycleHookName: parsed.data.LIFECYCLE_HOOK_NAME,
    heartbeatTimeoutSeconds: parsed.data.HEARTBEAT_TIMEOUT,
  };
}
