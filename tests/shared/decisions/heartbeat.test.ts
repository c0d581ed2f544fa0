import { heartbeatDue } from '../../../shared/decisions/heartbeat';

describe('heartbeatDue', () => {
  const timeout = 1800; // a tenth is 180 s
  const t0 = Date.parse('2026-01-10T12:00:00Z');

  it('sends the first heartbeat for an instance', () => {
    expect(heartbeatDue(undefined, t0, timeout)).toBe(true);
  });

  it('waits a tenth of the timeout after the last one', () => {
    expect(heartbeatDue(t0, t0 + 179_000, timeout)).toBe(false);
    expect(heartbeatDue(t0, t0 + 180_000, timeout)).toBe(true);
  });

  it('ignores a late event close to the last heartbeat, and answers one far away', () => {
    expect(heartbeatDue(t0, t0 - 60_000, timeout)).toBe(false);
    expect(heartbeatDue(t0, t0 - 3_600_000, timeout)).toBe(true);
  });
});
