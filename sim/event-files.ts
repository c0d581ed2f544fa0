import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControllerHandlers } from './world';

/** Stands in for the two functions: each event they would be invoked with becomes a file. */
export function writeEventsTo(
  dir: string,
  say: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): ControllerHandlers {
  let sequence = 0;
  const write = (name: string, event: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, `${JSON.stringify(event, null, 2)}\n`);
    say(`event written: ${path}`);
  };
  return {
    startDrain: async (event) => {
      const message = JSON.parse(
        (event as { Records: { Sns: { Message: string } }[] }).Records[0]?.Sns.Message ?? '{}',
      );
      write(`lifecycle-${message.EC2InstanceId ?? `test-${++sequence}`}.json`, event);
    },
    finishDrain: async (event) => {
      const taskArn = String((event as { detail: { taskArn: string } }).detail.taskArn);
      write(`task-stopped-${taskArn.slice(taskArn.lastIndexOf('/') + 1)}.json`, event);
    },
  };
}
