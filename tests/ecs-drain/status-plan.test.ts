import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  ECSClient,
  DescribeContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { EcsAdapter } from '../../shared/aws/ecs';
import { Pacer } from '../../shared/aws/pacer';
import type { PlanResult } from '../../scripts/ecs-drain/commands/plan';
import type { StatusReport } from '../../scripts/ecs-drain/commands/status-report';
import { EXIT } from '../../scripts/ecs-drain/context';
import { type LiveWorld, serveLive } from '../../sim/live';
import { buildWorld, ClusterShape, defaultOptions } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { ecsDrain } from '../helpers/ecs-drain';

// Six instances; `pinned` runs one task per instance with min 100 % / max 100 %: its tasks can never
// move, so a drain of any instance never finishes by itself. The hook holds terminating instances
// (Terminating:Wait) without a controller: the test drains them as the start function would.
const SHAPE = ClusterShape.parse({
  instances: 6,
  services: [
    {
      name: 'web',
      desiredCount: 6,
      minimumHealthyPercent: 50,
      maximumPercent: 200,
      startupSeconds: 5,
      stopSeconds: 5,
    },
    {
      name: 'pinned',
      desiredCount: 6,
      minimumHealthyPercent: 100,
      maximumPercent: 100,
      staticHostPort: true,
    },
    { name: 'log-router', daemon: true, cpu: 64, memory: 128, startupSeconds: 5, stopSeconds: 5 },
  ],
});

