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

  /**
   * How many more calls this pacer would let go by `at` (epoch ms): the tokens it holds now and its
   * refill until then, less the calls already waiting (unless `afterWaiting` is false, for a caller
   * that counts its own waiting calls). A plan, not a promise (an urgent call may go first).
   */
  callsPossibleBy(at: number, { afterWaiting = true }: { afterWaiting?: boolean } = {}): number {
    const now = this.timing.now();
    if (at < now) return 0;
    const tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    const refill = (Math.max(0, at - now) / 1000) * this.perSecond;
    const waiting = afterWaiting ? this.waiting.urgent.length + this.waiting.background.length : 0;
    return Math.max(0, Math.floor(tokens + refill + 1e-6) - waiting);
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
 * A paginator whose every page request waits for `pacer` first; `more` tells from a page whether
 * another follows (its nextToken, or NextToken in the query protocols). The SDK's paginators ask for
 * the next page as soon as the loop asks, so the wait goes before each request, not after it.
 */
export async function* pacedPages<T>(
  pages: AsyncIterable<T>,
  pacer: Pacer,
  more: (page: T) => boolean,
  priority: Priority = 'urgent',
): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]();
  for (let another = true; another;) {
    await pacer.take(priority);
    const next = await iterator.next();
    if (next.done) return;
    another = more(next.value);
    yield next.value;
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

/** Who calls Auto Scaling: the four drain paths, and the AMI watcher. */
export type AutoScalingCaller = DecisionPath | 'watcher';

/**
 * Auto Scaling has one API limit for every call of the account and Region, and publishes no figure
 * for it (docs/aws-semantics.md §5.2). This is the limit the stack assumes, a token bucket refilled at
 * `perSecond` holding up to `burst` calls: the same assumption the twin's bucket makes
 * (sim/api/server.ts BUCKET_SIZES, 'auto-scaling'), so a run that is not throttled there keeps within it.
 */
export const ASSUMED_AUTO_SCALING_LIMIT = { perSecond: 10, burst: 40 } as const;

/**
 * The stack's part of that limit: the account's other callers (the console, the CLI, infrastructure
 * tools, Auto Scaling's own consumers such as ECS capacity providers) keep a fifth of it.
 */
export const AUTO_SCALING_STACK_SHARE = 0.8;

/**
 * How the stack's part of Auto Scaling's limit is split, per container of each caller. A Lambda
 * container cannot see the others, so each paces itself to a fixed rate (calls per second, bursts of
 * `burst`), and rate times containers over every caller stays within AUTO_SCALING_STACK_SHARE of the
 * assumed limit, bursts within its burst. Before, every container paced itself at 10 per second in
 * bursts of 20, up to eight containers at once against one bucket of 10 per second: in a refresh of
 * 5,000 instances a quarter of the calls were throttled, and calls that ran out of attempts (or of
 * the client's retry quota) sent their host's messages back to the queue for a visibility timeout, to
 * be throttled again (a hand-back p99 of nearly an hour).
 *
 * Each drain and each launch costs one CompleteLifecycleAction (and a fiftieth of a
 * DescribeAutoScalingInstances): the task events' two containers complete the drains and launch
 * readiness's two the launches, so they get most. The notifications' containers complete only hosts
 * with nothing to drain. The reconciler describes its groups once a run, finishes what events missed,
 * and gives up launches that stay unready (events bring no news of those): it bursts far enough to
 * answer a wave of them together (at 0.5 per second in bursts of 2, the six abandons of each wave of
 * the broken-AMI rehearsal spread over 12 s, and the refresh failed while one wave was still being
 * replaced, taking old instances with it); the watcher starts refreshes, and in a blue/green rollout terminates old instances.
 * `containers` is each function's MaximumConcurrency (one for the scheduled ones): template.test.ts
 * checks them against template.yaml.
 */
export const AUTO_SCALING_SHARES: Readonly<
  Record<AutoScalingCaller, { perSecond: number; burst: number; containers: number }>
> = {
  event: { perSecond: 1.9, burst: 5, containers: 2 },
  launch: { perSecond: 1.2, burst: 5, containers: 2 },
  start: { perSecond: 0.25, burst: 1, containers: 2 },
  reconciler: { perSecond: 1, burst: 6, containers: 1 },
  watcher: { perSecond: 0.3, burst: 2, containers: 1 },
};

/** One container's Auto Scaling pacer: its caller's part of the stack's share (see AUTO_SCALING_SHARES). */
export function autoScalingPacer(caller: AutoScalingCaller, timing: Timing = realTiming): Pacer {
  const { perSecond, burst } = AUTO_SCALING_SHARES[caller];
  return new Pacer(perSecond, burst, timing);
}

/**
 * Attempts per call (the SDK's default is 3). A throttled call only costs time, while one that
 * gives up sends its host's messages back to the queue for a visibility timeout.
 */
export const SDK_MAX_ATTEMPTS = 5;
