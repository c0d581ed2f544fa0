import type { Context } from 'aws-lambda';
import { type Clock, currentActivity, type Random, type Timer } from './clock';

/**
 * A Lambda function in simulated time, with its execution environments ("containers").
 *
 * - Each container is a cold start of the function's code: `factory()` is called once per container,
 *   so module state (SDK clients, caches, pacers) belongs to one container. The cold start takes
 *   `coldStartSeconds` of simulated time before the handler runs.
 * - An invocation takes the most recently used idle container, or starts a new one while fewer than
 *   `concurrency` are busy. Containers run at once and interleave at their awaits (see Clock).
 * - An invocation that runs past `timeoutSeconds` fails with a timeout and its container is
 *   discarded (as is one that crashes, a fault a run can ask for: the runtime exits half-way, say out
 *   of memory, after some of its calls took effect): `dead` is set, the clock abandons it, and its sleeps never resolve, so its in-flight
 *   work has no further effect. Between invocations a container is `frozen`: the wake-ups of work it
 *   left running are held until its next invocation, as Lambda freezes an idle environment.
 * - Asynchronous invocation (SNS, EventBridge) goes through an internal queue: events wait there while
 *   the function is at its concurrency limit; a failed event is retried twice, one and then two
 *   minutes later, then goes to the failure destination (`stats.failed`). Events older than
 *   `maxEventAgeSeconds` go there too.
 * - Synchronous invocation (an event source mapping) is refused at the concurrency limit
 *   (TooManyRequestsException); the caller retries.
 *
 * Timing is counted from the start of the handler: the cold start is not part of the timeout, as
 * Lambda reports Init Duration apart from Duration.
 */

export type LambdaHandler = (event: unknown, context: Context) => unknown;

export interface LambdaOptions {
  name: string;
  /** Called once per container: evaluates the function's code anew and returns its handler. */
  factory: () => LambdaHandler;
  /** Lambda's Timeout, 1-900 s. */
  timeoutSeconds: number;
  /** Reserved concurrency: containers busy at once. */
  concurrency: number;
  /** Simulated seconds from the start of a new container until its handler runs. */
  coldStartSeconds: number;
  /** Retries of a failed asynchronous event (EventInvokeConfig MaximumRetryAttempts, 0-2). Default 2. */
  maximumRetryAttempts?: number;
  /** EventInvokeConfig MaximumEventAgeInSeconds, 60-21600. Default 21600. */
  maxEventAgeSeconds?: number;
  /**
   * An idle container older than this is reclaimed; the next invocation starts a new one. Lambda does
   * not document the figure; observed reuse spans minutes. Default 600.
   */
  maxIdleSeconds?: number;
  /** For request ids and faults; without it ids count up. */
  random?: Random;
  /**
   * A fault: the share of invocations whose runtime exits half-way (Runtime.ExitError), at a moment
   * drawn within `crashWithinSeconds` of handler time (an invocation that ends sooner is spared).
   * Calls made before the crash took effect; nothing after it does. Needs `random`. Default 0.
   */
  crashShare?: number;
  crashWithinSeconds?: number;
}

export interface LambdaStats {
  /** Handler runs started, asynchronous retries and synchronous invokes included. */
  invocations: number;
  /** Invocations that threw, timed out or failed their cold start. */
  errors: number;
  /** Events that failed every attempt (or grew too old) and went to the failure destination. */
  failed: FailedEvent[];
  /** Events lost on the way to the function before Lambda's queue took them. */
  dropped: number;
  timeouts: number;
  /** Invocations whose runtime exited half-way (the crash fault). */
  crashes: number;
  coldStarts: number;
  /** Synchronous invokes refused at the concurrency limit. */
  throttled: number;
  /** Asynchronous events that had to wait in the queue for a free container. */
  queued: number;
  /** Most containers busy at once. */
  peakConcurrency: number;
}

export interface FailedEvent {
  event: unknown;
  error: string;
  attempts: number;
  /** Simulated second the event reached the failure destination. */
  at: number;
}

export type InvokeResult =
  | { ok: true; result: unknown }
  | { ok: false; error: Error; reason: 'throttled' | 'timeout' | 'crash' | 'function-error' | 'init-error' };

const RETRY_DELAYS = [60, 120];
const DEFAULT_MAX_EVENT_AGE = 21600;
const DEFAULT_MAX_IDLE = 600;

