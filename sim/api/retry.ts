import type {
  Provider,
  RetryErrorInfo,
  RetryErrorType,
  RetryStrategy,
  RetryStrategyV2,
  RetryToken,
  StandardRetryToken,
} from '@smithy/types';
import type { Clock, Random } from '../clock';

/**
 * The AWS SDK's standard retry strategy, waiting in simulated time.
 *
 * Mirrors node_modules/@smithy/core/dist-cjs/submodules/retry/index.js of @smithy/core 3.41.0,
 * class `StandardRetryStrategy$1` with the `Retry` constants of its 2026 revision (`Retry.v2026`):
 *   DEFAULT_MAX_ATTEMPTS = 3
 *   Retry.delay() = 50 ms (base of TRANSIENT back-off)      Retry.throttlingDelay() = 1_000 ms
 *   MAXIMUM_RETRY_DELAY = 20_000 ms
 *   DefaultRetryBackoffStrategy: floor(random * min(base * 2 ** retryCount, MAXIMUM_RETRY_DELAY))
 *   INITIAL_RETRY_TOKENS = 500 (the retry quota)           Retry.cost() = 14, Retry.throttlingCost() = 5
 *   NO_RETRY_INCREMENT = 1 (refunded by a success on the first attempt; a success after a retry
 *   refunds that retry's cost); only errorType THROTTLING and TRANSIENT are retried; a retry-after
 *   hint can lengthen the delay to at most delay + 5_000 ms; a ":longpoll" scope waits out the
 *   back-off before giving up when the quota is exhausted.
 * Which errors are THROTTLING or TRANSIENT is decided by the SDK's retry middleware before it calls
 * the strategy (same file, getRetryErrorType): THROTTLING for HTTP 429, the THROTTLING_ERROR_CODES
 * (Throttling, ThrottlingException, RequestLimitExceeded, TooManyRequestsException, ...) and
 * `$retryable.throttling`; TRANSIENT for `$retryable`, clock-skew-corrected errors, TimeoutError,
 * RequestTimeout(Exception), HTTP 500/502/503/504, ECONNRESET/ECONNREFUSED/EPIPE/ETIMEDOUT and
 * network errors. Other 5xx are SERVER_ERROR and, like CLIENT_ERROR, not retried.
 *
 * Differences, on purpose: the back-off sleeps with `clock.sleep` instead of setTimeout, and its
 * random factor comes from a seeded Random instead of Math.random, so runs are reproducible. The
 * tokens it returns have getRetryDelay() = 0 (as the installed version's do), so the retry
 * middleware does not sleep on the wall clock as well; `$retryLog.acquisitionDelay` carries the
 * simulated delay into `$metadata.totalRetryDelay`.
 */

const DEFAULT_MAX_ATTEMPTS = 3;
const DELAY_BASE_MS = 50;
const THROTTLING_DELAY_BASE_MS = 1_000;
const MAXIMUM_RETRY_DELAY_MS = 20_000;
const INITIAL_RETRY_TOKENS = 500;
const RETRY_COST = 14;
const THROTTLING_RETRY_COST = 5;
const NO_RETRY_INCREMENT = 1;
const RETRY_AFTER_HINT_CAP_MS = 5_000;

/** What a report shows per client. */
export interface RetryStats {
  /** Calls made (one initial token each). */
  calls: number;
  /** Requests sent: calls plus retries. */
  attempts: number;
  retries: number;
  /** Retries of THROTTLING errors. */
  throttlingRetries: number;
  /** Errors the strategy did not retry (not retryable, attempts used up, quota empty). */
  gaveUp: number;
  /** Refusals because the retry quota was empty. */
  quotaExhausted: number;
  /** Simulated seconds spent backing off. */
  backoffSeconds: number;
}

export function emptyRetryStats(): RetryStats {
  return {
    calls: 0,
    attempts: 0,
    retries: 0,
    throttlingRetries: 0,
    gaveUp: 0,
    quotaExhausted: 0,
    backoffSeconds: 0,
  };
}

export interface SimulatedRetryOptions {
  clock: Clock;
  random: Random;
  /** As the client's maxAttempts (AWS_MAX_ATTEMPTS): a number or a provider. Default 3. */
  maxAttempts?: number | Provider<number>;
  /** Where the counts go; several strategies (one per container's client) may share one. */
  stats?: RetryStats;
}

class SimulatedRetryToken implements StandardRetryToken {
  readonly $retryLog = { acquisitionDelay: 0 };

  constructor(
    private readonly count: number,
    private readonly cost: number | undefined,
    private readonly longPoll: boolean,
  ) {}

  getRetryCount(): number {
    return this.count;
  }

  /** Zero: the strategy has already waited, in simulated time. */
  getRetryDelay(): number {
    return 0;
  }

  getRetryCost(): number | undefined {
    return this.cost;
  }

  isLongPoll(): boolean {
    return this.longPoll;
  }
}

