import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CollectionTag, parse, type ScalarTag } from 'yaml';
import type { EventPattern } from './delivery';

/**
 * Reads template.yaml with CloudFormation's short-form intrinsics kept as their long form
 * (`!Ref X` -> `{ Ref: 'X' }`), so tests can inspect it and the simulation can use its rule pattern.
 * A tag may have a scalar and a sequence form (`!GetAtt X.Arn`, `!GetAtt [X, Arn]`).
 */
const intrinsic = (tag: string, fn: string, collection?: 'seq' | 'map'): ScalarTag | CollectionTag =>
  collection === undefined
    ? { tag: `!${tag}`, resolve: (value: string) => ({ [fn]: value }) }
    : { tag: `!${tag}`, collection, resolve: (value: { toJSON(): unknown }) => ({ [fn]: value.toJSON() }) };

const customTags = [
  intrinsic('Ref', 'Ref'),
  intrinsic('Sub', 'Fn::Sub'),
  intrinsic('Sub', 'Fn::Sub', 'seq'),
  intrinsic('GetAtt', 'Fn::GetAtt'),
  intrinsic('GetAtt', 'Fn::GetAtt', 'seq'),
  intrinsic('Join', 'Fn::Join', 'seq'),
  intrinsic('Split', 'Fn::Split', 'seq'),
  intrinsic('Select', 'Fn::Select', 'seq'),
  intrinsic('If', 'Fn::If', 'seq'),
  intrinsic('Not', 'Fn::Not', 'seq'),
  intrinsic('Equals', 'Fn::Equals', 'seq'),
  intrinsic('Contains', 'Fn::Contains', 'seq'),
];