/** One execution environment. Transports can find it with `currentContainer()` and refuse calls from a dead one. */
export class LambdaContainer {
  handler: LambdaHandler | undefined;
  busy = false;
  /** Not running an invocation (idle between invocations, or dead). */
  frozen = true;
  /** Timed out or reclaimed: nothing it does may take effect any more. */
  dead = false;
  invocations = 0;
  idleSince = 0;

  constructor(
    readonly id: string,
    readonly functionName: string,
    readonly createdAt: number,
  ) {}
}

/** The container the calling code runs in, if it runs inside a simulated Lambda invocation. */
export function currentContainer(): LambdaContainer | undefined {
  const activity = currentActivity();
  return activity instanceof LambdaContainer ? activity : undefined;
}

interface QueuedEvent {
  event: unknown;
  attempt: number;
  firstQueuedAt: number;
}

export class LambdaFunction {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly concurrency: number;
  readonly stats: LambdaStats = {
    invocations: 0,
    errors: 0,
    failed: [],
    dropped: 0,
    timeouts: 0,
    crashes: 0,
    coldStarts: 0,
    throttled: 0,
    queued: 0,
    peakConcurrency: 0,
  };
  private readonly options: LambdaOptions;
  /** Idle containers, most recently used last. */
  private readonly idle: LambdaContainer[] = [];
  private readonly queue: QueuedEvent[] = [];
  private busy = 0;
  private containerSeq = 0;
  private requestSeq = 0;

  constructor(
    private readonly clock: Clock,
    options: LambdaOptions,
  ) {
    if (!(options.timeoutSeconds > 0 && options.timeoutSeconds <= 900))
      throw new Error(`${options.name}: Timeout must be 1-900 seconds, got ${options.timeoutSeconds}`);
    if (!(options.concurrency >= 1)) throw new Error(`${options.name}: concurrency must be at least 1`);
    this.options = options;
    this.name = options.name;
    this.timeoutSeconds = options.timeoutSeconds;
    this.concurrency = options.concurrency;
  }

  /** The failure destination of asynchronous invocation. */
  get failureDestination(): readonly FailedEvent[] {
    return this.stats.failed;
  }

  /** Containers alive: busy ones and idle warm ones. */
  get containers(): number {
    return this.busy + this.idle.length;
  }

  /** Asynchronous events waiting for a free container. */
  get queueLength(): number {
    return this.queue.length;
  }

  /** Asynchronous invocation (InvocationType Event): queued, retried, then sent to the failure destination. */
  enqueue(event: unknown): void {
    this.queue.push({ event, attempt: 0, firstQueuedAt: this.clock.now });
    if (this.busy >= this.concurrency) this.stats.queued++;
    this.dispatch();
  }

