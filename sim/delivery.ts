import type { Clock, Random } from './clock';
import { LambdaFunction, type LambdaStats } from './lambda';

export type { FailedEvent, LambdaStats } from './lambda';

/**
 * How events reach the functions: SNS and EventBridge invoke Lambda asynchronously, after some
 * latency, at least once and in no promised order. What happens once an event reaches Lambda (the
 * internal queue, containers, the two retries, the failure destination) is sim/lambda.ts.
 */

export interface DeliveryFaults {
  /** Share of events delivered twice. */
  duplicate: number;
  /** Share of events delayed by up to `maxDelaySeconds` extra, which reorders them. */
  delay: number;
  maxDelaySeconds: number;
  /** Share of events lost before they reach Lambda. Real delivery is at-least-once; this tests the worst case. */
  drop: number;
}

export const NO_DELIVERY_FAULTS: DeliveryFaults = { duplicate: 0, delay: 0, maxDelaySeconds: 0, drop: 0 };

export type AsyncHandler = (event: unknown) => Promise<unknown>;

/**
 * An SNS subscription or EventBridge target in front of a function. Given a bare handler it builds
 * a function that shares that handler between containers, with Lambda's largest timeout and the
 * account's default concurrency, so callers written for the earlier model keep their behaviour; pass
 * a LambdaFunction for containers with their own module state, a timeout and a concurrency limit.
 */
export class AsyncLambda {
  readonly fn: LambdaFunction;

  constructor(
    readonly name: string,
    handler: AsyncHandler | LambdaFunction,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly faults: DeliveryFaults,
    private readonly latency: [number, number],
  ) {
    this.fn =
      handler instanceof LambdaFunction
        ? handler
        : new LambdaFunction(clock, {
            name,
            factory: () => (event) => handler(event),
            timeoutSeconds: 900,
            concurrency: 1000,
            coldStartSeconds: 0,
          });
  }

  /** Invocations, errors, failure destination and events lost on the way. */
  get stats(): LambdaStats {
    return this.fn.stats;
  }

  /** An event source (SNS, EventBridge) hands over one event. */
  deliver(event: unknown): void {
    if (this.random.chance(this.faults.drop)) {
      this.fn.stats.dropped++;
      return;
    }
    const copies = this.random.chance(this.faults.duplicate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delay = this.random.between(...this.latency);
      if (this.random.chance(this.faults.delay)) delay += this.random.between(0, this.faults.maxDelaySeconds);
      this.clock.after(delay, () => this.fn.enqueue(event));
    }
  }
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