export const TEMPLATE_PATH = join(__dirname, '..', 'template.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CloudFormation template is untyped data
export function readTemplate(): any {
  return parse(readFileSync(TEMPLATE_PATH, 'utf8'), { customTags });
}

/**
 * The stack values a pattern is resolved with: pseudo parameters (`AWS::Partition`, `AWS::Region`,
 * `AWS::AccountId`, or the same without `AWS::`) and parameters, lists as arrays
 * (`ClusterNames: ['prod', 'batch']`). `ClusterName: 'prod'` still means `ClusterNames: ['prod']`.
 */
export type StackValues = Record<string, string | string[]>;

/**
 * The finish function's EventBridge pattern for the given stack values, as plain values the
 * simulation's matcher compares: `detail.clusterArn` is the list of the served clusters' ARNs.
 *
 * template.yaml pins the event's account and Region and matches each cluster ARN by its suffix
 * (`{ "suffix": ":cluster/prod" }`: CloudFormation cannot prefix every item of a list with the
 * partition, Region and account). Under those pins a suffix selects exactly one ARN, which is what
 * this returns in its place.
 */
export function taskStoppedPattern(values: StackValues): EventPattern {
  return rulePattern('TaskStoppedRule', values);
}

/** Launch readiness's EventBridge pattern (ContainerInstanceRule), resolved as `taskStoppedPattern` is. */
export function containerInstancePattern(values: StackValues): EventPattern {
  return rulePattern('ContainerInstanceRule', values);
}

function rulePattern(rule: string, values: StackValues): EventPattern {
  const stack = stackValues(values);
  let pattern = resolve(readTemplate().Resources[rule].Properties.EventPattern, stack);
  if (typeof pattern === 'string') pattern = JSON.parse(pattern);
  return withPlainClusterArns(pattern as EventPattern, stack);
}

/**
 * The filter policy of the launch queue's subscription to the hook topic (scope MessageBody): which
 * lifecycle notifications SNS hands to launch readiness. Its syntax for exact values is an event
 * pattern's, so `matchesPattern` applies it.
 */
export function launchSubscriptionFilter(): EventPattern {
  const subscription = readTemplate().Resources.LaunchQueueSubscription.Properties;
  if (subscription.FilterPolicyScope !== 'MessageBody')
    throw new Error('template.yaml: the simulation applies filter policies on the message body only');
  return subscription.FilterPolicy as EventPattern;
}

/** How the template delivers events to a function: its queue and the event source mapping. */
export interface QueuePipeline {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  functionTimeoutSeconds: number;
  eventSource: {
    BatchSize: number;
    MaximumBatchingWindowInSeconds: number;
    ScalingConfig: { MaximumConcurrency: number };
    FunctionResponseTypes: 'ReportBatchItemFailures'[];
  };
}

const PIPELINES = {
  'task-events': ['TaskEventQueue', 'FinishDrainFunction', 'TaskEvents'],
  'lifecycle-notifications': ['LifecycleQueue', 'StartDrainFunction', 'LifecycleNotifications'],
  launches: ['LaunchQueue', 'LaunchReadinessFunction', 'LaunchesAndRegistrations'],
} as const;

/** The queue and event source mapping in front of the finish, start or launch readiness function. */
export function queuePipeline(which: keyof typeof PIPELINES): QueuePipeline {
  const { Resources: resources, Globals: globals } = readTemplate();
  const [queueName, functionName, eventName] = PIPELINES[which];
  const queue = resources[queueName].Properties;
  const fn = resources[functionName].Properties;
  const { BatchSize, MaximumBatchingWindowInSeconds, ScalingConfig, FunctionResponseTypes } =
    fn.Events[eventName].Properties;
  return {
    visibilityTimeoutSeconds: queue.VisibilityTimeout,
    maxReceiveCount: queue.RedrivePolicy.maxReceiveCount,
    functionTimeoutSeconds: fn.Timeout ?? globals.Function.Timeout,
    eventSource: { BatchSize, MaximumBatchingWindowInSeconds, ScalingConfig, FunctionResponseTypes },
  };
}

/** How often the reconciler runs by default (the ReconcileSchedule parameter's default), and its timeout. */
export interface ReconcileSchedule {
  /** The schedule expression, e.g. `rate(1 minute)`. */
  expression: string;
  /** The period of that expression; only `rate(...)` expressions have one the simulation can use. */
  periodSeconds: number;
  timeoutSeconds: number;
  /** The function's EventInvokeConfig: how Lambda retries a failed scheduled run, and for how long. */
  maximumRetryAttempts?: number;
  maxEventAgeSeconds?: number;
}

const RATE_UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86400 };

export function reconcileSchedule(): ReconcileSchedule {
  const { invocations, ...invoke } = scheduledInvocations('ReconcileFunction');
  const [only] = invocations;
  if (only === undefined || invocations.length !== 1)
    throw new Error('template.yaml: the reconciler has one schedule');
  return { expression: only.expression, periodSeconds: only.periodSeconds, ...invoke };
}

/** A `rate(...)` expression's period in seconds; undefined for anything else (cron). */
export function ratePeriodSeconds(expression: string): number | undefined {
  const rate = /^rate\((?<count>\d+) (?<unit>minute|hour|day)s?\)$/.exec(expression)?.groups;
  if (rate?.count === undefined || rate.unit === undefined) return undefined;
  return Number(rate.count) * (RATE_UNIT_SECONDS[rate.unit] as number);
}

/** One Schedule event of a scheduled function: how often, and the input it is invoked with. */
export interface ScheduledInvocation {
  name: string;
  expression: string;
  periodSeconds: number;
  /** The event's `Input` (JSON text), parsed; EventBridge's own "Scheduled Event" when it has none. */
  input?: unknown;
}

/**
 * Every Schedule event of a function and its timeout, with parameters at their defaults unless
 * `parameters` says otherwise (a rehearsal may look every few minutes where the stack looks hourly).
 */
