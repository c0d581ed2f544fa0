import { openTransport, type Transport } from '../../sim/controller';
import { NO_DELIVERY_FAULTS } from '../../sim/delivery';
import {
  CELLS,
  type CellResult,
  formatMatrix,
  NO_FAULTS_INJECTED,
  runCell,
  SMALL,
} from '../../sim/reliability';

let transport: Transport;
let close: () => Promise<void>;
const results = new Map<string, CellResult>();

beforeAll(async () => {
  ({ transport, close } = await openTransport('in-process'));
  for (const cell of CELLS) results.set(cell.name, await runCell(cell, SMALL, transport));
}, 120_000);
afterAll(() => close());

const cell = (name: string): CellResult => {
  const result = results.get(name);
  if (result === undefined) throw new Error(`no cell ${name}`);
  return result;
};

describe('the fault matrix (every cell, one seed, the six-instance demo)', () => {
  it.each(CELLS.map((c) => c.name))(
    '%s: nothing killed outside a deadline, no needless timeout, no floor broken with room',
    (name) => {
      expect(cell(name).violations).toEqual([]);
    },
  );

  it('injected every fault it names: a cell whose fault never happened proves nothing', () => {
    expect(cell('events-lost-10').faultsInjected.eventsDropped).toBeGreaterThan(0);
    expect(cell('events-lost-30').faultsInjected.eventsDropped).toBeGreaterThan(
      cell('events-lost-10').faultsInjected.eventsDropped,
    );
    expect(cell('notifications-lost-50').faultsInjected.eventsDropped).toBeGreaterThan(0);
    expect(cell('duplicates-reordered').faultsInjected.eventsDuplicated).toBeGreaterThan(0);
    expect(cell('api-faults-10').faultsInjected.throttledCalls).toBeGreaterThan(0);
    expect(cell('responses-lost-10').faultsInjected.lostResponses).toBeGreaterThan(0);
    expect(cell('handler-crashes-10').faultsInjected.crashes).toBeGreaterThan(0);
    // Skipped runs are one in twenty: too rare for one short run; tests/sim/world.test.ts shows them.
    expect(cell('schedule-unreliable').faultsInjected.scheduledRunsDuplicated).toBeGreaterThan(0);
    expect(cell('notifications-lost-crashes').faultsInjected.crashes).toBeGreaterThan(0);
    for (const fault of [
      'eventsDropped',
      'eventsDuplicated',
      'lostResponses',
      'throttledCalls',
      'crashes',
    ] as const)
      expect({ fault, n: cell('everything-at-once').faultsInjected[fault] > 0 }).toEqual({ fault, n: true });
    expect(cell('no-fault').faultsInjected).toEqual(NO_FAULTS_INJECTED);
  });

  it('completes every action itself where the cluster can drain', () => {
    for (const { name, scenario } of CELLS.filter((c) => c.canDrain)) {
      // The fleet cell refreshes its own nine instances in three groups.
      const instances = scenario?.fleet === undefined ? SMALL.instances : 9;
      expect({ name, ...cell(name).actions }).toEqual({
        name,
        completedByController: instances,
        timedOut: 0,
      });
    }
  });

  it('tells the operator what happened: lost notifications, and each deadline with what it did', () => {
    expect(cell('no-fault')).toMatchObject({ alerts: 0, deadlinesReached: 0 });
    expect(cell('notifications-lost-50').alertsByKey['lost-notification']).toBeGreaterThan(0);
    for (const name of ['standalone-continue', 'standalone-stop-tasks', 'standalone-keep-waiting']) {
      expect({ name, deadlines: cell(name).deadlinesReached }).toEqual({ name, deadlines: 1 });
      expect({ name, alerts: cell(name).alertsByKey.deadline }).toEqual({ name, alerts: 1 });
    }
    expect(cell('agent-disconnects').deadlinesReached).toBe(SMALL.instances);
  });

  it('kills only what a deadline decided: continue lets the task go, stop-tasks stops it, keep-waiting holds it', () => {
    expect(cell('standalone-continue')).toMatchObject({ tasksKilled: 1, tasksKilledByDeadline: 1 });
    expect(cell('standalone-stop-tasks')).toMatchObject({ tasksKilled: 0 });
    // Held by heartbeats until the hook's global timeout, which the policy accepts.
    expect(cell('standalone-keep-waiting').actions.timedOut).toBe(1);
    expect(cell('standalone-keep-waiting').tasksKilledByDeadline).toBe(1);
    expect(cell('agent-disconnects').tasksKilled).toBe(cell('agent-disconnects').tasksKilledByDeadline);
  });

  it('prints one line per cell with its verdict', () => {
    const table = formatMatrix([...results.values()]);
    expect(table.split('\n')).toHaveLength(CELLS.length + 1);
    expect(table).toMatch(/^standalone-keep-waiting .* yes$/m);
  });

  it('breaks a zero cell when the controller cannot hold (no reconciler, every notification lost)', async () => {
    const broken = await runCell(
      {
        name: 'no-reconciler-notifications-lost',
        fault: 'every lifecycle notification lost, no reconciler',
        scenario: { notificationFaults: { ...NO_DELIVERY_FAULTS, drop: 1 } },
        drain: { reconciler: false },
        canDrain: true,
      },
      { instances: SMALL.instances, seeds: [1] },
      transport,
    );

    expect(broken.actions.timedOut).toBeGreaterThan(0);
    expect(broken.violations.join('\n')).toMatch(/timed out where the cluster can drain/);
    expect(broken.violations.join('\n')).toMatch(/killed that no deadline let go/);
    expect(formatMatrix([broken])).toMatch(/NO: /);
  });
});