describe('ecs-drain status and plan, against the live twin', () => {
  let live: LiveWorld;
  let endpoint: string[];
  const clientConfig = () => ({
    endpoint: live.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  beforeAll(async () => {
    live = await serveLive(buildWorld(defaultOptions(SHAPE), 'silent'), { speed: 10 });
    endpoint = ['--endpoint-url', live.url, '--region', 'us-east-1'];
  });
  afterAll(() => live.close());

  it('status: every instance of the account’s clusters with its group, AMI, ECS status and tasks; exit 0', async () => {
    const text = await ecsDrain([...endpoint, 'status']);
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toContain('INSTANCE');
    expect(text.stdout).toContain('no drain in progress');
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    const json = await ecsDrain([...endpoint, '--json', 'status']);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.clusters).toEqual([STACK.clusterName]);
    expect(report.groups.map((g) => g.name)).toEqual([STACK.groupName]);
    expect(report.instances).toHaveLength(6);
    expect(report.instances[0]).toMatchObject({
      cluster: STACK.clusterName,
      group: STACK.groupName,
      lifecycleState: 'InService',
      status: 'ACTIVE',
      agentConnected: true,
    });
    expect(report.drains).toEqual([]);
  }, 30_000);

  it('plan --scale-in predicts the instances the twin then takes out, in its order, and that pinned cannot move', async () => {
    const { code, stdout } = await ecsDrain([
      ...endpoint,
      '--json',
      'plan',
      '--group',
      STACK.groupName,
      '--scale-in',
      '2',
    ]);
    expect(code).toBe(EXIT.ok);
    const plan = JSON.parse(stdout) as PlanResult;
    const predicted = (plan.steps ?? []).map((step) => step.instanceId);
    expect(predicted).toHaveLength(2);
    expect(plan.services.find((s) => s.service === 'pinned')?.verdict.kind).toBe('cannot-move');
    expect(plan.services.find((s) => s.service === 'web')?.verdict.kind).toBe('keeps-floor');
    expect(plan.warnings.join('\n')).toMatch(/pinned cannot move/);

    // The rehearsal: the same scale-in, through the endpoint.
    const autoScaling = new AutoScalingClient(clientConfig());
    await autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: STACK.groupName, DesiredCapacity: 4 }),
    );
    const taken = await waitFor(async () => {
      const output = await autoScaling.send(
        new DescribeScalingActivitiesCommand({ AutoScalingGroupName: STACK.groupName }),
      );
      // Newest first: the order of selection is the reverse.
      const terminations = (output.Activities ?? [])
        .filter((a) => a.Description?.startsWith('Terminating'))
        .map((a) => a.Description?.split(': ')[1] ?? '')
        .reverse();
      return terminations.length === 2 ? terminations : undefined;
    });
    autoScaling.destroy();
    expect(taken).toEqual(predicted);
  }, 60_000);

  it('status explains a drain held by a min 100 / max 100 service, with its age and deadline', async () => {
    const autoScaling = new AutoScalingClient(clientConfig());
    const ecs = new ECSClient(clientConfig());
    const groups = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [STACK.groupName] }),
    );
    const held = (groups.AutoScalingGroups?.[0]?.Instances ?? [])
      .filter((i) => i.LifecycleState === 'Terminating:Wait')
      .map((i) => i.InstanceId ?? '');
    expect(held).toHaveLength(2);
    // What the start function does: the drain's start recorded, then DRAINING.
    const adapter = new EcsAdapter(ecs, new Pacer(100, 100));
    const arns = await adapter.listContainerInstancesOf(STACK.clusterName, held);
    const startedAt = Date.now() - 600_000;
    await adapter.markDrainStarted(
      STACK.clusterName,
      arns.map((arn) => ({ arn, at: startedAt })),
    );
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: STACK.clusterName,
        containerInstances: arns,
        status: 'DRAINING',
      }),
    );
    // ECS moves web's tasks away; pinned's stay.
    await waitFor(async () => {
      const output = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster: STACK.clusterName, containerInstances: arns }),
      );
      return (output.containerInstances ?? []).every((i) => (i.runningTasksCount ?? 0) <= 2)
        ? true
        : undefined;
    });
    ecs.destroy();
    autoScaling.destroy();

    const { code, stdout } = await ecsDrain([
      ...endpoint,
      '--json',
      'status',
      '--cluster',
      STACK.clusterName,
      '--drain-deadline',
      '3600',
    ]);
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout) as StatusReport;
    expect(report.drains.map((d) => d.ec2InstanceId).sort()).toEqual([...held].sort());
    for (const drain of report.drains) {
      expect(drain.lifecycleState).toBe('Terminating:Wait');
      expect(drain.ageSeconds).toBeGreaterThanOrEqual(600);
      expect(drain.deadlineInSeconds).toBeLessThanOrEqual(3000);
      expect(drain.holding).toContainEqual(
        expect.objectContaining({
          kind: 'service-bounds',
          service: 'pinned',
          minimumHealthyPercent: 100,
          maximumPercent: 100,
        }),
      );
      expect(drain.summary).toMatch(/pinned: 1/);
    }
    const text = await ecsDrain([...endpoint, 'status', '--cluster', STACK.clusterName]);
    expect(text.stdout).toMatch(
      /service pinned \(1 task\(s\)\): min 100 % \/ max 100 % forbids replacing them/,
    );
    expect(text.stdout).toMatch(/draining for 1\dm\d\ds, deadline in 4\dm/);
  }, 60_000);

  it.each([
    [['status', '--cluster', 'nope'], 'no cluster named nope'],
    [['status', '--group', 'nope-asg'], 'no Auto Scaling group named nope-asg'],
    [['plan', '--group', 'nope-asg', '--scale-in', '1'], 'no Auto Scaling group named nope-asg'],
  ])('%j: exit 3 and one line', async (argv, message) => {
    const { code, stderr } = await ecsDrain([...endpoint, ...argv]);
    expect(code).toBe(EXIT.notFound);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['status', '--bogus']],
    [['plan', '--group', 'g']],
    [['plan', '--group', 'g', '--scale-in', '1', '--refresh']],
    [['plan', '--group', 'g', '--scale-in', 'two']],
    [['status', '--ami-variant', 'windows']],
  ])('%j: usage, exit 2, one line, nothing called', async (argv) => {
    const calls = [...live.world.api.calls.values()].reduce((sum, n) => sum + n, 0);
    const { code, stderr, stdout } = await ecsDrain([...endpoint, ...argv]);
    expect(code).toBe(EXIT.usage);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect([...live.world.api.calls.values()].reduce((sum, n) => sum + n, 0)).toBe(calls);
  });

  it('throttling that outlasts the retries: status exits 5 with one line', async () => {
    live.world.api.faults = { ...live.world.api.faults, throttle: 1 };
    const saved = process.env.AWS_MAX_ATTEMPTS;
    process.env.AWS_MAX_ATTEMPTS = '2';
    try {
      const { code, stderr } = await ecsDrain([...endpoint, 'status']);
      expect(code).toBe(EXIT.throttled);
      expect(stderr).toMatch(/^ecs-drain status: AWS is throttling/);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      live.world.api.faults = { ...live.world.api.faults, throttle: 0 };
      if (saved === undefined) delete process.env.AWS_MAX_ATTEMPTS;
      else process.env.AWS_MAX_ATTEMPTS = saved;
    }
  }, 30_000);
});

async function waitFor<T>(look: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
