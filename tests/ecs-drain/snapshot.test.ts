import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../scripts/ecs-drain/context';
import { usesStaticHostPort } from '../../scripts/ecs-drain/aws/fleet-reads';
import { snapshotShape } from '../../scripts/ecs-drain/snapshot-shape';
import { type LiveWorld, serveLive } from '../../sim/live';
import { buildWorld, ClusterShape, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { ecsDrain } from '../helpers/ecs-drain';

// `ecs-drain snapshot` of a live twin: the file it writes is the rehearsal's --config, and a twin
// built from a config file gives that file's services, daemons and standalone tasks back.

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'sim', 'examples', 'cluster.json');
const at = (live: LiveWorld) => ['--endpoint-url', live.url, '--region', 'us-east-1'];

/** What ECS can tell of a shape (not the timings, which are assumptions). */
function whatEcsTells(shape: ClusterShape) {
  return {
    instances: shape.instances,
    instanceCpu: shape.instanceCpu,
    instanceMemory: shape.instanceMemory,
    services: shape.services.map((s) => ({
      name: s.name,
      daemon: s.daemon,
      ...(!s.daemon && { desiredCount: s.desiredCount }),
      minimumHealthyPercent: s.minimumHealthyPercent,
      maximumPercent: s.maximumPercent,
      cpu: s.cpu,
      memory: s.memory,
      staticHostPort: s.staticHostPort === true,
    })),
    standaloneTasks: shape.standaloneTasks.map(({ family, count, cpu, memory }) => ({
      family,
      count,
      cpu,
      memory,
    })),
  };
}

describe('ecs-drain snapshot', () => {
  it('round trip: the twin built from sim/examples/cluster.json gives its services, daemons and standalone tasks back', async () => {
    const example = ClusterShape.parse(JSON.parse(readFileSync(EXAMPLE, 'utf8')));
    // Speed 1: the example's standalone task (1,200 s) still runs when the snapshot looks.
    const live = await serveLive(buildWorld(defaultOptions(example), 'none'), { speed: 1 });
    try {
      const { code, stdout, stderr } = await ecsDrain([
        ...at(live),
        'snapshot',
        '--cluster',
        STACK.clusterName,
        '--group',
        STACK.groupName,
      ]);
      expect(code).toBe(EXIT.ok);
      const snapshot = ClusterShape.parse(JSON.parse(stdout));
      expect(whatEcsTells(snapshot)).toEqual(whatEcsTells(example));
      // The timings ECS cannot tell are said to be assumptions.
      expect(stderr).toMatch(/^assumed: .*startupSeconds/m);
      expect(stderr).toMatch(/^assumed: standalone tasks \(nightly-export\): run until stopped/m);
    } finally {
      await live.close();
    }
  });

  it('the snapshot of the demo twin is a --config the rehearsal runs (npm start -- --config FILE --json)', async () => {
    const live = await serveLive(buildWorld(defaultOptions(demoShape(3)), 'none'), { speed: 1 });
    const file = join(mkdtempSync(join(tmpdir(), 'snapshot-')), 'snapshot.json');
    try {
      const { code, stdout } = await ecsDrain([
        ...at(live),
        '--json',
        'snapshot',
        '--cluster',
        STACK.clusterName,
        '-o',
        file,
      ]);
      expect(code).toBe(EXIT.ok);
      expect(JSON.parse(stdout)).toMatchObject({ out: file });
    } finally {
      await live.close();
    }
    expect(ClusterShape.safeParse(JSON.parse(readFileSync(file, 'utf8'))).success).toBe(true);
    const run = await spawnRehearsal(['--config', file, '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      runs: { withController: boolean; settled: boolean; services: { name: string }[] }[];
    };
    // The demo's services, rehearsed with and without the controller.
    expect(report.runs.map((r) => [r.withController, r.settled])).toEqual([
      [false, true],
      [true, true],
    ]);
    expect(report.runs[1]?.services.map((s) => s.name)).toEqual(demoShape(3).services.map((s) => s.name));
  }, 180_000);

  it('an unknown cluster or group: exit 3, one line', async () => {
    const live = await serveLive(buildWorld(defaultOptions(demoShape(3)), 'none'), { speed: 1 });
    try {
      const cluster = await ecsDrain([...at(live), 'snapshot', '--cluster', 'nope']);
      expect(cluster.code).toBe(EXIT.notFound);
      expect(cluster.stderr).toBe('ecs-drain snapshot: no cluster named "nope" (ClusterNotFoundException)\n');
      const group = await ecsDrain([
        ...at(live),
        'snapshot',
        '--cluster',
        STACK.clusterName,
        '--group',
        'nope',
      ]);
      expect(group.code).toBe(EXIT.notFound);
      expect(group.stderr.trim().split('\n')).toHaveLength(1);
      expect(group.stdout).toBe('');
    } finally {
      await live.close();
    }
  });

  it('reads a static host port, the stop timeout, the grace period and the deregistration delay from what ECS says', () => {
    const { shape, assumptions } = snapshotShape(
      {
        instances: 2,
        registered: [
          { cpu: 2048, memory: 7680 },
          { cpu: 2048, memory: 7680 },
        ],
        services: [
          {
            name: 'api',
            daemon: false,
            desiredCount: 3,
            minimumHealthyPercent: 50,
            maximumPercent: 100,
            healthCheckGracePeriodSeconds: 45,
            loadBalanced: true,
            task: {
              containers: [{ cpu: 256, memory: 512, stopTimeout: 20 }, { memoryReservation: 128 }],
              staticHostPort: true,
            },
          },
        ],
        standaloneTasks: [],
      },
      { deregistrationDelaySeconds: 60 },
    );
    expect(shape.services[0]).toEqual({
      name: 'api',
      desiredCount: 3,
      minimumHealthyPercent: 50,
      maximumPercent: 100,
      cpu: 256,
      memory: 640,
      startupSeconds: 45,
      stopSeconds: 80,
      staticHostPort: true,
      daemon: false,
    });
    expect(assumptions.join('\n')).toContain('deregistration delay 60 s');
  });
});

/** The rehearsal as a person runs it: `npx tsx sim/cli.ts …` (what `npm start --` runs), in its own process. */
function spawnRehearsal(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'sim/cli.ts', ...argv],
      {
        cwd: ROOT,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('a fixed host port, as snapshot and status read it from a task definition', () => {
  const mapping = (hostPort?: number) => [{ portMappings: [{ containerPort: 8080, hostPort }] }];
  it.each<[string, string | undefined, ReturnType<typeof mapping>, boolean]>([
    ['bridge, hostPort 8080', 'bridge', mapping(8080), true],
    ['bridge, dynamic (0)', 'bridge', mapping(0), false],
    ['bridge, hostPort unset', undefined, mapping(undefined), false],
    // ECS reports hostPort equal to containerPort for awsvpc: each task has its own interface.
    ['awsvpc, hostPort 8080', 'awsvpc', mapping(8080), false],
    ['host, any mapping', 'host', mapping(undefined), true],
  ])('%s', (_case, networkMode, containers, fixed) => {
    expect(usesStaticHostPort(networkMode, containers)).toBe(fixed);
  });
});
