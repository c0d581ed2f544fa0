import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from './controller';

/**
 * Stands in for the two functions: each event they would be invoked with becomes a file, for
 * `sam local invoke -e`. Both functions' events are SQS batches, as their queues deliver them.
 */
export function writeEventsTo(
  dir: string,
  say: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Controller {
  let sequence = 0;
  const write = (name: string, event: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, `${JSON.stringify(event, null, 2)}\n`);
    say(`event written: ${path}`);
  };
  return {
    deploy: () => ({
      startDrain: () => async (event) => {
        const [record] = (event as { Records: { body: string }[] }).Records;
        const message = JSON.parse(record?.body ?? '{}');
        write(`lifecycle-${message.EC2InstanceId ?? `test-${++sequence}`}.json`, event);
        return { batchItemFailures: [] };
      },
      finishDrain: () => async (event) => {
        const [record] = (event as { Records: { body: string }[] }).Records;
        const detail = JSON.parse(record?.body ?? '{}').detail ?? {};
        const taskArn = String(detail.taskArn ?? `batch-${++sequence}`);
        // Two events per task: ECS telling it to stop, then its STOPPED; each gets its own file.
        const kind = detail.lastStatus === 'STOPPED' ? 'stopped' : 'told-to-stop';
        write(`task-${kind}-${taskArn.slice(taskArn.lastIndexOf('/') + 1)}.json`, event);
        return { batchItemFailures: [] };
      },
    }),
  };
}
