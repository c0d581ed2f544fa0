import type { DecisionPath } from '../decisions/host';

/**
 * Paces calls to a shared API limit from one Lambda container: a token bucket, so that a burst of
 * calls is spread over time instead of draining the account's bucket, which every other tool in
 * the account and Region shares. Urgent callers (a read that may finish a drain now) go before
 * background ones (a read that only prepares a later decision). Time is injected: real in Lambda,
 * simulated in the twin.
 */
export interface Timing {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(milliseconds: number): Promise<void>;
}

export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)),
};

export type Priority = 'urgent' | 'background';

export class Pacer {
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Record<Priority, (() => void)[]> = { urgent: [], background: [] };
  private pumping = false;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly timing: Timing = realTiming,
  ) {
    this.tokens = burst;
    this.refilledAt = timing.now();
  }

  /** Resolves when the caller may make its call: urgent callers first, each in the order they asked. */
  take(priority: Priority = 'urgent'): Promise<void> {
    return new Promise((resolve) => {
      this.waiting[priority].push(resolve);
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const queue = this.waiting.urgent.length > 0 ? this.waiting.urgent : this.waiting.background;
        if (queue.length === 0) return;
        const now = this.timing.now();
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
        this.refilledAt = now;
        // Rounding must not leave a call waiting for a millionth of a token.
        if (this.tokens >= 1 - 1e-6) {
          this.tokens = Math.max(0, this.tokens - 1);
          queue.shift()?.();
        } else {
          await this.timing.sleep(Math.max(1, ((1 - this.tokens) / this.perSecond) * 1000));
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

/**
 * How the controller's share of ECS's "cluster resource read" bucket (EcsReadsPerSecond, 10 by
 * default: half the bucket's refill of 20 per second, which every tool in the account and Region
 * shares) is split. A Lambda container cannot see the others, so each paces itself to a fixed part:
 * the task events' two containers (their event source's MaximumConcurrency) get most, for hand-back
 * is what waits on reads; the notifications' two containers, the reconciler and launch readiness's two share the rest (the
 * start and launch paths batch their few reads over many instances).
 * Parts times containers add up to 0.95: the rest covers the burst of one each container may take
 * and the jitter of calls on their way, so that no second sees more than the share (at 1.0, the
 * busiest second of a refresh of 1,000 instances saw 11 reads for a share of 10).
 */
export const ECS_READ_SHARES: Readonly<Record<DecisionPath, { share: number; containers: number }>> = {
  event: { share: 0.35, containers: 2 },
  start: { share: 0.05, containers: 2 },
  reconciler: { share: 0.1, containers: 1 },
  launch: { share: 0.025, containers: 2 },
};

/** One container's ECS read pacer: its part of the share, in bursts of one (the account's bucket absorbs the rest). */
export function ecsReadPacer(path: DecisionPath, readsPerSecond: number, timing: Timing = realTiming): Pacer {
  return new Pacer(ECS_READ_SHARES[path].share * readsPerSecond, 1, timing);
}

/** Auto Scaling publishes no limit for its single bucket; 10 per second per container, bursts of 20. */
export function autoScalingPacer(timing: Timing = realTiming): Pacer {
  return new Pacer(10, 20, timing);
}

/**
 * Attempts per call (the SDK's default is 3). A throttled call only costs time, while one that
 * gives up sends its host's messages back to the queue for a visibility timeout.
 */
export const SDK_MAX_ATTEMPTS = 5;
