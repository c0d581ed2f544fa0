import type { Clock, Random } from './clock';

/**
 * How events reach the functions: SNS and EventBridge invoke Lambda asynchronously, after some
 * latency, at least once and in no promised order. Lambda retries a failed asynchronous invocation
 * twice (after about one and two minutes), then gives the event to the failure destination.
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

export interface LambdaStats {
  invocations: number;
  errors: number;
  /** Events that failed every attempt and went to the failure queue. */
  failed: { event: unknown; error: string }[];
  dropped: number;
}

const RETRY_DELAYS = [60, 120];

export class AsyncLambda {
  readonly stats: LambdaStats = { invocations: 0, errors: 0, failed: [], dropped: 0 };

  constructor(
    readonly name: string,
    private readonly handler: AsyncHandler,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly faults: DeliveryFaults,
    private readonly latency: [number, number],
  ) {}

  /** An event source (SNS, EventBridge) hands over one event. */
  deliver(event: unknown): void {
    if (this.random.chance(this.faults.drop)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.random.chance(this.faults.duplicate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delay = this.random.between(...this.latency);
      if (this.random.chance(this.faults.delay)) delay += this.random.between(0, this.faults.maxDelaySeconds);
      this.clock.after(delay, () => this.invoke(event, 0));
    }
  }

  private async invoke(event: unknown, attempt: number): Promise<void> {
    this.stats.invocations++;
    try {
      await this.handler(event);
    } catch (error) {
      this.stats.errors++;
      const retryDelay = RETRY_DELAYS[attempt];
      if (retryDelay === undefined) {
        this.stats.failed.push({
          event,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
        return;
      }
      this.clock.after(retryDelay, () => this.invoke(event, attempt + 1));
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
