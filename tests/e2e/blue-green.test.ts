import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { InProcessHandler } from '../../sim/api/in-process';
import { loadController } from '../../sim/controller';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { serviceKey, STACK, type World } from '../../sim/world';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { EcsAdapter } from '../../shared/aws/ecs';
import { Pacer } from '../../shared/aws/pacer';
import { BLUE_GREEN_TAG, type BlueGreenRequest } from '../../shared/decisions/blue-green';
import { type BlueGreenReport, stepBlueGreen } from '../../shared/rollout/blue-green';

// A blue/green rollout of the demo cluster in the twin, step after step on the simulated clock,
// through real SDK clients, with the real drain controller deployed (its hook releases the old
// instances). It succeeds, and it rolls back during the burn-in, without a service below its floor.

const NEW_AMI = 'ami-0green0000000009';
const STEP_SECONDS = 60;
const BURN_IN = 1800;

interface Run {
  world: World;
  reports: BlueGreenReport[];
  errors: unknown[];
  /** Steps until `stop`, at most `hours` of simulated time; `request` is read at each step. */
  stepUntil(stop: (report: BlueGreenReport) => boolean, hours?: number): Promise<void>;
  request: BlueGreenRequest;
  originals: string[];
}

async function start(): Promise<Run> {
  const transport = { kind: 'in-process' as const, target: () => world.api };
  const controller = loadController(transport, { heartbeatTimeout: 300 });
  const world: World = buildWorld(
    { ...defaultOptions(demoShape(6)), controller, launchTemplate: { name: 'ecs', version: '1' } },
    'notify',
  );
  await world.clock.run(600); // every task placed and healthy
  const template = world.group.launchTemplate?.launchTemplateId ?? '';
  const green = world.ec2.createLaunchTemplateVersion({
    launchTemplateId: template,
    sourceVersion: '1',
    data: { imageId: NEW_AMI },
  });
  // The rollout's own clients, built as sim/controller.ts builds the functions' (in-process transport).
  const clientConfig = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'simulated', secretAccessKey: 'simulated' },
    endpoint: 'http://127.0.0.1:9',
    requestHandler: new InProcessHandler(transport.target),
  };
  const timing = world.account.timing;
  const deps = {
    autoScaling: new AutoScalingAdapter(
      new AutoScalingClient({
        ...clientConfig,
        retryStrategy: world.account.retryStrategy('autoscaling', 5),
      }),
      new Pacer(10, 20, timing),
    ),
    ecs: new EcsAdapter(
      new ECSClient({ ...clientConfig, retryStrategy: world.account.retryStrategy('ecs', 5) }),
      new Pacer(5, 5, timing),
    ),
    timing,
    settings: { burnInSeconds: BURN_IN },
  };
  const run: Run = {
    world,
    reports: [],
    errors: [],
    request: { action: 'none', target: String(green.versionNumber) },
    originals: [...world.group.instances.keys()],
    async stepUntil(stop, hours = 4) {
      let stopped = false;
      const tick = () => {
        if (stopped) return;
        world.clock
          .spawn(() => stepBlueGreen(STACK.groupName, STACK.clusterName, deps, run.request))
          .then((report) => {
            run.reports.push(report);
            if (stop(report)) stopped = true;
          })
          .catch((error: unknown) => run.errors.push(error));
        world.clock.after(STEP_SECONDS, tick);
      };
      tick();
      await world.clock.run(world.clock.now + hours * 3600, () => stopped);
      stopped = true;
    },
  };
  return run;
}

/** Per replica service (daemons excepted): its floor, its lowest healthy count, and seconds at zero, since `from`. */
function serviceHealth(world: World, from: number) {
  return [...world.ecs.services.values()]
    .filter((service) => !service.spec.daemon)
    .map((service) => {
      const series = world.recorder.healthy.get(
        serviceKey([STACK.clusterName], STACK.clusterName, service.spec.name),
      );
      const t = series?.t ?? [];
      const count = series?.count ?? [];
      let lowest = Infinity;
      let secondsAtZero = 0;
      for (let n = 0; n < t.length; n++) {
        const at = t[n] ?? 0;
        const until = t[n + 1] ?? world.clock.now;
        if (until <= from) continue;
        const c = count[n] ?? 0;
        lowest = Math.min(lowest, c);
        if (c === 0) secondsAtZero += until - Math.max(at, from);
      }
      return { name: service.spec.name, floor: service.floor, lowest, secondsAtZero };
    });
}

/** The EC2 instances that run the cluster's tasks now (non-daemon, not stopped). */
function hostsOfTasks(world: World): Set<string> {
  const hosts = new Set<string>();
  for (const service of world.ecs.services.values())
    for (const task of service.tasks)
      if (!service.spec.daemon && task.lastStatus !== 'STOPPED') hosts.add(task.host.ec2InstanceId);
  return hosts;
}

