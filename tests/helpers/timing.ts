import { DRAIN_POLICY_DEFAULTS } from '../../shared/config';
import type { DecisionPath } from '../../shared/decisions/host';
import { autoScalingPacer, ecsReadPacer, Pacer, type Priority, type Timing } from '../../shared/aws/pacer';

export const PACER_EPOCH = Date.parse('2026-01-10T12:00:00Z');

/**
 * A clock that moves only when a pacer sleeps on it, and then at once: the pacer spaces its calls
 * in simulated time, and a test never waits for real. `sleeps` tells how long it would have waited.
 */
export class InstantTiming implements Timing {
  readonly sleeps: number[] = [];

  constructor(private time = PACER_EPOCH) {}

  now(): number {
    return this.time;
  }

  async sleep(milliseconds: number): Promise<void> {
    this.sleeps.push(milliseconds);
    this.time += milliseconds;
  }
}

/** A clock the test moves by hand: a sleeper wakes only once `advance` has passed its time. */
export class ManualTiming implements Timing {
  private time = PACER_EPOCH;
  private sleepers: { until: number; wake: () => void }[] = [];

  now(): number {
    return this.time;
  }

  sleep(milliseconds: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.time + milliseconds, wake }));
  }

  /** Moves the clock on, wakes whoever slept long enough, and lets the woken code run. */
  async advance(milliseconds: number): Promise<void> {
    this.time += milliseconds;
    const due = this.sleepers.filter((sleeper) => sleeper.until <= this.time);
    this.sleepers = this.sleepers.filter((sleeper) => sleeper.until > this.time);
    for (const sleeper of due) sleeper.wake();
    await settle();
  }
}

/** Lets every promise that can settle now do so (one turn of the real event loop). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A pacer that notes the priority of every call it paces. */
export class RecordingPacer extends Pacer {
  readonly priorities: Priority[] = [];

  override take(priority: Priority = 'urgent'): Promise<void> {
    this.priorities.push(priority);
    return super.take(priority);
  }
}

/** The pacers of the functions' own wiring (same rates and bursts), on a clock that never waits. */
export function instantPacers(timing: Timing = new InstantTiming(), path: DecisionPath = 'event') {
  return {
    ecsReads: ecsReadPacer(path, DRAIN_POLICY_DEFAULTS.ecsReadsPerSecond, timing),
    autoScaling: autoScalingPacer(path, timing),
  };
}

/**
 * Runs `work` under jest's fake timers, firing each timer it sets as soon as it is set, until it
 * settles: whatever the code waits for passes at once, however often it waits.
 */
export async function withFakeTimers<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const note = () => {
    settled = true;
  };
  work.then(note, note);
  while (!settled) await jest.advanceTimersToNextTimerAsync();
  return work;
}
