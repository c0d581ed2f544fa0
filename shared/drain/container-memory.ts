/**
 * What one Lambda container remembers between invocations. Best effort and never required for
 * correctness: a cold container knows nothing and pays one more read or one more heartbeat.
 */

/** A map that forgets its oldest entries beyond a capacity, so a long-lived container stays small. */
class BoundedMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, value: V): void {
    this.entries.delete(key); // re-inserted last: the map iterates oldest first
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

/** When a heartbeat was last recorded per instance, by the time of the event that caused it. */
export class HeartbeatPacer {
  private readonly lastSent: BoundedMap<number>;

  constructor(capacity = 10_000) {
    this.lastSent = new BoundedMap(capacity);
  }

  lastSentAt(instanceId: string): number | undefined {
    return this.lastSent.get(instanceId);
  }

  sent(instanceId: string, emittedAt: number): void {
    this.lastSent.set(instanceId, emittedAt);
  }
}

/**
 * Tasks this container has seen reach STOPPED, with the version the event carried. STOPPED is
 * final, so remembering it is always right, and it spares a DescribeTasks for each of them when
 * a later event asks whether their host is empty.
 */
export class StoppedTasks {
  private readonly versions: BoundedMap<number | undefined>;

  constructor(capacity = 50_000) {
    this.versions = new BoundedMap(capacity);
  }

  remember(taskArn: string, version: number | undefined): void {
    const known = this.versions.get(taskArn);
    if (known === undefined || (version !== undefined && version > known))
      this.versions.set(taskArn, version);
  }

  has(taskArn: string): boolean {
    return this.versions.has(taskArn);
  }

  version(taskArn: string): number | undefined {
    return this.versions.get(taskArn);
  }
}

/**
 * Per container instance, the tasks that were still stopping when this container last listed them,
 * while no task on it wanted to run. ECS places no task on a DRAINING instance, so from then on the
 * tasks that can hold it are a subset of that list: later checks describe those few tasks, a
 * hundred per call over the whole batch, instead of listing each instance's tasks again. Forgotten
 * as soon as the instance is seen with a task that wants to run, or not DRAINING.
 */
export class StoppingTasks {
  private readonly lists: BoundedMap<string[]>;

  constructor(capacity = 10_000) {
    this.lists = new BoundedMap(capacity);
  }

  get(containerInstanceArn: string): string[] | undefined {
    return this.lists.get(containerInstanceArn);
  }

  set(containerInstanceArn: string, taskArns: string[]): void {
    this.lists.set(containerInstanceArn, taskArns);
  }

  forget(containerInstanceArn: string): void {
    this.lists.delete(containerInstanceArn);
  }
}

/** A task an event reported as told to stop, as that event told it. */
export interface AnnouncedStop {
  taskArn: string;
  version: number | undefined;
  emittedAt: number;
  stoppedByDrain: boolean;
}

/**
 * Per container instance, the tasks events reported as told to stop whose STOPPED event this
 * container has not seen: each will send one. Such an event decides nothing by itself (its host is
 * not read); it spares the host a ListTasks when a STOPPED event of another task asks whether the
 * host is empty. Stale entries cost one DescribeTasks, never a wrong completion.
 */
export class AnnouncedStops {
  private readonly byInstance: BoundedMap<Map<string, AnnouncedStop>>;

  constructor(capacity = 10_000) {
    this.byInstance = new BoundedMap(capacity);
  }

  announce(containerInstanceArn: string, stop: AnnouncedStop): void {
    const tasks = this.byInstance.get(containerInstanceArn) ?? new Map<string, AnnouncedStop>();
    const known = tasks.get(stop.taskArn);
    if (known === undefined || (stop.version ?? -1) > (known.version ?? -1)) tasks.set(stop.taskArn, stop);
    this.byInstance.set(containerInstanceArn, tasks);
  }

  stopped(containerInstanceArn: string, taskArn: string): void {
    const tasks = this.byInstance.get(containerInstanceArn);
    tasks?.delete(taskArn);
    if (tasks?.size === 0) this.byInstance.delete(containerInstanceArn);
  }

  of(containerInstanceArn: string): AnnouncedStop[] {
    return [...(this.byInstance.get(containerInstanceArn)?.values() ?? [])];
  }
}

/**
 * The reconciler's turns at listing the tasks of hosts: a run may make only so many lists, so the
 * hosts this container listed longest ago (or never) go first, the oldest drains among equals.
 * However many older drains never finish, every drain gets its turn within a few runs.
 */
export class ListingTurns {
  private readonly listedAt: BoundedMap<number>;
  private left = 0;

  constructor(capacity = 10_000) {
    this.listedAt = new BoundedMap(capacity);
  }

  /** A new run, which may list `count` hosts. */
  startRun(count: number): void {
    this.left = count;
  }

  /** Of these hosts (each with its key and drain start), those whose turn it is, now marked listed. */
  take<T extends { key: string; drainStartedAt: number }>(hosts: T[], now: number): T[] {
    const order = (host: T) => this.listedAt.get(host.key) ?? -Infinity;
    const ranked = [...hosts].sort((a, b) => order(a) - order(b) || a.drainStartedAt - b.drainStartedAt);
    const chosen = ranked.slice(0, Math.max(0, this.left));
    this.left -= chosen.length;
    for (const host of chosen) this.listedAt.set(host.key, now);
    return chosen;
  }
}
