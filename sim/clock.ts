import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Discrete-event clock: simulated seconds advance from one scheduled event to the next, so hours of
 * simulated time take as long as the work done in them. Events at the same instant run in the order
 * they were scheduled, which keeps runs reproducible.
 *
 * Actions may be async (a Lambda invocation). The clock does not await one before starting the next:
 * async actions run concurrently and interleave at their awaits. Simulated time only moves on once
 * every async action it started (an "activity") has finished or is blocked on `clock.sleep` or
 * `clock.waitFor`. Microtasks drain before a setImmediate callback, so one event-loop turn after the
 * last wake-up normally suffices; an activity that waits on anything else (a real socket, with the
 * HTTP transport) keeps the clock yielding to the event loop until it blocks or finishes, and a
 * stall guard throws when nothing changes for `stallTimeoutMs` of real time.
 */
export type Action = () => void | Promise<void>;

/**
 * Simulated second 0 as wall-clock time, for the timestamps in events and API answers: a fixed date in
 * rehearsals and tests, so that their output is the same on every run.
 */
export const SIM_EPOCH = Date.UTC(2026, 0, 10, 12, 0, 0);

let epoch = SIM_EPOCH;

/** Simulated second 0 as wall-clock time now: SIM_EPOCH, unless a served world moved it (setSimEpoch). */
export function simEpoch(): number {
  return epoch;
}

/**
 * Moves simulated second 0 (epoch milliseconds), for a world served live whose clock follows the wall
 * clock: functions and tools that run outside it measure ages with their own clock. Returns the undo.
 */
export function setSimEpoch(milliseconds: number): () => void {
  const before = epoch;
  epoch = milliseconds;
  return () => {
    epoch = before;
  };
}

/** A simulated second as the ISO string events carry. */
export function isoTime(seconds: number): string {
  return new Date(epoch + seconds * 1000).toISOString();
}

/** A simulated second as the epoch seconds the JSON protocols carry. */
export function epochSeconds(seconds: number): number {
  return epoch / 1000 + seconds;
}

/** A scheduled action, sleep or timeout that can be called off before it comes due. */
export interface Timer {
  cancel(): void;
}

export interface ClockOptions {
  /**
   * Real milliseconds the clock waits for an activity that is neither finished nor blocked on the
   * clock, with no activity changing state meanwhile, before it gives up with ClockStallError.
   */
  stallTimeoutMs?: number;
}

/** Thrown by `run`/`settle` when an activity waits on something the clock cannot see and never returns. */
export class ClockStallError extends Error {
  override readonly name = 'ClockStallError';
}

interface Scheduled {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
  inHeap: boolean;
}

/** One async action the clock started, with the context object its creator attached. */
class Activity {
  /** Sleeps and waits outstanding. While positive the activity is blocked and time may move on. */
  blocked = 0;
  done = false;
  abandoned = false;

  constructor(
    readonly clock: Clock,
    readonly context: object | undefined,
    readonly id: number,
  ) {}

  get running(): boolean {
    return !this.done && !this.abandoned && this.blocked === 0;
  }
}

const storage = new AsyncLocalStorage<Activity>();

/**
 * The context object attached to the activity the calling code runs in (`clock.spawn(fn, context)` or
 * the third argument of `at`/`after`), e.g. the Lambda container a transport call comes from.
 */
