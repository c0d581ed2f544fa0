import { execFileSync, spawnSync } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUsageError } from '../../sim/cli-input';
import { rehearsalInput } from '../../sim/rehearsal-input';

// `npm start` as a user runs it: through tsx, in a child process.
const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
const cli = join(__dirname, '..', '..', 'sim', 'cli.ts');
const run = (args: string[]) =>
  execFileSync(tsx, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** A run that must be refused: its exit code, and what it said on stderr. */
const refused = (program: string, args: string[]) => {
  const { status, stdout, stderr } = spawnSync(tsx, [program, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status, stdout, stderr };
};

describe('npm start', () => {
  const out = mkdtempSync(join(tmpdir(), 'rehearsal-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('lists its options with --help', () => {
    const help = run(['--help']);
    for (const option of ['--scenario', '--seed', '--instances', '--config', '--json'])
      expect(help).toContain(option);
  });

  it("rehearses a broken AMI with --scenario bad-ami and reports each run's refresh in --json", () => {
    const summary = JSON.parse(run(['--scenario', 'bad-ami', '--json', '--out', out]));
    const [without, withController] = summary.runs;
    expect(without.refresh).toEqual({
      strategy: 'instance-refresh',
      status: 'Successful',
      instancesReplaced: 6,
      rolledBack: false,
    });
    expect(withController.refresh).toEqual({
      strategy: 'rolling',
      status: 'RollbackSuccessful',
      instancesReplaced: 0,
      rolledBack: true,
    });
    expect(withController.tasksKilled).toBe(0);
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
    // The report of the latest rehearsal is also out/report.html, whatever its own name.
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toBe(readFileSync(summary.report, 'utf8'));
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

  describe('refuses bad input with one line naming the problem, exit code 2, and no run', () => {
    const file = (name: string, text: string) => {
      const path = join(out, name);
      writeFileSync(path, text);
      return path;
    };
    it.each<[string, string[], RegExp]>([
      [
        'a misspelled field',
        ['--config', file('typo.json', '{"instances":3,"services":[{"name":"shop","desiredcount":8}]}')],
        /services\.0: unknown field "desiredcount" \(did you mean "desiredCount"\?\)/,
      ],
      [
        'an unknown field',
        [
          '--config',
          file('unknown.json', '{"instances":3,"instanceType":"m6i.large","services":[{"name":"shop"}]}'),
        ],
        /unknown field "instanceType"/,
      ],
      ['a missing config file', ['--config', join(out, 'nowhere.json')], /nowhere\.json: no such file/],
      ['an empty config file', ['--config', file('empty.json', '')], /empty\.json: the file is empty/],
      [
        'a config file that is not JSON',
        ['--config', file('broken.json', '{"instances": 3,')],
        /broken\.json: not JSON/,
      ],
      [
        'tasks that can never fit',
        [
          '--config',
          file(
            'full.json',
            '{"instances":2,"services":[{"name":"big","desiredCount":10,"cpu":1024,"memory":4096}]}',
          ),
        ],
        /can never run what it is asked to: service big: 10 tasks of 1024 CPU units and 4096 MiB, at most 2 per instance, need 5 instances/,
      ],
      ['no instance', ['--instances', '0'], /--instances takes a whole number from 1 to 5000, not "0"/],
      [
        'a heartbeat timeout the template refuses',
        ['--heartbeat-timeout', '5'],
        /--heartbeat-timeout takes a whole number from 300 to 7200/,
      ],
      [
        'a minimum healthy percentage above 100',
        ['--min-healthy', '150'],
        /--min-healthy takes a whole number from 0 to 100/,
      ],
      [
        'a maximum healthy percentage below 100',
        ['--min-healthy', '90', '--max-healthy', '50'],
        /--max-healthy takes a whole number from 100 to 200/,
      ],
      [
        'healthy percentages more than 100 apart',
        ['--min-healthy', '50', '--max-healthy', '200'],
        /more than 100 apart/,
      ],
      [
        'a scale-in larger than the group',
        ['--scenario', 'scale-in', '--scale-in-by', '10'],
        /--scale-in-by takes a whole number from 1 to 6 \(the group has 6 instances\)/,
      ],
      [
        '--out under a file',
        ['--out', join(file('plain.txt', 'x'), 'sub')],
        /--out .*plain\.txt\/sub: cannot be a directory/,
      ],
      ['an unknown flag', ['--instance', '3'], /Unknown option '--instance'/],
      [
        'a maximum healthy percentage without a minimum',
        ['--max-healthy', '110'],
        /--max-healthy needs --min-healthy too/,
      ],
      [
        'a flag the scenario does not use',
        ['--scenario', 'spot', '--scale-in-by', '2'],
        /--scale-in-by applies to --scenario scale-in only, not spot/,
      ],
      ['an empty value', ['--warmup', ''], /--warmup takes a whole number from 0 to 3600, not ""/],
      [
        'a scale-in that leaves too few instances',
        ['--scenario', 'scale-in', '--scale-in-by', '5'],
        /scaling in by 5 leaves 1 instance\(s\), too few/,
      ],
      [
        'two services of one name',
        ['--config', file('twice.json', '{"instances":3,"services":[{"name":"a"},{"name":"a"}]}')],
        /two services have the same name/,
      ],
      [
        'a misspelled required field',
        ['--config', file('instnces.json', '{"instnces":3,"services":[{"name":"a"}]}')],
        /unknown field "instnces" \(did you mean "instances"\?\)/,
      ],
      [
        'a per-instance fit the totals hide',
        [
          '--config',
          file(
            'tight.json',
            '{"instances":2,"instanceCpu":1024,"instanceMemory":4096,"services":[{"name":"big","desiredCount":3,"cpu":600,"memory":512}]}',
          ),
        ],
        /service big: 3 tasks .* at most 1 per instance, need 3 instances; the cluster has 2/,
      ],
      ['an empty --out', ['--out', ''], /--out is empty/],
      [
        'an unknown scenario',
        ['--scenario', 'red-black'],
        /--scenario is one of instance-refresh, scale-in, spot/,
      ],
    ])('%s', (_case, args, message) => {
      // The checks, in this process: a usage error naming the problem, before anything runs.
      let thrown: unknown;
      try {
        rehearsalInput(args, () => undefined);
      } catch (error) {
        thrown = error;
      }
      expect(isUsageError(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    });

    // What the program makes of a usage error, in a process of its own: one line on stderr, exit code
    // 2, no stack trace, nothing on stdout. One case of each kind: a value, a file, parseArgs's own.
    it.each<[string, string[], RegExp]>([
      [
        'a value out of range',
        ['--instances', '0'],
        /^npm start: --instances takes a whole number from 1 to 5000/,
      ],
      ['a missing config file', ['--config', join(out, 'nowhere.json')], /nowhere\.json: no such file/],
      ['an unknown flag', ['--instance', '3'], /Unknown option '--instance'/],
    ])('as a program: %s', (_case, args, message) => {
      const { status, stdout, stderr } = refused(cli, args);
      expect(status).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(stdout).toBe('');
    });

    it('in npm run sim:serve too', () => {
      const serve = join(__dirname, '..', '..', 'sim', 'serve.ts');
      for (const [args, message] of [
        [['--port', 'http'], /--port takes a whole number from 0 to 65535/],
        [['--instances', '0'], /--instances takes a whole number from 1 to 5000/],
        [['--speed', '0'], /--speed takes a number above 0/],
      ] as const) {
        const { status, stderr } = refused(serve, [...args]);
        expect({ args, status }).toEqual({ args, status: 2 });
        expect(stderr).toMatch(message);
        expect(stderr.trim().split('\n')).toHaveLength(1);
      }
    });
  });

  it('reads a config file saved with a byte-order mark', () => {
    const config = join(out, 'bom.json');
    writeFileSync(config, `\uFEFF${JSON.stringify({ instances: 3, services: [{ name: 'shop' }] })}`);
    const summary = JSON.parse(run(['--config', config, '--controller-only', '--json', '--out', out]));
    expect(summary.runs[0].lifecycleActions.completedByController).toBe(3);
  });

  it('caps a drain deadline beyond the hook global timeout as the stack does, and says so', () => {
    const { status, stderr } = spawnSync(
      tsx,
      [
        cli,
        '--controller-only',
        '--instances',
        '3',
        '--heartbeat-timeout',
        '300',
        '--drain-deadline',
        '40000',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(status).toBe(0);
    expect(stderr).toMatch(
      /--drain-deadline 40000 is beyond the hook's global timeout .* caps it to 30000 s/,
    );
  });

  it('says in one line, exit code 2, that npm run sim:serve cannot listen on a port in use', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const { status, stderr } = refused(join(__dirname, '..', '..', 'sim', 'serve.ts'), [
        '--port',
        String(port),
      ]);
      expect(status).toBe(2);
      expect(stderr.trim()).toBe(
        `npm run sim:serve: cannot listen on 127.0.0.1:${port} (EADDRINUSE) (--help lists the options)`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('prints only JSON on stdout with --json, the controller logs going to stderr in simulated time', () => {
    const { status, stdout, stderr } = spawnSync(
      tsx,
      [cli, '--json', '--verbose', '--controller-only', '--instances', '3', '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(status).toBe(0);
    expect(JSON.parse(stdout).runs[0].lifecycleActions.completedByController).toBe(3);
    const logLines = stderr.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    const first = JSON.parse(logLines[0] as string);
    expect(first.timestamp).toMatch(/^2026-01-10T/); // the simulation's clock, not the wall clock
    expect(first.simulatedSeconds).toEqual(expect.any(Number));
  });

  it('lets npm print nothing of its own with --silent, as the README says: `npm start --silent -- --json | jq`', () => {
    const root = join(__dirname, '..', '..');
    const { status, stdout } = spawnSync(
      'npm',
      ['start', '--silent', '--', '--json', '--controller-only', '--instances', '3', '--out', out],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    expect(status).toBe(0);
    expect(() => JSON.parse(stdout)).not.toThrow();
  });
});
