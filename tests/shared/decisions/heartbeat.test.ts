import {
  HEARTBEATS_PER_TIMEOUT,
  heartbeatDue,
  heartbeatEverySeconds,
} from '../../../shared/decisions/heartbeat';

describe('heartbeatDue', () => {
  const timeout = 1800; // a third is 600 s
  const t0 = Date.parse('2026-01-10T12:00:00Z');

  it('paces three heartbeats per HeartbeatTimeout, so a drain without progress is released after 2/3 to 1 x the timeout', () => {
    expect(HEARTBEATS_PER_TIMEOUT).toBe(3);
  });

  it('sends the first heartbeat for an instance', () => {
    expect(heartbeatDue(undefined, t0, timeout)).toBe(true);
  });

  it('waits a third of the timeout after the last one', () => {
    expect(heartbeatDue(t0, t0 + 599_000, timeout)).toBe(false);
    expect(heartbeatDue(t0, t0 + 600_000, timeout)).toBe(true);
  });

  it('ignores a late event close to the last heartbeat, and answers one far away', () => {
    expect(heartbeatDue(t0, t0 - 599_000, timeout)).toBe(false);
    expect(heartbeatDue(t0, t0 - 3_600_000, timeout)).toBe(true);
  });

  it('leaves the hook four reconciler runs of slack when HeartbeatTimeout is short', () => {
    // 300 s (the template's minimum): due after 60 s, not 100, so three failed runs in a row are survived.
    expect(heartbeatEverySeconds(300)).toBe(60);
    expect(heartbeatDue(t0, t0 + 60_000, 300)).toBe(true);
    expect(heartbeatDue(t0, t0 + 59_000, 300)).toBe(false);
    // Long timeouts keep a third: 600 s at 1800.
    expect(heartbeatEverySeconds(1800)).toBe(600);
    expect(heartbeatEverySeconds(30)).toBe(30);
  });
});