export function scheduledInvocations(
  functionId: string,
  parameters: Record<string, string> = {},
): Omit<ReconcileSchedule, 'expression' | 'periodSeconds'> & { invocations: ScheduledInvocation[] } {
  const { Parameters: declared, Resources: resources, Globals: globals } = readTemplate();
  const defaults = Object.fromEntries(
    Object.entries(declared as Record<string, { Default?: unknown }>).map(([name, { Default }]) => [
      name,
      String(Default ?? ''),
    ]),
  );
  const fn = resources[functionId].Properties;
  const values = { ...defaults, ...parameters };
  const invocations = Object.entries(
    fn.Events as Record<string, { Type: string; Properties: Record<string, unknown> }>,
  )
    .filter(([, event]) => event.Type === 'Schedule')
    // A rule the stack creates disabled (State, maybe under a condition) invokes nothing.
    .filter(([, event]) => resolveConditionally(event.Properties.State ?? 'ENABLED', values) !== 'DISABLED')
    .map(([name, event]): ScheduledInvocation => {
      const expression = String(resolve(event.Properties.Schedule, values));
      const periodSeconds = ratePeriodSeconds(expression);
      if (periodSeconds === undefined)
        throw new Error(`template.yaml: the simulation runs rate() schedules only, not ${expression}`);
      const input = event.Properties.Input;
      return {
        name,
        expression,
        periodSeconds,
        ...(typeof input === 'string' && { input: JSON.parse(input) }),
      };
    });
  return {
    invocations,
    timeoutSeconds: fn.Timeout ?? globals.Function.Timeout,
    ...(fn.EventInvokeConfig?.MaximumRetryAttempts !== undefined && {
      maximumRetryAttempts: fn.EventInvokeConfig.MaximumRetryAttempts,
    }),
    ...(fn.EventInvokeConfig?.MaximumEventAgeInSeconds !== undefined && {
      maxEventAgeSeconds: fn.EventInvokeConfig.MaximumEventAgeInSeconds,
    }),
  };
}

/**
 * A function's environment variables as the stack gives them (Globals, then the function's own), for
 * these stack values: parameters not given take their defaults (a CommaDelimitedList as a list);
 * a Ref to a resource needs its value among `values`.
 */
export function functionEnvironment(functionId: string, values: StackValues): Record<string, string> {
  const { Parameters: declared, Resources: resources, Globals: globals } = readTemplate();
  const defaults: StackValues = Object.fromEntries(
    Object.entries(declared as Record<string, { Type: string; Default?: unknown }>).flatMap(
      ([name, { Type, Default }]) =>
        Default === undefined
          ? []
          : [[name, Type === 'CommaDelimitedList' ? String(Default).split(',') : String(Default)]],
    ),
  );
  const stack = stackValues({ ...defaults, ...values });
  const variables = {
    ...globals.Function.Environment.Variables,
    ...resources[functionId].Properties.Environment?.Variables,
  };
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, String(resolve(value, stack))]),
  );
}

/** `node` with an `Fn::If` on a template condition decided by the parameters' values. */
function resolveConditionally(node: unknown, values: Record<string, string>): unknown {
  if (typeof node === 'object' && node !== null && 'Fn::If' in node) {
    const [condition, whenTrue, whenFalse] = (node as { 'Fn::If': [string, unknown, unknown] })['Fn::If'];
    return conditionHolds(condition, values) ? whenTrue : whenFalse;
  }
  return resolve(node, values);
}

/** A template condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition) for these parameter values. */
function conditionHolds(name: string, values: Record<string, string>): boolean {
  const holds = (node: unknown): boolean => {
    const [[fn, args] = ['', undefined]] = Object.entries(node as Record<string, unknown>);
    const list = args as unknown[];
    switch (fn) {
      case 'Condition':
        return conditionHolds(String(args), values);
      case 'Fn::Equals':
        return resolve(list[0], values) === resolve(list[1], values);
      case 'Fn::And':
        return list.every(holds);
      case 'Fn::Or':
        return list.some(holds);
      case 'Fn::Not':
        return !holds(list[0]);
      default:
        throw new Error(`template.yaml: the simulation cannot evaluate ${fn} in condition ${name}`);
    }
  };
  return holds(readTemplate().Conditions[name]);
}

