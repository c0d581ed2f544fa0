/**
 * The fault matrix: does the controller keep its promises when AWS misbehaves? Each cell runs an
 * instance refresh of the demo cluster through the real handlers, with ECS's token buckets and the
 * SDK's retries on, under one fault, over several seeds (sim/reliability.ts says what must stay zero).
 *
 *   npm run reliability [-- --json] [--seeds 3] [--instances 12] [--cells name,name]
 *
 * Exits 1 when a cell breaks a zero cell, so that it can gate a change.
 */
import { parseArgs } from 'node:util';
import { openTransport } from '../sim/controller';
import { CELLS, type CellResult, FULL, formatMatrix, runCell } from '../sim/reliability';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seeds: { type: 'string', default: String(FULL.seeds.length) },
    instances: { type: 'string', default: String(FULL.instances) },
    cells: { type: 'string' },
  },
});
const seedCount = Number(values.seeds);
const instances = Number(values.instances);
if (!Number.isInteger(seedCount) || seedCount < 1 || !Number.isInteger(instances) || instances < 1) {
  process.stderr.write('--seeds and --instances take whole numbers from 1\n');
  process.exit(2);
}
const wanted = values.cells?.split(',').map((name) => name.trim());
const unknown = (wanted ?? []).filter((name) => !CELLS.some((cell) => cell.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown cell(s): ${unknown.join(', ')}; cells are ${CELLS.map((c) => c.name).join(', ')}\n`,
  );
  process.exit(2);
}
const cells = wanted === undefined ? CELLS : CELLS.filter((cell) => wanted.includes(cell.name));
const seeds = Array.from({ length: seedCount }, (_, n) => n + 1);

async function main(): Promise<number> {
  const { transport, close } = await openTransport('in-process');
  const results: CellResult[] = [];
  try {
    if (!values.json) {
      process.stdout.write(
        `fault matrix: instance refresh of ${instances} instances, seeds ${seeds.join(', ')}, ` +
          `node ${process.version}, ECS token buckets and SDK retries on\n`,
      );
    }
    for (const cell of cells) {
      const result = await runCell(cell, { instances, seeds }, transport);
      results.push(result);
      if (!values.json) process.stderr.write(`  ${cell.name}: ${result.wallSeconds} s\n`);
    }
  } finally {
    await close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ instances, cells: results }, null, 2)}\n`);
  else {
    process.stdout.write(`${formatMatrix(results)}\n`);
    const broken = results.filter((result) => result.violations.length > 0).length;
    process.stdout.write(
      broken === 0
        ? `every cell holds: nothing killed outside a deadline, no action timed out where the cluster can drain, no floor broken with room\n`
        : `${broken} cell(s) broken\n`,
    );
  }
  return results.some((result) => result.violations.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
