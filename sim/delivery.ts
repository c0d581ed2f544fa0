import type { Context } from 'aws-lambda';
import type { Clock, Random } from './clock';

export type { FailedEvent, LambdaStats } from './lambda';

/**
 * How events reach their targets: SNS and EventBridge deliver after some latency, at least once and
 * in no promised order. What happens once an event is in a queue or reaches Lambda is sim/sqs.ts
 * and sim/lambda.ts.
 */

export interface DeliveryFaults {
  /** Share of events delivered twice. */
  duplicate: number;
  /** Share of events delayed by up to `maxDelaySeconds` extra, which reorders them. */
  delay: number;
  maxDelaySeconds: number;
  /** Share of events lost on the way. Real delivery is at-least-once; this tests the worst case. */
  drop: number;
}

export const NO_DELIVERY_FAULTS: DeliveryFaults = { duplicate: 0, delay: 0, maxDelaySeconds: 0, drop: 0 };

/** A function's handler as the twin invokes it: with Lambda's context when a simulated Lambda runs it. */
export type AsyncHandler = (event: unknown, context?: Context) => Promise<unknown>;

/**
 * Hands one event over after a latency drawn from `latency`, with the faults asked for: lost,
 * delivered twice, or delayed enough to overtake later events. Answers how many copies were sent (0: lost).
 */
export function deliver(
  clock: Clock,
  random: Random,
  faults: DeliveryFaults,
  latency: [number, number],
  arrive: () => void,
): 0 | 1 | 2 {
  if (random.chance(faults.drop)) return 0;
  const copies = random.chance(faults.duplicate) ? 2 : 1;
  for (let copy = 0; copy < copies; copy++) {
    let delay = random.between(...latency);
    if (random.chance(faults.delay)) delay += random.between(0, faults.maxDelaySeconds);
    clock.after(delay, arrive);
  }
  return copies;
}

/** An EventBridge event pattern as template.yaml writes it: field -> allowed values, nested for objects. */
export type EventPattern = { [field: string]: unknown[] | EventPattern };

export function matchesPattern(event: unknown, pattern: EventPattern): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, expected]) =>
    Array.isArray(expected) ? expected.includes(fields[field]) : matchesPattern(fields[field], expected),
  );
}
