/**
 * Discrete-event clock: simulated seconds advance from one scheduled event to the next, so hours of
 * simulated time take as long as the work done in them. Events at the same instant run in the order
 * they were scheduled, which keeps runs reproducible.
 */
export type Action = () => void | Promise<void>;

/** Simulated second 0 as wall-clock time, for the timestamps in events and API answers. */
export const SIM_EPOCH = Date.UTC(2026, 0, 10, 12, 0, 0);

/** A simulated second as the ISO string events carry. */
export function isoTime(seconds: number): string {
  return new Date(SIM_EPOCH + seconds * 1000).toISOString();
}

/** A simulated second as the epoch seconds the JSON protocols carry. */
export function epochSeconds(seconds: number): number {
  return SIM_EPOCH / 1000 + seconds;
}

interface Scheduled {
  at: number;
  seq: number;
  action: Action;
}

export class Clock {
  now = 0;
  private heap: Scheduled[] = [];
  private seq = 0;

  /** Runs `action` `delay` seconds from now. */
  after(delay: number, action: Action): void {
    this.at(this.now + Math.max(0, delay), action);
  }

  at(time: number, action: Action): void {
    const item = { at: Math.max(time, this.now), seq: this.seq++, action };
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
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs events in time order up to `until`, or until `stop()` returns true. */
  async run(until: number, stop: () => boolean = () => false): Promise<void> {
    while (this.heap.length > 0 && !stop()) {
      const next = this.heap[0] as Scheduled;
      if (next.at > until) break;
      this.pop();
      this.now = next.at;
      const result = next.action();
      if (result !== undefined) await result;
    }
    // Nothing more happens before `until`: time still passes.
    if (!stop() && Number.isFinite(until)) this.now = Math.max(this.now, until);
  }

  private pop(): void {
    const heap = this.heap;
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
