import { EXIT } from '../../scripts/ecs-drain/context';
import { loadController, type RolloutSettings } from '../../sim/controller';
import { type LiveWorld, serveLive } from '../../sim/live';
import { buildWorld, defaultOptions, demoShape, NEW_AMI, OLD_AMI } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { BLUE_GREEN_TAG } from '../../shared/decisions/blue-green';
import { ecsDrain } from '../helpers/ecs-drain';

// `ecs-drain refresh` and `rollback` against a live twin with the drain controller deployed: the
// commands' real SDK clients over HTTP, the twin's time running SPEED times faster than the wall.

const SPEED = 100;
const GROUP = STACK.groupName;

/** The demo cluster on 3 instances launched from launch template `ecs-node` version 1, controller deployed. */
async function liveWorld(rollout?: RolloutSettings): Promise<LiveWorld> {
  const controller = loadController(
    { kind: 'in-process', target: () => world.api },
    { heartbeatTimeout: 300, ...(rollout !== undefined && { rollout }) },
  );
  const world: World = buildWorld(
    { ...defaultOptions(demoShape(3)), controller, launchTemplate: { name: 'ecs-node', version: '1' } },
    'notify',
  );
  const live = await serveLive(world, { speed: SPEED });
  // AWS publishes a new recommended AMI: what `refresh` rolls out by default.
  world.ssm.publishEcsOptimizedAmi('amazon-linux-2023', NEW_AMI);
  return live;
}

const at = (live: LiveWorld) => ['--endpoint-url', live.url, '--region', 'us-east-1', '--no-progress'];
/** A refresh quick enough for a test: one checkpoint, no burn-in, a minute of warm-up. */
const QUICK = ['--checkpoints', '100', '--burn-in', '0', '--warmup', '60', '--poll-interval', '1'];
const calls = (live: LiveWorld, operation: string) => live.world.api.calls.get(operation) ?? 0;

describe('ecs-drain refresh and rollback, rolling', () => {
  let live: LiveWorld;
  beforeEach(async () => {
    live = await liveWorld();
  });
  afterEach(() => live.close());

  it('--dry-run prints the request the watcher would send, and starts nothing', async () => {
    const { code, stdout, stderr } = await ecsDrain([
      ...at(live),
      'refresh',
      '--group',
      GROUP,
      '--dry-run',
      '--alarm',
      STACK.deadlineAlarmName,
    ]);
    expect(code).toBe(EXIT.ok);
    expect(stderr).toContain('dry run: nothing was changed');
    const plan = JSON.parse(stdout);
    expect(plan.createLaunchTemplateVersion).toMatchObject({
      SourceVersion: '1',
      LaunchTemplateData: { ImageId: NEW_AMI },
      expectedVersion: 2,
    });
    expect(plan.startInstanceRefresh).toMatchObject({
      AutoScalingGroupName: GROUP,
      Strategy: 'Rolling',
      DesiredConfiguration: { LaunchTemplate: { Version: '2' } },
      Preferences: {
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 200,
        SkipMatching: true,
        AutoRollback: true,
        CheckpointPercentages: [10, 50, 100],
        CheckpointDelay: 900,
        ScaleInProtectedInstances: 'Refresh',
        AlarmSpecification: { Alarms: [STACK.deadlineAlarmName] },
      },
    });
    expect(live.world.group.refreshes).toHaveLength(0);
    expect(calls(live, 'CreateLaunchTemplateVersion')).toBe(0);
    expect(calls(live, 'StartInstanceRefresh')).toBe(0);
  });

  it('--wait: the refresh to the recommended AMI ends Successful, every instance replaced, no task killed', async () => {
    const originals = [...live.world.group.instances.keys()];
    const { code, stdout, stderr } = await ecsDrain([
      ...at(live),
      '--json',
      'refresh',
      '--group',
      GROUP,
      '--wait',
      ...QUICK,
    ]);
    expect(stderr).toContain('instance refresh');
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toMatchObject({ strategy: 'rolling', status: 'Successful', version: 2 });
    // Auto Scaling calls it Successful once the new instances are in service; the old ones drain on.
    const inService = [...live.world.group.instances.values()].filter((i) => i.state === 'InService');
    expect(inService.map((instance) => instance.amiId)).toEqual([NEW_AMI, NEW_AMI, NEW_AMI]);
    await until(() => originals.every((id) => !live.world.group.instances.has(id)), 60_000);
    expect(live.world.recorder.killedTasks).toEqual([]);
  }, 120_000);

  it('refuses to start over a running refresh (exit 1, one line), and rollback brings it back: RollbackSuccessful', async () => {
    const started = await ecsDrain([
      ...at(live),
      'refresh',
      '--group',
      GROUP,
      // QUICK's pause points and burn-in, except a pause half-way for an hour (a flag is given once).
      '--checkpoints',
      '50,100',
      '--burn-in',
      '3600',
      '--warmup',
      '60',
      '--poll-interval',
      '1',
    ]);
    expect(started.code).toBe(EXIT.ok);
    expect(started.stdout).toMatch(/instance refresh \S+ started to \S+ version 2/);

    const again = await ecsDrain([...at(live), 'refresh', '--group', GROUP]);
    expect(again.code).toBe(EXIT.failed);
    expect(again.stderr).toMatch(
      /^ecs-drain refresh: not started: instance refresh \S+ is (Pending|InProgress): one at a time/,
    );
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(live.world.group.refreshes).toHaveLength(1);

    // Half-way: the refresh pauses at its 50 % checkpoint for an hour.
    await until(() => (live.world.group.refresh?.percentageComplete ?? 0) >= 50, 60_000);
    const back = await ecsDrain([
      ...at(live),
      '--json',
      'rollback',
      '--group',
      GROUP,
      '--wait',
      '--poll-interval',
      '1',
    ]);
    expect(back.code).toBe(EXIT.ok);
    expect(JSON.parse(back.stdout)).toMatchObject({
      action: 'rollback-refresh',
      status: 'RollbackSuccessful',
    });
    const inService = [...live.world.group.instances.values()].filter((i) => i.state === 'InService');
    expect(inService.map((instance) => instance.amiId)).toEqual([OLD_AMI, OLD_AMI, OLD_AMI]);
    // The new instances it replaced drain on; once they are gone, no task was killed.
    await until(() => live.world.group.instances.size === 3, 60_000);
    expect(live.world.recorder.killedTasks).toEqual([]);
  }, 120_000);

  it('rollback with nothing in progress: exit 1, one line', async () => {
    const { code, stderr, stdout } = await ecsDrain([...at(live), 'rollback', '--group', GROUP]);
    expect(code).toBe(EXIT.failed);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `ecs-drain rollback: nothing to roll back on ${GROUP}: no refresh or blue/green rollout in progress\n`,
    );
  });

  it.each([
    [['refresh', '--group', 'nope']],
    [['refresh', '--group', 'nope', '--launch-template-version', 'current']],
    [['rollback', '--group', 'nope']],
  ])('%j: an unknown group is exit 3, one line, nothing changed', async (argv) => {
    const { code, stderr } = await ecsDrain([...at(live), ...argv]);
    expect(code).toBe(EXIT.notFound);
    expect(stderr).toBe(
      `ecs-drain ${argv[0]}: no Auto Scaling group named nope in this account and Region\n`,
    );
    expect(calls(live, 'StartInstanceRefresh') + calls(live, 'CreateLaunchTemplateVersion')).toBe(0);
  });

  it.each([
    [['refresh', '--group', GROUP, '--image', 'not-an-ami'], 'not an AMI id'],
    [
      ['refresh', '--group', GROUP, '--image', NEW_AMI, '--launch-template-version', '2'],
      'cannot be used with',
    ],
    [['refresh', '--group', GROUP, '--strategy', 'canary'], 'Allowed choices are rolling, blue-green'],
    [['refresh', '--group', GROUP, '--checkpoints', '50,40'], 'must be unique and ascending'],
    [['refresh', '--group', GROUP, '--strategy', 'blue-green', '--burn-in', '60'], "stack's BlueGreenBurnIn"],
    [['rollback', '--group', GROUP, '--force'], "unknown option '--force'"],
  ])('%j: a usage error, exit 2, one line, nothing called', async (argv, message) => {
    const before = [...live.world.api.calls.values()].reduce((sum, n) => sum + n, 0);
    const { code, stderr } = await ecsDrain([...at(live), ...argv]);
    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect([...live.world.api.calls.values()].reduce((sum, n) => sum + n, 0)).toBe(before);
  });

  it('--launch-template-version current replaces every instance (SkipMatching off)', async () => {
    const { code, stdout } = await ecsDrain([
      ...at(live),
      'refresh',
      '--group',
      GROUP,
      '--launch-template-version',
      'current',
      '--dry-run',
    ]);
    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout).startInstanceRefresh).toMatchObject({
      DesiredConfiguration: { LaunchTemplate: { Version: '1' } },
      Preferences: { SkipMatching: false },
    });
  });
});