export function currentActivity<T extends object = object>(): T | undefined {
  return storage.getStore()?.context as T | undefined;
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** Event-loop turns taken with setImmediate before the clock polls with short timeouts instead. */
const IMMEDIATE_TURNS = 64;
const MAX_POLL_MS = 10;

export class Clock {
  now = 0;
  private heap: Scheduled[] = [];
  private seq = 0;
  private cancelledInHeap = 0;
  private readonly stallTimeoutMs: number;
  /** Activities neither finished, abandoned nor blocked. */
  private runningCount = 0;
  /** Something woke up since the last event-loop turn: its continuation has not run yet. */
  private dirty = false;
  /** Bumped on every change of an activity's state, for the stall guard. */
  private changes = 0;
  private readonly live = new Set<Activity>();
  private activitySeq = 0;
  /** Contexts whose due wake-ups are held back (a frozen Lambda container), with what they hold. */
  private readonly suspended = new Map<object, (() => void)[]>();
  private readonly abandonedContexts = new WeakSet<object>();
  private failure: { error: unknown } | undefined;
  private runningLoop = false;

  constructor(options: ClockOptions = {}) {
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  }

  /** Runs `action` `delay` seconds from now, as an activity carrying `context` if it is async. */
  after(delay: number, action: Action, context?: object): Timer {
    return this.at(this.now + Math.max(0, delay), action, context);
  }

  at(time: number, action: Action, context?: object): Timer {
    return this.schedule(time, () => void this.start(action, context, true));
  }

  /** Scheduled items not yet due (sleeps included, cancelled ones not). */
  get pending(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Activities started and not finished (blocked ones included, abandoned ones not). */
  get activities(): number {
    let count = 0;
    for (const activity of this.live) if (!activity.abandoned) count++;
    return count;
  }

  /**
   * Something settled a promise an activity may wait on (through `waitFor`) from a plain scheduled
   * action: let the waiting activity run before time moves on.
   */
  touch(): void {
    this.dirty = true;
  }

  /** True when every activity is finished or blocked on the clock, so time may move on. */
  idle(): boolean {
    return this.runningCount === 0 && !this.dirty;
  }

  /**
   * Starts `fn` now as an activity carrying `context` (see `currentActivity`). The returned promise
   * settles with `fn`; errors are the caller's to handle. Awaiting it from inside another activity
   * needs `waitFor`, or that activity counts as running and the clock waits for it.
   */
  spawn<T>(fn: () => T | Promise<T>, context?: object): Promise<T> {
    try {
      return Promise.resolve(this.start(fn, context, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resolves when simulated time reaches now + seconds; `Infinity` never does, and counts as blocked.
   * The sleep of an abandoned activity never resolves; the sleep of a suspended one resolves when it
   * is resumed. A sleep the activity no longer awaits still counts as blocking it until it comes due.
   */
  sleep(seconds: number): Promise<void> {
    if (Number.isNaN(seconds)) throw new RangeError('clock.sleep: seconds is NaN');
    const activity = this.current();
    if (activity !== undefined && this.isAbandoned(activity)) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve) => {
      if (activity !== undefined) this.update(activity, () => activity.blocked++);
      if (seconds === Infinity) return;
      const wake = (): void => {
        if (activity !== undefined && this.isAbandoned(activity)) return;
        const context = activity?.context;
        const held = context === undefined ? undefined : this.suspended.get(context);
        if (held !== undefined) {
          held.push(wake);
          return;
        }
        if (activity !== undefined) this.update(activity, () => activity.blocked--);
        this.dirty = true;
        resolve();
      };
      this.schedule(this.now + Math.max(0, seconds), wake);
    });
  }

  /**
   * Awaits `promise` with the calling activity counted as blocked meanwhile: for promises that
   * something scheduled on this clock settles (another activity's result, a queue). Outside an
   * activity it returns the promise as it is.
   */
  waitFor<T>(promise: PromiseLike<T>): Promise<T> {
    const activity = this.current();
    if (activity === undefined || activity.done) return Promise.resolve(promise);
    this.update(activity, () => activity.blocked++);
    const unblock = (): void => {
      this.update(activity, () => activity.blocked--);
      this.dirty = true;
    };
    return Promise.resolve(promise).then(
      (value) => {
        unblock();
        return value;
      },
      (error: unknown) => {
        unblock();
        throw error;
      },
    );
  }

  /**
   * Gives up on every activity carrying `context` (a timed-out Lambda container): the clock no longer
   * waits for them, their pending and future sleeps never resolve.
   */
  abandon(context: object): void {
    this.abandonedContexts.add(context);
    this.suspended.delete(context);
    for (const activity of this.live) {
      if (activity.context !== context) continue;
      this.update(activity, () => (activity.abandoned = true));
      this.live.delete(activity);
    }
  }

  /** Holds back the wake-ups of activities carrying `context` (a frozen container) until `resume`. */
  suspend(context: object): void {
    if (!this.suspended.has(context) && !this.abandonedContexts.has(context)) this.suspended.set(context, []);
  }

  /** Lets the wake-ups held for `context` happen now, in the order they came due. */
  resume(context: object): void {
    const held = this.suspended.get(context);
    this.suspended.delete(context);
    for (const wake of held ?? []) wake();
  }

  /** Waits until every activity is finished or blocked on the clock (see the class comment). */
  async settle(): Promise<void> {
    let seen = this.changes;
    let since = Date.now();
    let turns = 0;
    while (!this.idle()) {
      this.dirty = false;
      if (turns < IMMEDIATE_TURNS) await new Promise<void>((resolve) => setImmediate(resolve));
      else
        await new Promise<void>((resolve) =>
          setTimeout(resolve, Math.min(MAX_POLL_MS, turns - IMMEDIATE_TURNS + 1)),
        );
      turns++;
      if (this.changes !== seen) {
        seen = this.changes;
        since = Date.now();
        turns = 0;
      } else if (!this.idle() && Date.now() - since > this.stallTimeoutMs) {
        throw new ClockStallError(
          `simulated time is stuck at second ${this.now}: ${this.runningCount} activit${this.runningCount === 1 ? 'y has' : 'ies have'} ` +
            `neither finished nor blocked on clock.sleep/clock.waitFor for ${this.stallTimeoutMs} ms of real time ` +
            `(${this.describeRunning()}). An activity that awaits a promise settled by the simulation must await it through clock.waitFor.`,
        );
      }
    }
  }

  /**
   * Runs events in time order up to `until`, or until `stop()` returns true. Before each step the
   * clock settles (see `settle`); an async action that rejects ends the run with its error.
   */
  async run(until: number, stop: () => boolean = () => false): Promise<void> {
    if (this.runningLoop) throw new Error('Clock.run is already running');
    this.runningLoop = true;
    try {
      for (;;) {
        if (!this.idle()) await this.settle();
        this.rethrowFailure();
        if (stop()) return;
        const next = this.peek();
        if (next === undefined || next.at > until) break;
        this.pop();
        this.now = next.at;
        next.fire();
      }
      // Nothing more happens before `until`: time still passes.
      if (Number.isFinite(until)) this.now = Math.max(this.now, until);
    } finally {
      this.runningLoop = false;
    }
  }

  private current(): Activity | undefined {
    const activity = storage.getStore();
    return activity?.clock === this ? activity : undefined;
  }

  /** Runs `fn` as an activity; a synchronous result or throw comes back as it is. */
  private start<T>(fn: () => T | Promise<T>, context: object | undefined, isAction: boolean): T | Promise<T> {
    const activity = new Activity(this, context, this.activitySeq++);
    if (context !== undefined && this.abandonedContexts.has(context)) activity.abandoned = true;
    else {
      this.runningCount++;
      this.live.add(activity);
    }
    this.changes++;
    let result: T | Promise<T>;
    try {
      result = storage.run(activity, fn);
    } catch (error) {
      this.finish(activity);
      throw error;
    }
    if (!isThenable(result)) {
      this.finish(activity);
      return result;
    }
    this.dirty = true;
    const settled = Promise.resolve(result);
    settled.then(
      () => this.finish(activity),
      (error: unknown) => {
        this.finish(activity);
        if (isAction) this.failure ??= { error };
      },
    );
    return settled;
  }

  private isAbandoned(activity: Activity): boolean {
    return (
      activity.abandoned || (activity.context !== undefined && this.abandonedContexts.has(activity.context))
    );
  }

  private finish(activity: Activity): void {
    this.update(activity, () => (activity.done = true));
    this.live.delete(activity);
  }

  /** Applies a change to an activity and keeps the count of running ones. */
  private update(activity: Activity, change: () => void): void {
    const before = activity.running;
    change();
    const after = activity.running;
    if (before !== after) this.runningCount += after ? 1 : -1;
    this.changes++;
  }

  private describeRunning(): string {
    const names: string[] = [];
    for (const activity of this.live) {
      if (!activity.running) continue;
      const context = activity.context as { id?: unknown; name?: unknown } | undefined;
      const label = context?.id ?? context?.name ?? context?.constructor?.name;
      names.push(`activity ${activity.id}${label === undefined ? '' : ` (${String(label)})`}`);
      if (names.length === 5) break;
    }
    return names.join(', ');
  }

  private rethrowFailure(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    throw failure.error;
  }

  private schedule(time: number, fire: () => void): Timer {
    const item: Scheduled = {
      at: Math.max(time, this.now),
      seq: this.seq++,
      fire,
      cancelled: false,
      inHeap: true,
    };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent] as Scheduled)) break;
      heap[i] = heap[parent] as Scheduled;
      i = parent;
    }
    heap[i] = item;
    return {
      cancel: () => {
        if (item.cancelled) return;
        item.cancelled = true;
        if (item.inHeap) this.cancelledInHeap++;
      },
    };
  }

  /** The next item due, dropping cancelled ones. */
  private peek(): Scheduled | undefined {
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || !next.cancelled) return next;
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private pop(): void {
    const heap = this.heap;
    (heap[0] as Scheduled).inHeap = false;
    const last = heap.pop() as Scheduled;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right] as Scheduled, heap[left] as Scheduled) ? right : left;
      if (!before(heap[child] as Scheduled, last)) break;
      heap[i] = heap[child] as Scheduled;
      i = child;
    }
    heap[i] = last;
  }
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Seeded pseudo-random numbers (mulberry32): the same seed gives the same run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 16).toString(16);
    return out;
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
