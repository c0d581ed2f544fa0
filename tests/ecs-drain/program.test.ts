import { ListServicesCommand } from '@aws-sdk/client-ecs';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRegistration } from '../../scripts/ecs-drain/command';
import { CliError, EXIT } from '../../scripts/ecs-drain/context';
import { type LiveWorld, serveLive } from '../../sim/live';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { ecsDrain, spawnEcsDrain } from '../helpers/ecs-drain';

// A command that exists only here: it lists a cluster's services through the context's real ECS
// client, or throws what it is told to, so that the program's error handling is seen end to end.
const probe: CommandRegistration = (program, run) => {
  program
    .command('probe')
    .requiredOption('--cluster <name>')
    .option('--throw <kind>')
    .action(
      run(async (context, options: { cluster: string; throw?: string }) => {
        if (options.throw === 'failed') throw new CliError(EXIT.failed, 'the deployment rolled back');
        const output = await context
          .clients()
          .ecs.send(new ListServicesCommand({ cluster: options.cluster }));
        const count = output.serviceArns?.length ?? 0;
        context.result({ services: count }, () => [`${count} services`]);
      }),
    );
};

describe('ecs-drain, the program', () => {
  let live: LiveWorld;
  beforeAll(async () => {
    live = await serveLive(buildWorld(defaultOptions(demoShape(3)), 'none'), { speed: 1 });
  });
  afterAll(() => live.close());

  it('answers --help with the exit codes, and exits 0', async () => {
    const { code, stdout } = await ecsDrain(['--help'], [probe]);
    expect(code).toBe(EXIT.ok);
    expect(stdout).toContain('Exit codes:');
    expect(stdout).toContain('probe');
  });

  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['probe'], "required option '--cluster <name>' not specified"],
    [['prob'], "unknown command 'prob'"],
    [['--endpoint-url', 'not a url', 'probe', '--cluster', 'x'], 'not a URL'],
    [['probe', '--cluster', 'a', '--cluster', 'b'], 'given twice ("a", then "b")'],
    [['probe', '--cluster', ' '], "option '--cluster <name>' argument ' ' is invalid. is empty"],
  ])('%j: one line on stderr, exit 2, nothing on stdout', async (argv, message) => {
    const { code, stdout, stderr } = await ecsDrain(argv, [probe]);
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a usage error with --json: the error object on stdout too', async () => {
    const { code, stdout } = await ecsDrain(['--json', 'probe', '--cluster', 'x', '--bogus'], [probe]);
    expect(code).toBe(EXIT.usage);
    expect(JSON.parse(stdout)).toEqual({
      error: { exitCode: EXIT.usage, message: expect.stringContaining("unknown option '--bogus'") },
    });
  });

  it('an endpoint that takes the connection and never answers: exit 7 after the request timeout, not a hang', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const restore = withEnvironment({ AWS_MAX_ATTEMPTS: '1' });
    try {
      const { code, stderr } = await ecsDrain(
        ['--endpoint-url', `http://127.0.0.1:${port}`, '--region', 'us-east-1', 'probe', '--cluster', 'prod'],
        [probe],
      );
      expect(code).toBe(EXIT.aws);
      expect(stderr).toMatch(
        /^ecs-drain probe: no answer from AWS within 10 s, still after 1 attempts .*\n$/,
      );
    } finally {
      restore();
      silent.close();
    }
  }, 30_000);

  it('calls the endpoint with the real client and prints the result, as JSON with --json', async () => {
    const args = [
      '--endpoint-url',
      live.url,
      '--region',
      'us-east-1',
      'probe',
      '--cluster',
      STACK.clusterName,
    ];
    const text = await ecsDrain(args, [probe]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^\d+ services\n$/);
    const json = await ecsDrain(['--json', ...args], [probe]);
    expect(JSON.parse(json.stdout)).toEqual({ services: live.world.ecs.services.size });
  });

  it('an unknown cluster: exit 3 and one line naming it', async () => {
    const { code, stderr, stdout } = await ecsDrain(
      ['--json', '--endpoint-url', live.url, '--region', 'us-east-1', 'probe', '--cluster', 'nope'],
      [probe],
    );
    expect(code).toBe(EXIT.notFound);
    expect(stderr).toBe('ecs-drain probe: no cluster named "nope" (ClusterNotFoundException)\n');
    expect(JSON.parse(stdout)).toEqual({
      error: { exitCode: 3, message: expect.stringContaining('Cluster') },
    });
  });

  it('a failure the command reports: its own code and line', async () => {
    const { code, stderr } = await ecsDrain(['probe', '--cluster', 'x', '--throw', 'failed'], [probe]);
    expect(code).toBe(EXIT.failed);
    expect(stderr).toBe('ecs-drain probe: the deployment rolled back\n');
  });

  it('throttling that outlasts the retries: exit 5, after the SDK backed off and tried again', async () => {
    live.world.api.faults = { ...live.world.api.faults, throttle: 1 };
    const throttled = live.world.api.throttled.count;
    const restore = withEnvironment({ AWS_MAX_ATTEMPTS: '3' });
    try {
      const { code, stderr } = await ecsDrain(
        ['--endpoint-url', live.url, '--region', 'us-east-1', 'probe', '--cluster', STACK.clusterName],
        [probe],
      );
      expect(code).toBe(EXIT.throttled);
      expect(stderr).toMatch(/throttling.*after 3 attempts/);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      restore();
      live.world.api.faults = { ...live.world.api.faults, throttle: 0 };
    }
    expect(live.world.api.throttled.count - throttled).toBe(3);
  }, 30_000);

  it('no credentials anywhere: exit 4 and what to set, before any call', async () => {
    const home = mkdtempSync(join(tmpdir(), 'no-aws-'));
    const calls = [...live.world.api.calls.values()].reduce((sum, count) => sum + count, 0);
    const restore = withEnvironment({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      const { code, stderr } = await ecsDrain(
        ['--endpoint-url', live.url, '--region', 'us-east-1', 'probe', '--cluster', STACK.clusterName],
        [probe],
      );
      expect(code).toBe(EXIT.credentials);
      expect(stderr).toMatch(/^ecs-drain probe: no AWS credentials: pass --profile, .*\n$/);
      const profile = await ecsDrain(
        [
          '--profile',
          'nosuch',
          '--endpoint-url',
          live.url,
          '--region',
          'us-east-1',
          'probe',
          '--cluster',
          'x',
        ],
        [probe],
      );
      expect(profile.code).toBe(EXIT.credentials);
      expect(profile.stderr).toMatch(/^ecs-drain probe: no credentials for profile "nosuch": /);
    } finally {
      restore();
    }
    expect([...live.world.api.calls.values()].reduce((sum, count) => sum + count, 0)).toBe(calls);
  }, 30_000);

  it('runs as the real program (npx ecs-drain)', async () => {
    const { code, stdout } = await spawnEcsDrain(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: ecs-drain');
  }, 30_000);
});

/** Sets (or, with undefined, removes) environment variables; returns what puts them back. */
function withEnvironment(values: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  return () => apply(saved);
}
