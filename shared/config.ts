import * as z from './zod';

/** What happens to a drain that reached its deadline. */
export const DEADLINE_ACTIONS = ['continue', 'stop-tasks', 'keep-waiting'] as const;
export type DeadlineAction = (typeof DEADLINE_ACTIONS)[number];

/** Tasks of no service, which draining never moves: wait for them, or stop them after a grace period. */
export const STANDALONE_TASK_POLICIES = ['wait', 'stop'] as const;
export type StandaloneTaskPolicy = (typeof STANDALONE_TASK_POLICIES)[number];

/** An Auto Scaling group this stack serves, and the cluster its instances join. */
export interface ServedGroup {
  autoScalingGroupName: string;
  cluster: string;
}

/**
 * The longest a lifecycle action can be kept waiting, heartbeats or not: min(48 hours, 100 x
 * HeartbeatTimeout) (the hook's global timeout). A deadline beyond it would never be reached.
 */
export function globalTimeoutSeconds(heartbeatTimeoutSeconds: number): number {
  return Math.min(48 * 3600, 100 * heartbeatTimeoutSeconds);
}

/** Comma-joined names, each trimmed. */
const commaList = z.pipe(
  z.string(),
  z.transform((value: string) => value.split(',').map((name) => name.trim())),
);

const names = (what: string) =>
  z.pipe(
    commaList,
    z.array(z.string().check(z.minLength(1, `${what}: an empty name in the list`))).check(z.minLength(1)),
  );

/** `cluster:group` pairs, as template.yaml joins its AutoScalingGroups parameter. */
const servedGroups = z.pipe(
  names('AUTO_SCALING_GROUPS'),
  z.array(
    z.pipe(
      z.string().check(z.regex(/^[A-Za-z0-9_-]{1,255}:.+$/, 'AUTO_SCALING_GROUPS items are cluster:group')),
      z.transform((pair: string): ServedGroup => {
        const at = pair.indexOf(':');
        return { cluster: pair.slice(0, at), autoScalingGroupName: pair.slice(at + 1) };
      }),
    ),
  ),
);

/** What template.yaml's parameters default to for drains that last; the functions default to the same. */
export const DRAIN_POLICY_DEFAULTS = {
  drainDeadlineSeconds: 3600,
  deadlineAction: 'continue',
  standaloneTasks: 'wait',
  standaloneGraceSeconds: 600,
  daemonGraceSeconds: 120,
  ecsReadsPerSecond: 10,
  // LaunchTimeout: boot, agent start and registration take one to three minutes.
  launchTimeoutSeconds: 600,
} as const satisfies Partial<ControllerConfig>;

const seconds = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);

/** What the controller needs to know about the stack it was deployed with (template.yaml sets it). */
export const ControllerEnvironment = z
  .object({
    CLUSTER_NAMES: names('CLUSTER_NAMES'),
    AUTO_SCALING_GROUPS: servedGroups,
    LIFECYCLE_HOOK_NAME: z.string().check(z.minLength(1)),
    // The hook's HeartbeatTimeout, so heartbeats can be paced to it (30 to 7200 s, as the API allows).
    HEARTBEAT_TIMEOUT: z.coerce.number().check(z.int(), z.gte(30), z.lte(7200)),
    DRAIN_DEADLINE: seconds(DRAIN_POLICY_DEFAULTS.drainDeadlineSeconds),
    DEADLINE_ACTION: z._default(z.enum(DEADLINE_ACTIONS), DRAIN_POLICY_DEFAULTS.deadlineAction),
    STANDALONE_TASKS: z._default(z.enum(STANDALONE_TASK_POLICIES), DRAIN_POLICY_DEFAULTS.standaloneTasks),
    STANDALONE_GRACE: seconds(DRAIN_POLICY_DEFAULTS.standaloneGraceSeconds),
    DAEMON_GRACE: seconds(DRAIN_POLICY_DEFAULTS.daemonGraceSeconds),
    // The account's bucket refills at 20 per second; a share beyond it would only be throttled.
    ECS_READS_PER_SECOND: z._default(
      z.coerce.number().check(z.gte(1), z.lte(20)),
      DRAIN_POLICY_DEFAULTS.ecsReadsPerSecond,
    ),
    ALERT_TOPIC_ARN: z.optional(z.string()),
    // Launch readiness: on or off, the stack's launch hook, and its HeartbeatTimeout.
    LAUNCH_READINESS: z._default(z.enum(['enabled', 'disabled']), 'disabled'),
    LAUNCH_HOOK_NAME: z.optional(z.string()),
    LAUNCH_TIMEOUT: z._default(
      z.coerce.number().check(z.int(), z.gte(30), z.lte(7200)),
      DRAIN_POLICY_DEFAULTS.launchTimeoutSeconds,
    ),
  })
  .check(
    z.superRefine((env, context) => {
      if (env.LAUNCH_READINESS === 'enabled' && (env.LAUNCH_HOOK_NAME ?? '') === '')
        context.addIssue({
          code: 'custom',
          path: ['LAUNCH_HOOK_NAME'],
          message: 'launch readiness is enabled, but its hook is not named',
        });
      for (const group of env.AUTO_SCALING_GROUPS) {
        if (!env.CLUSTER_NAMES.includes(group.cluster)) {
          context.addIssue({
            code: 'custom',
            path: ['AUTO_SCALING_GROUPS'],
            message: `group ${group.autoScalingGroupName} names cluster ${group.cluster}, which is not in CLUSTER_NAMES`,
          });
        }
      }
    }),
  );