describe('blue/green rollout in the twin, with the drain controller deployed', () => {
  it('replaces the whole fleet through a burn-in, with no service ever below its floor', async () => {
    const run = await start();
    const { world } = run;
    const from = world.clock.now;

    await run.stepUntil((report) => report.phase === 'done');

    expect(run.errors).toEqual([]);
    const phases = [...new Set(run.reports.map((r) => r.phase))];
    expect(phases).toEqual(['launching', 'draining-blue', 'standby', 'retiring', 'done']);
    // Blue waited the whole burn-in on standby, registered, DRAINING and empty.
    const standby = run.reports.filter((r) => r.phase === 'standby');
    expect(standby.length * STEP_SECONDS).toBeGreaterThanOrEqual(BURN_IN - STEP_SECONDS);
    // Every old instance terminated (released by the controller's hook), every task on the new AMI.
    await world.clock.run(world.clock.now + 600);
    for (const id of run.originals) expect(world.group.instances.has(id)).toBe(false);
    expect(world.group.instances.size).toBe(6);
    for (const instance of world.group.instances.values()) expect(instance.amiId).toBe(NEW_AMI);
    for (const host of hostsOfTasks(world)) expect(world.group.instances.get(host)?.amiId).toBe(NEW_AMI);
    expect(world.group).toMatchObject({ desired: 6, minSize: 0, maxSize: 13 });
    expect(world.group.launchTemplate?.version).toBe('2');
    expect(world.group.tags.has(BLUE_GREEN_TAG)).toBe(false);
    expect(world.recorder.lifecycleCompletionsByController).toBe(6);
    // Released at once by the hook: they were DRAINING and empty.
    for (const action of world.recorder.actions) expect(action.endedAt - action.startedAt).toBeLessThan(60);
    // The reconciler, which read blue DRAINING and empty all through the burn-in, may finish some of
    // these drains; no event was due (they were empty before the hook held them): no alert.
    const alerts = (world.api.published ?? []).map((published) => JSON.parse(published.message).key);
    expect(alerts).toEqual([]);

    expect(world.recorder.killedTasks).toEqual([]);
    for (const service of serviceHealth(world, from)) {
      expect(service.lowest).toBeGreaterThanOrEqual(service.floor);
      // worker (minimumHealthyPercent 0) too: blue drains a batch at a time, not all at once.
      expect(service.secondsAtZero).toBe(0);
    }
  });

  it('rolls back during the burn-in: the old fleet serves again, the new one is terminated, no service at zero', async () => {
    const run = await start();
    const { world } = run;
    const from = world.clock.now;
    await run.stepUntil((report) => report.phase === 'standby');
    // Half-way through the burn-in an operator asks for the way back.
    await world.clock.run(world.clock.now + BURN_IN / 2);
    const green = [...world.group.instances.keys()].filter((id) => !run.originals.includes(id));
    expect(green).toHaveLength(6);
    run.request = { action: 'rollback' };

    await run.stepUntil((report) => report.phase === 'rolled-back');
    await world.clock.run(world.clock.now + 600);

    expect(run.errors).toEqual([]);
    expect(run.reports.some((r) => r.phase === 'rolling-back')).toBe(true);
    // The old fleet is ACTIVE again and runs every task; the new one is gone.
    expect([...world.group.instances.keys()].sort()).toEqual([...run.originals].sort());
    for (const id of run.originals) {
      expect(world.group.instances.get(id)?.state).toBe('InService');
      expect(world.group.instances.get(id)?.protectedFromScaleIn).toBe(false);
      expect(world.ecs.containerInstancesOf(id)[0]?.status).toBe('ACTIVE');
    }
    for (const host of hostsOfTasks(world)) expect(run.originals).toContain(host);
    for (const service of world.ecs.services.values())
      if (!service.spec.daemon) expect(service.healthyCount).toBe(service.spec.desiredCount);
    expect(world.group).toMatchObject({ desired: 6, minSize: 0, maxSize: 13 });
    expect(world.group.launchTemplate?.version).toBe('1');
    expect(world.group.tags.get(BLUE_GREEN_TAG)?.value).toMatch(/phase=rolled-back;.*why=requested/);
    expect(world.recorder.killedTasks).toEqual([]);
    for (const service of serviceHealth(world, from)) {
      expect(service.lowest).toBeGreaterThanOrEqual(service.floor);
      expect(service.secondsAtZero).toBe(0);
    }
    // Rolled back: later steps with the same target change nothing.
    const before = run.reports.length;
    run.request = { action: 'none', target: '2' };
    await run.stepUntil(() => false, 0.1);
    expect(run.reports.slice(before).every((r) => r.commands.length === 0)).toBe(true);
  });
});
