import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CollectionTag, parse, type ScalarTag } from 'yaml';
import type { EventPattern } from './delivery';

/**
 * Reads template.yaml with CloudFormation's short-form intrinsics kept as their long form
 * (`!Ref X` -> `{ Ref: 'X' }`), so tests can inspect it and the simulation can use its rule pattern.
 */
const intrinsic = (tag: string, fn: string, collection?: 'seq' | 'map'): ScalarTag | CollectionTag =>
  collection === undefined
    ? { tag: `!${tag}`, resolve: (value: string) => ({ [fn]: value }) }
    : { tag: `!${tag}`, collection, resolve: (value: { toJSON(): unknown }) => ({ [fn]: value.toJSON() }) };

const customTags = [
  intrinsic('Ref', 'Ref'),
  intrinsic('Sub', 'Fn::Sub'),
  intrinsic('GetAtt', 'Fn::GetAtt'),
  intrinsic('If', 'Fn::If', 'seq'),
  intrinsic('Not', 'Fn::Not', 'seq'),
  intrinsic('Equals', 'Fn::Equals', 'seq'),
];

export const TEMPLATE_PATH = join(__dirname, '..', 'template.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CloudFormation template is untyped data
export function readTemplate(): any {
  return parse(readFileSync(TEMPLATE_PATH, 'utf8'), { customTags });
}

/** The finish function's EventBridge pattern, with `Fn::Sub` resolved for the given stack values. */
export function taskStoppedPattern(values: Record<string, string>): EventPattern {
  const pattern = readTemplate().Resources.TaskStoppedRule.Properties.EventPattern;
  return resolve(pattern, values) as EventPattern;
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

/** The queue and event source mapping in front of the finish function (`TaskEvents`) or the start function. */
export function queuePipeline(which: 'task-events' | 'lifecycle-notifications'): QueuePipeline {
  const { Resources: resources, Globals: globals } = readTemplate();
  const [queueName, functionName, eventName] =
    which === 'task-events'
      ? ['TaskEventQueue', 'FinishDrainFunction', 'TaskEvents']
      : ['LifecycleQueue', 'StartDrainFunction', 'LifecycleNotifications'];
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

function resolve(node: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(node)) return node.map((item) => resolve(item, values));
  if (typeof node !== 'object' || node === null) return node;
  const entries = Object.entries(node);
  const [only] = entries;
  if (entries.length === 1 && only?.[0] === 'Fn::Sub') {
    return String(only[1]).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`template.yaml: no value for \${${name}}`);
      return value;
    });
  }
  return Object.fromEntries(entries.map(([key, value]) => [key, resolve(value, values)]));
}