export interface ControllerConfig {
  /** Clusters this stack drains; a drain request naming another is rejected without an AWS call. */
  clusters: string[];
  /** The Auto Scaling groups whose lifecycle actions this stack may complete, each with its cluster. */
  groups: ServedGroup[];
  /** The one hook this stack owns (on every group); actions of any other hook are never completed. */
  lifecycleHookName: string;
  /** Seconds a lifecycle action waits without a heartbeat before its default result applies. */
  heartbeatTimeoutSeconds: number;
  /** Seconds after its start at which a drain that has not finished gets `deadlineAction`. */
  drainDeadlineSeconds: number;
  /** The DrainDeadline asked for, when it was beyond the hook's global timeout and capped to it. */
  drainDeadlineRequested?: number;
  deadlineAction: DeadlineAction;
  standaloneTasks: StandaloneTaskPolicy;
  /** With `standaloneTasks: stop`, how long after the drain started standalone tasks are stopped. */
  standaloneGraceSeconds: number;
  /** How long daemon tasks alone may hold a drain (ECS stops them once every other task stopped). */
  daemonGraceSeconds: number;
  /**
   * The controller's share of the account's ECS "cluster resource read" bucket (refilled at 20 per
   * second for every tool in the account and Region), split among the containers that can run at once.
   */
  ecsReadsPerSecond: number;
  /** Where alerts go; none when absent. */
  alertTopicArn?: string;
  /**
   * The launch hook this stack owns on every group (launch readiness); absent: readiness is off and
   * new instances go into service as soon as EC2 says they are healthy.
   */
  launchHookName?: string;
  /** Seconds the launch hook holds a new instance that ECS cannot use before it is abandoned. */
  launchTimeoutSeconds: number;
}

/** Reads the configuration once, at cold start; a missing or invalid variable fails loudly with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const parsed = ControllerEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')} (${issue.message})`)
      .join(', ');
    throw new Error(`Invalid controller configuration: environment variable(s) ${problems}`);
  }
  const { data } = parsed;
  return {
    clusters: data.CLUSTER_NAMES,
    groups: data.AUTO_SCALING_GROUPS,
    lifecycleHookName: data.LIFECYCLE_HOOK_NAME,
    heartbeatTimeoutSeconds: data.HEARTBEAT_TIMEOUT,
    // A deadline beyond the hook's global timeout would never be reached. Refusing to start would stop
    // every drain (a stack deployed with HeartbeatTimeout 30 and the default deadline): it is capped,
    // and the cap is said at cold start (see lambdaDependencies).
    drainDeadlineSeconds: Math.min(data.DRAIN_DEADLINE, globalTimeoutSeconds(data.HEARTBEAT_TIMEOUT)),
    ...(data.DRAIN_DEADLINE > globalTimeoutSeconds(data.HEARTBEAT_TIMEOUT) && {
      drainDeadlineRequested: data.DRAIN_DEADLINE,
    }),
    deadlineAction: data.DEADLINE_ACTION,
    standaloneTasks: data.STANDALONE_TASKS,
    standaloneGraceSeconds: data.STANDALONE_GRACE,
    daemonGraceSeconds: data.DAEMON_GRACE,
    ecsReadsPerSecond: data.ECS_READS_PER_SECOND,
    ...(data.ALERT_TOPIC_ARN !== undefined &&
      data.ALERT_TOPIC_ARN !== '' && { alertTopicArn: data.ALERT_TOPIC_ARN }),
    ...(data.LAUNCH_READINESS === 'enabled' && { launchHookName: data.LAUNCH_HOOK_NAME }),
    launchTimeoutSeconds: data.LAUNCH_TIMEOUT,
  };
}

/** The served group named `autoScalingGroupName`, if it is served for `cluster` (a name or an ARN). */
export function servedGroup(
  groups: readonly ServedGroup[],
  autoScalingGroupName: string,
  cluster?: string,
): ServedGroup | undefined {
  return groups.find(
    (group) =>
      group.autoScalingGroupName === autoScalingGroupName &&
      (cluster === undefined || clusterMatches(cluster, group.cluster)),
  );
}

/** True when `clusterArnOrName` names the cluster `name` (ECS accepts either form). */
export function clusterMatches(clusterArnOrName: string, name: string): boolean {
  if (clusterArnOrName === name) return true;
  const marker = ':cluster/';
  const at = clusterArnOrName.lastIndexOf(marker);
  return at >= 0 && clusterArnOrName.slice(at + marker.length) === name;
}
