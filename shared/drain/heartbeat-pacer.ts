import { heartbeatDue } from '../decisions/heartbeat';

/**
 * Remembers, for this Lambda container, when a heartbeat was last sent per instance. Best effort:
 * a cold container knows nothing and simply sends one more heartbeat.
 */
export class HeartbeatPacer {
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  isDue(instanceId: string, emittedAt: number, heartbeatTimeoutSeconds: number): boolean {
    return heartbeatDue(this.lastSent.get(instanceId), emittedAt, heartbeatTimeoutSeconds);
  }

  sent(instanceId: string, emittedAt: number): void {
    this.lastSent.delete(instanceId); // re-inserted last: the map iterates oldest first
    this.lastSent.set(instanceId, emittedAt);
    if (this.lastSent.size > this.capacity) {
      const oldest = this.lastSent.keys().next().value;
      if (oldest !== undefined) this.lastSent.delete(oldest);
    }
  }
}