  /**
   * Synchronous invocation (RequestResponse), as an event source mapping makes it. Refused at the
   * concurrency limit. Awaiting it from inside another activity counts that activity as blocked.
   */
  invoke(event: unknown): Promise<InvokeResult> {
    const container = this.take();
    if (container === undefined) {
      this.stats.throttled++;
      return Promise.resolve({
        ok: false,
        error: named('TooManyRequestsException', 'Rate Exceeded.'),
        reason: 'throttled',
      });
    }
    return this.clock.waitFor(new Promise<InvokeResult>((resolve) => this.run(container, event, resolve)));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0] as QueuedEvent;
      const maxAge = this.options.maxEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE;
      if (this.clock.now - next.firstQueuedAt > maxAge) {
        this.queue.shift();
        this.fail(next, `EventAgeExceeded: older than ${maxAge} s`);
        continue;
      }
      const container = this.take();
      if (container === undefined) return;
      this.queue.shift();
      this.run(container, next.event, (outcome) => {
        if (outcome.ok) return;
        const retries = this.options.maximumRetryAttempts ?? RETRY_DELAYS.length;
        const delay = RETRY_DELAYS[next.attempt];
        if (delay === undefined || next.attempt >= retries) {
          this.fail(next, `${outcome.error.name}: ${outcome.error.message}`);
          return;
        }
        this.clock.after(delay, () => {
          this.queue.push({ ...next, attempt: next.attempt + 1 });
          this.dispatch();
        });
      });
    }
  }

  private fail(queued: QueuedEvent, error: string): void {
    this.stats.failed.push({ event: queued.event, error, attempts: queued.attempt + 1, at: this.clock.now });
  }

  /** A container for one invocation, or undefined at the concurrency limit. */
  private take(): LambdaContainer | undefined {
    if (this.busy >= this.concurrency) return undefined;
    const maxIdle = this.options.maxIdleSeconds ?? DEFAULT_MAX_IDLE;
    // The least recently used are at the front: reclaim those idle too long.
    while (this.idle.length > 0 && this.clock.now - (this.idle[0] as LambdaContainer).idleSince > maxIdle) {
      this.discard(this.idle.shift() as LambdaContainer);
    }
    const container =
      this.idle.pop() ??
      new LambdaContainer(`${this.name}#${++this.containerSeq}`, this.name, this.clock.now);
    container.busy = true;
    container.frozen = false;
    this.busy++;
    this.stats.peakConcurrency = Math.max(this.stats.peakConcurrency, this.busy);
    return container;
  }

  private run(container: LambdaContainer, event: unknown, done: (outcome: InvokeResult) => void): void {
    const { clock } = this;
    this.stats.invocations++;
    container.invocations++;
    clock.resume(container);
    let finished = false;
    let timer: Timer | undefined;
    let crash: Timer | undefined;
    let deadline = Infinity;
    let phase: 'init' | 'handler' = 'init';
    const finish = (outcome: InvokeResult): void => {
      if (finished) return;
      finished = true;
      timer?.cancel();
      crash?.cancel();
      this.busy--;
      if (outcome.ok) this.release(container);
      else {
        this.stats.errors++;
        if (outcome.reason === 'timeout') this.stats.timeouts++;
        if (outcome.reason === 'crash') this.stats.crashes++;
        // A timeout, a crash or a failed cold start ends the container; a handler error leaves it warm.
        if (outcome.reason === 'function-error') this.release(container);
        else this.discard(container);
      }
      // The invoker (an event source) waits on this outcome: it sees it at this simulated second.
      clock.touch();
      done(outcome);
      this.dispatch();
    };
    const context = this.context(() => deadline);
    clock
      .spawn(async () => {
        if (container.handler === undefined) {
          this.stats.coldStarts++;
          container.handler = this.options.factory();
          if (this.options.coldStartSeconds > 0) await clock.sleep(this.options.coldStartSeconds);
        }
        phase = 'handler';
        deadline = clock.now + this.timeoutSeconds;
        timer = clock.after(this.timeoutSeconds, () =>
          finish({
            ok: false,
            error: named(
              'Sandbox.Timedout',
              `Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`,
            ),
            reason: 'timeout',
          }),
        );
        const crashAt = this.crashAfter();
        if (crashAt !== undefined) {
          crash = clock.after(crashAt, () =>
            finish({
              ok: false,
              error: named(
                'Runtime.ExitError',
                'RequestId: simulated Error: Runtime exited with error: signal: killed',
              ),
              reason: 'crash',
            }),
          );
        }
        return await container.handler(event, context);
      }, container)
      .then(
        (result) => finish({ ok: true, result }),
        (error: unknown) =>
          finish({
            ok: false,
            error: asError(error),
            reason: phase === 'init' ? 'init-error' : 'function-error',
          }),
      );
  }

  /** Seconds of handler time after which this invocation crashes, if the crash fault picks it. */
  private crashAfter(): number | undefined {
    const { crashShare = 0, crashWithinSeconds = 1, random } = this.options;
    if (crashShare <= 0 || random === undefined || !random.chance(crashShare)) return undefined;
    return random.between(0, crashWithinSeconds);
  }

  private release(container: LambdaContainer): void {
    container.busy = false;
    container.frozen = true;
    container.idleSince = this.clock.now;
    this.clock.suspend(container);
    this.idle.push(container);
  }

  private discard(container: LambdaContainer): void {
    container.busy = false;
    container.frozen = true;
    container.dead = true;
    this.clock.abandon(container);
  }

  private context(deadline: () => number): Context {
    const requestId =
      this.options.random?.uuid() ?? `00000000-0000-4000-a000-${String(++this.requestSeq).padStart(12, '0')}`;
    const clock = this.clock;
    const unsupported = (): never => {
      throw new Error('callback-style completion is not supported; return a promise');
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${this.name}`,
      memoryLimitInMB: '128',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.name}`,
      logStreamName: 'simulated',
      getRemainingTimeInMillis: () => Math.max(0, Math.round((deadline() - clock.now) * 1000)),
      done: unsupported,
      fail: unsupported,
      succeed: unsupported,
    };
  }
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
