/**
 * The designs section of `npm run bench`: every design of sim/designs (ours, the other tools' designs,
 * no hook) through the same instance refresh of the same cluster with the same seed, then through a
 * busy cluster where nothing drains; one row each, measured from what the world recorded.
 */
import { DRAIN_POLICY_DEFAULTS } from '../../shared/config';
import type { Transport } from '../../sim/controller';
import {
  deliveryFloor,
  designEntries,
  DESIGNS_INSTANCES,
  designsShape,
  measureDesign,
} from '../../sim/designs';
import type { DesignRow } from '../../sim/designs/measures';

export interface DesignsSection {
  /** What every row ran: the cluster, the seed, and the delivery floor the ratios divide by. */
  setup: {
    scenario: 'instance-refresh';
    instances: number;
    seed: number;
    tokenBuckets: true;
    sdkRetries: true;
    /** Ours' EcsReadsPerSecond (the template's default, 10, unless --ecs-reads-per-second says otherwise). */
    ecsReadsPerSecond: number;
    /** The twin's event-delivery latency for task events (median, seconds), measured in ours' run. */
    floorSeconds: number | null;
  };
  rows: DesignRow[];
}

export async function designsSection(
  transport: Transport,
  {
    seed = 1,
    instances = DESIGNS_INSTANCES,
    ecsReadsPerSecond = DRAIN_POLICY_DEFAULTS.ecsReadsPerSecond,
  }: { seed?: number; instances?: number; ecsReadsPerSecond?: number } = {},
): Promise<DesignsSection> {
  const shape = designsShape(instances);
  const rows: DesignRow[] = [];
  let floorSeconds: number | null = null;
  for (const entry of designEntries(transport, { ecsReadsPerSecond })) {
    // Ours runs first: its task event rule is the one whose delivery the twin measures, and its own
    // row is divided by what it measured (measureDesign's default).
    const { result, row } = await measureDesign(entry, { seed, shape, floorSeconds });
    if (entry.name === 'ours') floorSeconds = deliveryFloor(result);
    rows.push(row);
  }
  return {
    setup: {
      scenario: 'instance-refresh',
      instances,
      seed,
      tokenBuckets: true,
      sdkRetries: true,
      ecsReadsPerSecond,
      floorSeconds: floorSeconds === null ? null : Math.round(floorSeconds * 1000) / 1000,
    },
    rows,
  };
}

/** The section as a table, one line per design. */
export function formatDesignsTable({ setup, rows }: DesignsSection): string[] {
  const show = (value: number | null) => (value === null ? '-' : String(value));
  const columns: [string, (row: DesignRow) => string][] = [
    ['design', (row) => row.name],
    [
      'hand-back s (med/p99)',
      (row) => `${show(row.handBackSeconds.median)} / ${show(row.handBackSeconds.p99)}`,
    ],
    ['x floor (med)', (row) => show(row.ratioToFloor.median)],
    ['early', (row) => String(row.earlyTerminations)],
    ['killed', (row) => String(row.tasksKilled)],
    ['cut', (row) => String(row.drainsCutByCap)],
    ['calls/drain ECS+AS', (row) => `${row.apiCallsPerDrain.ecs} + ${row.apiCallsPerDrain.autoScaling}`],
    ['ECS reads/drain', (row) => String(row.ecsReadsPerDrain)],
    ['invocations/drain', (row) => String(row.lambdaInvocationsPerDrain)],
    ['reads/irrelevant event', (row) => show(row.ecsReadsPerIrrelevantEvent)],
    ['below floor s', (row) => String(row.servicesBelowFloorSeconds)],
  ];
  const cells = [columns.map(([title]) => title), ...rows.map((row) => columns.map(([, cell]) => cell(row)))];
  const widths = columns.map((_, n) => Math.max(...cells.map((line) => (line[n] as string).length)));
  return [
    `designs: instance refresh of ${setup.instances} instances, seed ${setup.seed}, ECS token buckets and SDK retries on, ` +
      `delivery floor ${show(setup.floorSeconds)} s`,
    ...cells.map((line) =>
      line
        .map((cell, n) => cell.padEnd(widths[n] as number))
        .join('  ')
        .trimEnd(),
    ),
  ];
}
