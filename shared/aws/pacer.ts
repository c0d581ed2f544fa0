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
 * The controller's share of ECS's "cluster resource read" bucket (100, refilled at 20 per second,
 * for the whole account and Region): 10 per second for each Lambda container, in bursts of 10.
 */
export function ecsReadPacer(timing: Timing = realTiming): Pacer {
  return new Pacer(10, 10, timing);
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