const PSEUDO_PARAMETERS = ['Partition', 'Region', 'AccountId'];

function stackValues(values: StackValues): StackValues {
  const stack: StackValues = { ...values };
  for (const name of PSEUDO_PARAMETERS) {
    const value = values[`AWS::${name}`] ?? values[name];
    if (value !== undefined) stack[`AWS::${name}`] = value;
  }
  if (stack.ClusterNames === undefined && typeof values.ClusterName === 'string')
    stack.ClusterNames = [values.ClusterName];
  if (typeof stack.ClusterNames === 'string') stack.ClusterNames = stack.ClusterNames.split(',');
  return stack;
}

/**
 * Resolves Ref, Fn::Sub, Fn::Join, Fn::Split and Fn::Select in `node` for the given stack values
 * (a Ref to a resource needs a value too); other intrinsics are left as they are.
 */
export function resolveIntrinsics(node: unknown, values: StackValues): unknown {
  return resolve(node, stackValues(values));
}

function resolve(node: unknown, values: StackValues): unknown {
  if (Array.isArray(node)) return node.map((item) => resolve(item, values));
  if (typeof node !== 'object' || node === null) return node;
  const entries = Object.entries(node);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) {
    const [fn, args] = only;
    switch (fn) {
      case 'Ref':
        return valueOf(String(args), values);
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(args) ? args : [args, {}];
        const own = resolve(variables, values) as Record<string, unknown>;
        return String(text).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          const value = name in own ? own[name] : valueOf(name, values);
          if (typeof value !== 'string') throw new Error(`template.yaml: \${${name}} is not a string`);
          return value;
        });
      }
      case 'Fn::Join': {
        const [delimiter, list] = args as [string, unknown];
        return listOf(resolve(list, values), fn).join(delimiter);
      }
      case 'Fn::Split': {
        const [delimiter, text] = args as [string, unknown];
        return String(resolve(text, values)).split(delimiter);
      }
      case 'Fn::Select': {
        const [index, list] = args as [number, unknown];
        const item = listOf(resolve(list, values), fn)[Number(index)];
        if (item === undefined) throw new Error(`template.yaml: Fn::Select has no item ${index}`);
        return item;
      }
    }
  }
  return Object.fromEntries(entries.map(([key, value]) => [key, resolve(value, values)]));
}

function valueOf(name: string, values: StackValues): string | string[] {
  const value = values[name];
  if (value === undefined) throw new Error(`template.yaml: no value for ${name}`);
  return value;
}

function listOf(value: unknown, fn: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`template.yaml: ${fn} needs a list`);
  return value;
}

/** Replaces `{ suffix }` items of `detail.clusterArn` by the one ARN they select under the pattern's pins. */
function withPlainClusterArns(pattern: EventPattern, values: StackValues): EventPattern {
  const detail = pattern.detail;
  if (detail === undefined || Array.isArray(detail) || !Array.isArray(detail.clusterArn)) return pattern;
  const clusterArn = detail.clusterArn.map((item) => {
    if (typeof item === 'string') return item;
    const suffix = (item as { suffix?: unknown }).suffix;
    const [account, region] = [pattern.account, pattern.region];
    if (
      typeof suffix !== 'string' ||
      !Array.isArray(account) ||
      account.length !== 1 ||
      !Array.isArray(region) ||
      region.length !== 1
    )
      throw new Error(`template.yaml: the simulation cannot match clusterArn ${JSON.stringify(item)}`);
    return `arn:${valueOf('AWS::Partition', values)}:ecs:${region[0]}:${account[0]}${suffix}`;
  });
  return { ...pattern, detail: { ...detail, clusterArn } };
}