describe('ecs-drain refresh and rollback, blue/green', () => {
  let live: LiveWorld;
  beforeEach(async () => {
    // The stack steps blue/green rollouts every minute; dry run keeps its watcher from starting its own.
    live = await liveWorld({
      parameters: { AmiWatcher: 'enabled', AmiWatchDryRun: 'true', RolloutStrategy: 'blue-green' },
    });
  });
  afterEach(() => live.close());

  it('starts the rollout (its first step), and rollback --wait brings the old fleet back: rolled-back', async () => {
    const originals = [...live.world.group.instances.keys()];
    const started = await ecsDrain([
      ...at(live),
      '--json',
      'refresh',
      '--group',
      GROUP,
      '--strategy',
      'blue-green',
    ]);
    expect(started.code).toBe(EXIT.ok);
    expect(JSON.parse(started.stdout)).toMatchObject({
      strategy: 'blue-green',
      cluster: STACK.clusterName,
      phase: 'launching',
      version: 2,
    });
    expect(live.world.group.tags.get(BLUE_GREEN_TAG)?.value).toMatch(/phase=launching;blue=1;green=2/);

    const again = await ecsDrain([...at(live), 'refresh', '--group', GROUP, '--strategy', 'blue-green']);
    expect(again.code).toBe(EXIT.failed);
    expect(again.stderr).toMatch(/a blue\/green rollout is in phase launching/);

    const back = await ecsDrain([
      ...at(live),
      '--json',
      'rollback',
      '--group',
      GROUP,
      '--wait',
      '--poll-interval',
      '1',
    ]);
    expect(back.stderr).toContain('blue/green rollback');
    expect(back.code).toBe(EXIT.ok);
    expect(JSON.parse(back.stdout)).toMatchObject({ strategy: 'blue-green', status: 'rolled-back' });
    const running = [...live.world.group.instances.values()].filter(
      (instance) => instance.state === 'InService',
    );
    expect(running.map((instance) => instance.id).sort()).toEqual(originals.sort());
    expect(live.world.recorder.killedTasks).toEqual([]);
  }, 120_000);
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
