import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `npm start` as a user runs it: through tsx, in a child process.
const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
const cli = join(__dirname, '..', '..', 'sim', 'cli.ts');
const run = (args: string[]) =>
  execFileSync(tsx, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('npm start', () => {
  const out = mkdtempSync(join(tmpdir(), 'rehearsal-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('lists its options with --help', () => {
    const help = run(['--help']);
    for (const option of ['--scenario', '--seed', '--instances', '--config', '--json'])
      expect(help).toContain(option);
  });

  it('rehearses a user cluster from --config and prints a machine-readable summary with --json', () => {
    const config = join(out, 'cluster.json');
    writeFileSync(
      config,
      JSON.stringify({
        instances: 3,
        services: [{ name: 'shop', desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 200 }],
      }),
    );

    const summary = JSON.parse(run(['--config', config, '--scenario', 'scale-in', '--json', '--out', out]));

    expect(summary.runs.map((r: { withController: boolean }) => r.withController)).toEqual([false, true]);
    const withController = summary.runs[1];
    expect(withController.services[0]).toMatchObject({ name: 'shop', floor: 3, lowestHealthy: 3 });
    expect(readFileSync(summary.timeline, 'utf8')).toMatch(/^<svg /);
  });

  it('refuses a config file with a bad field, naming it', () => {
    const config = join(out, 'bad.json');
    writeFileSync(config, JSON.stringify({ instances: 3, services: [{ name: 'shop', maximumPercent: 50 }] }));

    expect(() => run(['--config', config])).toThrow(/services\.0\.maximumPercent/);
  });

  it('rehearses the drain deadline the stack would have, and its findings say what the deadline did', () => {
    const config = join(out, 'stuck.json');
    writeFileSync(
      config,
      JSON.stringify({
        instances: 3,
        services: [{ name: 'ledger', desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 100 }],
      }),
    );
    const args = ['--config', config, '--scenario', 'scale-in', '--controller-only', '--out', out];

    const summary = JSON.parse(
      run([...args, '--json', '--drain-deadline', '900', '--deadline-action', 'stop-tasks']),
    );

    expect(summary.runs[0].findings.join('\n')).toMatch(
      /drain deadline of 900 s reached: the tasks below were stopped; the instance goes once they have stopped/,
    );
    expect(() => run([...args, '--deadline-action', 'terminate'])).toThrow(
      /--deadline-action must be one of continue, stop-tasks, keep-waiting/,
    );
  });
});
