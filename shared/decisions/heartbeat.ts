/**
 * Every stopped task on a draining host is progress, and a heartbeat restarts the hook's timer.
 * Sending one per stopped task would spend Auto Scaling's single shared API bucket on nothing:
 * one per third of HeartbeatTimeout keeps the action alive, so a drain is released after between
 * 2/3 and 1 times HeartbeatTimeout without progress. (A tenth cost a heartbeat per drain in a
 * refresh of 1,000 instances, and the Auto Scaling calls of a wave then slowed every completion.)
 */
export const HEARTBEATS_PER_TIMEOUT = 3;

/**
 * Slack the hook's timer keeps after a heartbeat is due: four reconciler runs (a minute apart by
 * default), so that a drain whose last event is lost survives three failed runs in a row (in the
 * fault matrix, three crashes in a row at HeartbeatTimeout 300 let an action time out when
 * heartbeats waited for a third of it). It matters only for short timeouts.
 */
export const HEARTBEAT_SLACK_SECONDS = 240;

/** Seconds after a heartbeat when the next one is due. */
export function heartbeatEverySeconds(heartbeatTimeoutSeconds: number): number {
  return Math.max(
    30,
    Math.min(
      heartbeatTimeoutSeconds / HEARTBEATS_PER_TIMEOUT,
      heartbeatTimeoutSeconds - HEARTBEAT_SLACK_SECONDS,
    ),
  );
}

/**
 * Whether an event emitted at `emittedAt` should record a heartbeat, given the emission time of the
 * event that last sent one for the same instance in this container (undefined: none known).
 * Times in milliseconds. A late event close to the last heartbeat brings no news; one far from it
 * in either direction sends a heartbeat, which is never wrong, only one call more.
 */
export function heartbeatDue(
  lastSentAt: number | undefined,
  emittedAt: number,
  heartbeatTimeoutSeconds: number,
): boolean {
  if (lastSentAt === undefined) return true;
  return Math.abs(emittedAt - lastSentAt) >= heartbeatEverySeconds(heartbeatTimeoutSeconds) * 1000;
}
