import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createWatchAmiHandler } from '../../functions/watch-ami/app';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { Pacer } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { SsmAdapter } from '../../shared/aws/ssm';
import { BLUE_GREEN_DEFAULTS } from '../../shared/decisions/blue-green';
import { REFRESH_DEFAULTS } from '../../shared/decisions/refresh-plan';
import { logger } from '../../shared/observability';
import type { WatcherConfig } from '../../shared/rollout/config';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointConfig } from '../helpers/endpoint';

// The real watcher, through real SDK clients, against the twin: a launch-template group, AWS
// publishes a new ECS-optimized AMI, and the watcher pins it and starts an ECS-safe refresh.

const NEW_AMI = 'ami-0feed000000000001';

let world: World;
let server: RunningServer;
const clients: { destroy(): void }[] = [];

beforeEach(async () => {
  world = buildWorld(
    { ...defaultOptions(demoShape(6)), launchTemplate: { name: 'ecs', version: '1' } },
    'none',
  );
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await server.close();
});

function watcher(dryRun: boolean) {
  const config: WatcherConfig = {
    groups: [{ cluster: 'demo', autoScalingGroupName: world.group.spec.name }],
    variant: 'amazon-linux-2023',
    dryRun,
    refresh: {
      ...REFRESH_DEFAULTS,
      checkpointDelaySeconds: 60,
      alarmNames: ['ecs-drain-DeadlineReachedAlarm'],
    },
    strategy: 'rolling',
    blueGreen: BLUE_GREEN_DEFAULTS,
    alertTopicArn: STACK.alertTopicArn,
  };
  const options = endpointConfig(server.url);
  const ssm = new SSMClient(options);
  const ec2 = new EC2Client(options);
  const autoScaling = new AutoScalingClient(options);
  const sns = new SNSClient(options);
  clients.push(ssm, ec2, autoScaling, sns);
  return createWatchAmiHandler({
    config,
    ssm: new SsmAdapter(ssm),
    ec2: new Ec2Adapter(ec2),
    // Faster than the watcher's share (autoScalingPacer('watcher')): this test runs on the real clock.
    autoScaling: new AutoScalingAdapter(autoScaling, new Pacer(100, 100)),
    alerts: new AlertPublisher(sns, config.alertTopicArn),
    logger,
  });
}

const template = () => [...world.ec2.templates.values()][0];

it('leaves an up-to-date group alone', async () => {
  const report = await watcher(false)();
  expect(report.groups).toEqual([expect.objectContaining({ decision: 'up-to-date' })]);
  expect(template()?.versions).toHaveLength(1);
  expect(world.group.refreshes).toEqual([]);
});

it('pins a newly published AMI in a numbered version, refreshes to it, and refuses a second refresh', async () => {
  world.ssm.publishEcsOptimizedAmi('amazon-linux-2023', NEW_AMI);

  const first = await watcher(false)();

  expect(first.groups).toEqual([
    expect.objectContaining({
      decision: 'roll-out',
      launchTemplateVersion: 2,
      instanceRefreshId: expect.any(String),
    }),
  ]);
  const versions = template()?.versions ?? [];
  expect(versions.map((version) => [version.versionNumber, version.data.imageId])).toEqual([
    [1, versions[0]?.data.imageId],
    [2, NEW_AMI],
  ]);
  expect(versions[0]?.data.imageId).not.toBe(NEW_AMI);
  const refresh = world.group.refreshes[0];
  expect(refresh?.status).toBe('InProgress');
  expect(refresh?.spec).toMatchObject({
    minHealthyPercentage: 100,
    maxHealthyPercentage: 200,
    instanceWarmup: 300,
    skipMatching: true,
    autoRollback: true,
    checkpointPercentages: [10, 50, 100],
    checkpointDelay: 60,
    desiredConfiguration: { launchTemplate: { version: '2' } },
  });
  expect(world.api.published?.map((message) => message.subject)).toEqual([
    `AMI rollout of ${world.group.spec.name} started: ${NEW_AMI}`,
  ]);

  // An hour later the refresh still runs (checkpoints, burn-in): the watcher says so and changes nothing.
  await world.clock.run(world.clock.now + 60);
  const second = await watcher(false)();
  expect(second.groups).toEqual([
    expect.objectContaining({
      decision: 'refresh-running',
      reason: expect.stringContaining(refresh?.id ?? '?'),
    }),
  ]);
  expect(template()?.versions).toHaveLength(2);
  expect(world.group.refreshes).toHaveLength(1);
});

it('changes nothing in a dry run', async () => {
  world.ssm.publishEcsOptimizedAmi('amazon-linux-2023', NEW_AMI);
  const report = await watcher(true)();
  expect(report.groups).toEqual([
    expect.objectContaining({ decision: 'dry-run', reason: expect.stringContaining(NEW_AMI) }),
  ]);
  expect(template()?.versions).toHaveLength(1);
  expect(world.group.refreshes).toEqual([]);
  expect(world.api.published ?? []).toEqual([]);
});