export class SimulatedRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  readonly stats: RetryStats;
  private capacity = INITIAL_RETRY_TOKENS;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly maxAttemptsProvider: Provider<number>;

  constructor(options: SimulatedRetryOptions) {
    this.clock = options.clock;
    this.random = options.random;
    const max = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.maxAttemptsProvider = typeof max === 'number' ? async () => max : max;
    this.stats = options.stats ?? emptyRetryStats();
  }

  /** The retry quota left (500 when full). */
  getCapacity(): number {
    return this.capacity;
  }

  async acquireInitialRetryToken(retryTokenScope: string): Promise<RetryToken> {
    this.stats.calls++;
    this.stats.attempts++;
    return new SimulatedRetryToken(0, undefined, retryTokenScope.includes(':longpoll'));
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const maxAttempts = await this.getMaxAttempts();
    const refusal = this.refusal(token, errorInfo.errorType, maxAttempts);
    const isLongPoll = token.isLongPoll?.() ?? false;
    if (refusal === undefined || isLongPoll) {
      const errorType = errorInfo.errorType;
      const base = errorType === 'THROTTLING' ? THROTTLING_DELAY_BASE_MS : DELAY_BASE_MS;
      const backoff = Math.floor(
        this.random.next() * Math.min(base * 2 ** token.getRetryCount(), MAXIMUM_RETRY_DELAY_MS),
      );
      let retryDelay = backoff;
      if (errorInfo.retryAfterHint instanceof Date) {
        // The hint was parsed against the wall clock a moment ago: only its distance from now counts.
        retryDelay = Math.max(
          backoff,
          Math.min(errorInfo.retryAfterHint.getTime() - Date.now(), backoff + RETRY_AFTER_HINT_CAP_MS),
        );
      }
      if (refusal === undefined) {
        const cost = errorType === 'THROTTLING' ? THROTTLING_RETRY_COST : RETRY_COST;
        this.capacity -= cost;
        const next = new SimulatedRetryToken(token.getRetryCount() + 1, cost, isLongPoll);
        this.stats.retries++;
        this.stats.attempts++;
        if (errorType === 'THROTTLING') this.stats.throttlingRetries++;
        this.stats.backoffSeconds += retryDelay / 1000;
        await this.clock.sleep(retryDelay / 1000);
        next.$retryLog.acquisitionDelay = retryDelay;
        return next;
      }
      if (refusal === 'capacity' && retryDelay > 0) await this.clock.sleep(retryDelay / 1000);
    }
    this.stats.gaveUp++;
    if (refusal === 'capacity') this.stats.quotaExhausted++;
    throw new Error('No retry token available');
  }

  recordSuccess(token: RetryToken): void {
    const cost = (token as Partial<StandardRetryToken>).getRetryCost?.();
    this.capacity = Math.min(INITIAL_RETRY_TOKENS, this.capacity + (cost ?? NO_RETRY_INCREMENT));
  }

  private async getMaxAttempts(): Promise<number> {
    try {
      return await this.maxAttemptsProvider();
    } catch {
      return DEFAULT_MAX_ATTEMPTS;
    }
  }

  /** Why the installed strategy would not retry, in its order of precedence; undefined when it would. */
  private refusal(
    token: RetryToken,
    errorType: RetryErrorType,
    maxAttempts: number,
  ): 'incompatible' | 'attempts' | 'capacity' | undefined {
    if (errorType !== 'THROTTLING' && errorType !== 'TRANSIENT') return 'incompatible';
    if (token.getRetryCount() + 1 >= maxAttempts) return 'attempts';
    const cost = errorType === 'THROTTLING' ? THROTTLING_RETRY_COST : RETRY_COST;
    if (this.capacity < cost) return 'capacity';
    return undefined;
  }
}

/** A client whose retry strategy can be swapped, as every SDK v3 client's resolved config allows. */
export interface RetryConfigurable {
  config: { retryStrategy: Provider<RetryStrategyV2 | RetryStrategy>; maxAttempts?: Provider<number> };
}

/**
 * Counts retries per client name across every strategy it hands out, so that one report line covers
 * a client in every container. `install` gives a client (one container's) its own strategy, as the
 * SDK gives each client its own quota; the client's retry middleware reads it on every call.
 */
export class RetryCounter {
  private readonly byClient = new Map<string, RetryStats>();

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  strategy(clientName: string, maxAttempts?: number | Provider<number>): SimulatedRetryStrategy {
    let stats = this.byClient.get(clientName);
    if (stats === undefined) {
      stats = emptyRetryStats();
      this.byClient.set(clientName, stats);
    }
    return new SimulatedRetryStrategy({ clock: this.clock, random: this.random, maxAttempts, stats });
  }

  /**
   * Without `maxAttempts`, the client's own setting decides (its maxAttempts provider: the
   * constructor option, AWS_MAX_ATTEMPTS or 3), as it does for the SDK's default strategy.
   */
  install(
    clientName: string,
    client: RetryConfigurable,
    maxAttempts?: number | Provider<number>,
  ): SimulatedRetryStrategy {
    const strategy = this.strategy(clientName, maxAttempts ?? client.config.maxAttempts);
    client.config.retryStrategy = async () => strategy;
    return strategy;
  }

  /** Counts per client name, for a run's report. */
  report(): Record<string, RetryStats> {
    return Object.fromEntries([...this.byClient].map(([name, stats]) => [name, { ...stats }]));
  }
}
