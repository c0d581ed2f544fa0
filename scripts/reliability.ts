/**
 * The fault matrix: does the controller keep its promises when AWS misbehaves? Each cell runs an
 * instance refresh of the demo cluster through the real handlers, with ECS's token buckets and the
 * SDK's retries on, under one fault, over several seeds (sim/reliability.ts says what must stay zero).
 *
 *   npm run reliability [-- --json] [--seeds 5] [--instances 30] [--cells name,name]
 *
 * Exits 1 when a cell breaks a zero cell, so that it can gate a change.
 */
import { parseArgs } from 'node:util';
import { runProgram, UsageError, wholeNumber } from '../sim/cli-input';
import { openTransport } from '../sim/controller';
import { CELLS, type CellResult, FULL, formatMatrix, runCell } from '../sim/reliability';

const HELP = `npm run reliability -- [--json] [--seeds 5] [--instances 30] [--cells name,name]

Runs the fault matrix: an instance refresh of the demo cluster under one fault per cell, over several
seeds, with ECS's token buckets and the SDK's retries on. Exits 1 when a cell breaks a zero cell.
Cells: ${CELLS.map((cell) => cell.name).join(', ')}
`;

function parseFlags() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      seeds: { type: 'string', default: String(FULL.seeds.length) },
      instances: { type: 'string', default: String(FULL.instances) },
      cells: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const wanted = values.cells?.split(',').map((name) => name.trim());
  const unknown = (wanted ?? []).filter((name) => !CELLS.some((cell) => cell.name === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown cell(s): ${unknown.join(', ')}; cells are ${CELLS.map((c) => c.name).join(', ')}`,
    );
  }
  return {
    json: values.json,
    help: values.help,
    instances: wholeNumber(values.instances, '--instances', 1, 500),
    seeds: Array.from({ length: wholeNumber(values.seeds, '--seeds', 1, 100) }, (_, n) => n + 1),
    cells: wanted === undefined ? CELLS : CELLS.filter((cell) => wanted.includes(cell.name)),
  };
}

async function main(): Promise<void> {
  const { json, help, instances, seeds, cells } = parseFlags();
  if (help) {
    process.stdout.write(HELP);
    return;
  }
  const { transport, close } = await openTransport('in-process');
  const results: CellResult[] = [];
  try {
    if (!json) {
      process.stdout.write(
        `fault matrix: instance refresh of ${instances} instances, seeds ${seeds.join(', ')}, ` +
          `node ${process.version}, ECS token buckets and SDK retries on\n`,
      );
    }
    for (const cell of cells) {
      const result = await runCell(cell, { instances, seeds }, transport);
      results.push(result);
      if (!json) process.stderr.write(`  ${cell.name}: ${result.wallSeconds} s\n`);
    }
  } finally {
    await close();
  }
  if (json) process.stdout.write(`${JSON.stringify({ instances, cells: results }, null, 2)}\n`);
  else {
    process.stdout.write(`${formatMatrix(results)}\n`);
    const broken = results.filter((result) => result.violations.length > 0).length;
    process.stdout.write(
      broken === 0
        ? `every cell holds: nothing killed outside a deadline, no action timed out where the cluster can drain, no floor broken with room\n`
        : `${broken} cell(s) broken\n`,
    );
  }
  if (results.some((result) => result.violations.length > 0)) process.exitCode = 1;
}

runProgram('npm run reliability', main);
