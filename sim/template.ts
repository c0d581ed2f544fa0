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
  const pattern =
    readTemplate().Resources.FinishDrainFunction.Properties.Events.TaskStopped.Properties.Pattern;
  return resolve(pattern, values) as EventPattern;
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
