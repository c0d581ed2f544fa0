import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CommandRegistration } from '../../scripts/ecs-drain/command';
import { runCli } from '../../scripts/ecs-drain/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `ecs-drain argv…` in this process (its clients are real SDK clients; the endpoint is the caller's
 * `--endpoint-url`), with stdout and stderr captured. Faster than a process, and the twin's clock
 * can run beside it.
 */
export async function ecsDrain(argv: string[], commands?: readonly CommandRegistration[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (text: string) => void (stdout += text),
    stderr: (text: string) => void (stderr += text),
    stderrIsTty: false,
  };
  const code = await runCli(argv, io, commands);
  return { code, stdout, stderr };
}

const BIN = join(__dirname, '..', '..', 'scripts', 'ecs-drain', 'bin.js');

/** The real program, as `npx ecs-drain` runs it, in a process of its own with `env` added. */
export function spawnEcsDrain(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
