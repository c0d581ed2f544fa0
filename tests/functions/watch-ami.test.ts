import {
  AutoScalingClient,
  type AutoScalingGroup,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  type DescribeAutoScalingGroupsCommandInput,
  type InstanceRefreshStatus,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  SetInstanceProtectionCommand,
  StartInstanceRefreshCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  type DescribeContainerInstancesCommandInput,
  ECSClient,
  ListContainerInstancesCommand,
  type ListContainerInstancesCommandInput,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createWatchAmiHandler } from '../../functions/watch-ami/app';
import { handler } from '../../functions/watch-ami/handler';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { EcsAdapter } from '../../shared/aws/ecs';
import { Pacer } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { SsmAdapter } from '../../shared/aws/ssm';
import { BLUE_GREEN_TAG } from '../../shared/decisions/ami-watch';
import { BLUE_GREEN_DEFAULTS } from '../../shared/decisions/blue-green';
import { REFRESH_DEFAULTS } from '../../shared/decisions/refresh-plan';
import { logger } from '../../shared/observability';
import type { WatcherConfig } from '../../shared/rollout/config';
import type { ScheduledEvent } from 'aws-lambda';
import { loadEvent } from '../helpers/events';
import { InstantTiming } from '../helpers/timing';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const autoScaling = mockClient(AutoScalingClient);
const sns = mockClient(SNSClient);
const ecs = mockClient(ECSClient);

const GROUP = 'prod-ecs-asg';
const OLD = 'ami-0aaaaaaaaaaaaaaa1';
const NEW = 'ami-0bbbbbbbbbbbbbbb2';
const LT = 'lt-0123456789abcdef0';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ecs-drain-AlertTopic';
const IMAGE_ID_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';
const WRITES = [CreateLaunchTemplateVersionCommand, StartInstanceRefreshCommand] as const;

const config: WatcherConfig = {
  groups: [{ cluster: 'prod', autoScalingGroupName: GROUP }],
  variant: 'amazon-linux-2023',
  dryRun: false,
  refresh: { ...REFRESH_DEFAULTS, alarmNames: ['ecs-drain-DeadlineReachedAlarm'] },
  strategy: 'rolling',
  blueGreen: BLUE_GREEN_DEFAULTS,
  alertTopicArn: TOPIC,
};

/** A watcher over real adapters and mocked clients (every client of a class is mocked). */
function watcher(changes: Partial<WatcherConfig> = {}) {
  const settings = { ...config, ...changes };
  return createWatchAmiHandler({
    config: settings,
    ssm: new SsmAdapter(new SSMClient({})),
    ec2: new Ec2Adapter(new EC2Client({})),
    // Faster than the watcher's share (autoScalingPacer('watcher')): these tests run on the real clock.
    autoScaling: new AutoScalingAdapter(new AutoScalingClient({}), new Pacer(100, 100)),
    alerts: new AlertPublisher(new SNSClient({}), settings.alertTopicArn),
    logger,
  });
}

function recommends(imageId: string) {
  ssm.on(GetParametersCommand).resolves({
    Parameters: [
      { Name: IMAGE_ID_PARAMETER, Value: imageId },
      {
        Name: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended',
        Value: JSON.stringify({
          image_id: imageId,
          image_name: 'al2023-ami-ecs-hvm-2026.0.1-kernel-6.1-x86_64',
        }),
      },
    ],
    InvalidParameters: [],
  });
}

function group(changes: Partial<AutoScalingGroup> = {}) {
  autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: GROUP,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: 3,
        DefaultCooldown: 300,
        AvailabilityZones: ['us-east-1a'],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(0),
        LaunchTemplate: { LaunchTemplateId: LT, LaunchTemplateName: 'ecs', Version: '3' },
        Tags: [],
        ...changes,
      },
    ],
  });
}

function versions(...list: LaunchTemplateVersion[]) {
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: list });
}
const version = (number: number, imageId: string, description?: string): LaunchTemplateVersion => ({
  LaunchTemplateId: LT,
  LaunchTemplateName: 'ecs',
  VersionNumber: number,
  LaunchTemplateData: { ImageId: imageId },
  ...(description !== undefined && { VersionDescription: description }),
});

function latestRefresh(status?: string) {
  autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
    InstanceRefreshes:
      status === undefined
        ? []
        : [{ InstanceRefreshId: 'r-running', Status: status as InstanceRefreshStatus }],
  });
}

let info: jest.SpyInstance;
let warn: jest.SpyInstance;
beforeEach(() => {
  for (const client of [ssm, ec2, autoScaling, sns, ecs]) client.reset();
  recommends(NEW);
  group();
  versions(version(3, OLD));
  latestRefresh('Successful');
  ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: version(4, NEW) });
  autoScaling.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'r-new' });
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  info = jest.spyOn(logger, 'info');
  warn = jest.spyOn(logger, 'warn');
});
afterEach(() => jest.restoreAllMocks());

function expectNoWrite() {
  expect(ec2).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
  expect(autoScaling).not.toHaveReceivedCommand(StartInstanceRefreshCommand);
  expect(WRITES).toHaveLength(2);
}

describe('the AMI watcher', () => {
  it('reads both AMI parameters of the variant in one call, and the group version and $Latest in one', async () => {
    await watcher()();
    expect(ssm).toHaveReceivedCommandTimes(GetParametersCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetParametersCommand, {
      Names: [IMAGE_ID_PARAMETER, '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended'],
    });
    expect(ec2).toHaveReceivedCommandWith(DescribeLaunchTemplateVersionsCommand, {
      LaunchTemplateId: LT,
      Versions: ['3', '$Latest'],
    });
    expect(autoScaling).toHaveReceivedCommandWith(DescribeInstanceRefreshesCommand, {
      AutoScalingGroupName: GROUP,
      MaxRecords: 1,
    });
  });

  it('does nothing to a group that launches the recommended AMI', async () => {
    versions(version(3, NEW));
    const report = await watcher()();
    expect(report.groups).toEqual([
      expect.objectContaining({ autoScalingGroupName: GROUP, decision: 'up-to-date' }),
    ]);
    expectNoWrite();
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('pins a newer AMI in a new version from the group version, refreshes to it ECS-safely, and alerts', async () => {
    const report = await watcher()();

    expect(ec2).toHaveReceivedCommandTimes(CreateLaunchTemplateVersionCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(CreateLaunchTemplateVersionCommand, {
      LaunchTemplateId: LT,
      SourceVersion: '3',
      LaunchTemplateData: { ImageId: NEW },
      VersionDescription: expect.stringContaining(
        `${NEW} (al2023-ami-ecs-hvm-2026.0.1-kernel-6.1-x86_64) from version 3`,
      ),
    });
    expect(autoScaling).toHaveReceivedCommandTimes(StartInstanceRefreshCommand, 1);
    expect(autoScaling).toHaveReceivedCommandWith(StartInstanceRefreshCommand, {
      AutoScalingGroupName: GROUP,
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: LT, Version: '4' } },
      Preferences: {
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 200,
        SkipMatching: true,
        AutoRollback: true,
        CheckpointPercentages: [10, 50, 100],
        CheckpointDelay: 900,
        InstanceWarmup: 300,
        AlarmSpecification: { Alarms: ['ecs-drain-DeadlineReachedAlarm'] },
        ScaleInProtectedInstances: 'Refresh',
        StandbyInstances: 'Ignore',
      },
    });
    expect(report.groups).toEqual([
      expect.objectContaining({ decision: 'roll-out', launchTemplateVersion: 4, instanceRefreshId: 'r-new' }),
    ]);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: `AMI rollout of ${GROUP} started: ${NEW}`,
    });
    expect(info).toHaveBeenCalledWith(
      'ami watch',
      expect.objectContaining({
        autoScalingGroupName: GROUP,
        decision: 'roll-out',
        instanceRefreshId: 'r-new',
      }),
    );
  });

  it('refreshes to the version an earlier run created instead of creating another', async () => {
    versions(version(3, OLD), version(4, NEW, `ecs-drain ami-watch: ${NEW} from version 3`));
    await watcher()();
    expect(ec2).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
    expect(autoScaling).toHaveReceivedCommandWith(StartInstanceRefreshCommand, {
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: LT, Version: '4' } },
    });
  });

  it.each(['InProgress', 'Pending', 'RollbackInProgress', 'Baking', 'Cancelling'])(
    'refuses while a refresh is %s, says why, and alerts',
    async (status) => {
      latestRefresh(status);
      const report = await watcher()();
      expectNoWrite();
      expect(report.groups).toEqual([
        expect.objectContaining({
          decision: 'refresh-running',
          reason: expect.stringContaining(`r-running is ${status}`),
        }),
      ]);
      expect(sns).toHaveReceivedCommandWith(PublishCommand, {
        Subject: `AMI rollout of ${GROUP} waits: ${NEW}`,
      });
    },
  );

  it('refuses while a blue/green rollout holds the group', async () => {
    group({ Tags: [{ Key: BLUE_GREEN_TAG, Value: 'green', ResourceId: GROUP }] });
    const report = await watcher()();
    expectNoWrite();
    expect(report.groups[0]?.decision).toBe('refresh-running');
  });

  it('only reports in a dry run: no write call and no alert', async () => {
    const report = await watcher({ dryRun: true })();
    expectNoWrite();
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(report).toMatchObject({
      dryRun: true,
      groups: [{ decision: 'dry-run', currentImage: OLD, reason: expect.stringContaining(NEW) }],
    });
  });

  it('refuses a recommended value that is not an AMI id, with a structured warning, and writes nothing', async () => {
    recommends('{"oops": true}');
    const report = await watcher()();
    expectNoWrite();
    expect(report.groups[0]).toMatchObject({
      decision: 'cannot',
      reason: expect.stringContaining('not an AMI id'),
    });
    expect(warn).toHaveBeenCalledWith(
      'ami watch',
      expect.objectContaining({
        autoScalingGroupName: GROUP,
        decision: 'cannot',
        reason: expect.stringContaining(IMAGE_ID_PARAMETER),
        fix: expect.any(String),
      }),
    );
  });

  it.each<[string, Partial<AutoScalingGroup>]>([
    ['$Latest', { LaunchTemplate: { LaunchTemplateId: LT, Version: '$Latest' } }],
    ['a mixed instances policy', { LaunchTemplate: undefined, MixedInstancesPolicy: {} }],
    ['a launch configuration', { LaunchTemplate: undefined, LaunchConfigurationName: 'old' }],
  ])(
    'cannot refresh a group with %s: says what to change and reads no launch template',
    async (_, changes) => {
      group(changes);
      const report = await watcher()();
      expectNoWrite();
      expect(ec2).not.toHaveReceivedCommand(DescribeLaunchTemplateVersionsCommand);
      expect(report.groups[0]).toMatchObject({ decision: 'cannot', fix: expect.any(String) });
    },
  );

  it('cannot refresh a version that takes its AMI from SSM', async () => {
    versions(version(3, 'resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id'));
    const report = await watcher()();
    expectNoWrite();
    expect(report.groups[0]).toMatchObject({
      decision: 'cannot',
      reason: expect.stringContaining('AutoRollback'),
    });
  });

  it('reports a served group that does not exist, and goes on', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const report = await watcher()();
    expect(report.groups).toEqual([expect.objectContaining({ decision: 'not-found' })]);
    expectNoWrite();
  });

  it('fails the run when a group could not be refreshed (the next run tries again), after the other groups', async () => {
    autoScaling.on(StartInstanceRefreshCommand).rejects(new Error('InstanceRefreshInProgress'));
    await expect(watcher()()).rejects.toThrow(/AMI watch failed for prod-ecs-asg/);
  });

  it('is deployed from handler.ts in dry run by default, and ignores the scheduled event it gets', async () => {
    const event = loadEvent<ScheduledEvent>('scheduled-event.json');
    expect(event['detail-type']).toBe('Scheduled Event');
    const report = await handler();
    expect(report).toMatchObject({
      dryRun: true,
      groups: [{ autoScalingGroupName: GROUP, decision: 'dry-run' }],
    });
    expectNoWrite();
  });
});

describe('the AMI watcher with RolloutStrategy blue-green', () => {
  const NOW = Date.UTC(2026, 0, 10, 12);
  const SINCE = NOW / 1000 - 120;
  const BATCH = 'batch-asg';
  const bgConfig: Partial<WatcherConfig> = {
    strategy: 'blue-green',
    groups: [
      { cluster: 'prod', autoScalingGroupName: GROUP },
      { cluster: 'batch', autoScalingGroupName: BATCH },
    ],
  };
  /** The Auto Scaling calls that change something. */
  const WRITE_COMMANDS = [
    'CreateOrUpdateTagsCommand',
    'DeleteTagsCommand',
    'SetInstanceProtectionCommand',
    'TerminateInstanceInAutoScalingGroupCommand',
    'UpdateAutoScalingGroupCommand',
    'StartInstanceRefreshCommand',
  ];
  const autoScalingWrites = () =>
    autoScaling
      .calls()
      .map((call) => call.args[0].constructor.name)
      .filter((name) => WRITE_COMMANDS.includes(name));

  /** An EC2 instance of a group, launched from a version, and its container instance. */
  interface Host {
    id: string;
    version: string;
    status?: 'ACTIVE' | 'DRAINING';
    tasks?: number;
    protectedFromScaleIn?: boolean;
  }
  const arn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:container-instance/${id}`;
  const blue = (status: Host['status'] = 'ACTIVE', tasks = 3): Host[] =>
    ['i-0b1', 'i-0b2'].map((id) => ({ id, version: '3', status, tasks, protectedFromScaleIn: true }));
  const green = (): Host[] =>
    ['i-0g1', 'i-0g2'].map((id) => ({ id, version: '4', status: 'ACTIVE', tasks: 0 }));
  const state = (phase: string, extra = '') =>
    `v=1;phase=${phase};blue=3;green=4;n=2;min=0;max=10;desired=2;since=${SINCE}${extra}`;

  function asg(name: string, hosts: Host[], changes: Partial<AutoScalingGroup> = {}): AutoScalingGroup {
    return {
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: hosts.length,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-east-1a'],
      HealthCheckType: 'EC2',
      CreatedTime: new Date(0),
      LaunchTemplate: { LaunchTemplateId: LT, LaunchTemplateName: 'ecs', Version: '3' },
      Instances: hosts.map((host) => ({
        InstanceId: host.id,
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        AvailabilityZone: 'us-east-1a',
        ProtectedFromScaleIn: host.protectedFromScaleIn ?? false,
        LaunchTemplate: { LaunchTemplateId: LT, Version: host.version },
      })),
      Tags: [],
      ...changes,
    };
  }
  const tagged = (value: string) => ({ Tags: [{ Key: BLUE_GREEN_TAG, Value: value, ResourceId: GROUP }] });

  /** Auto Scaling answers for the groups asked about; ECS for the container instances of these hosts. */
  function world(groups: AutoScalingGroup[], hosts: Host[]) {
    autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .callsFake((input: DescribeAutoScalingGroupsCommandInput) => ({
        AutoScalingGroups: groups.filter((g) =>
          input.AutoScalingGroupNames?.includes(g.AutoScalingGroupName ?? ''),
        ),
      }));
    ecs.on(ListContainerInstancesCommand).callsFake((input: ListContainerInstancesCommandInput) => ({
      containerInstanceArns: hosts
        .filter((host) => input.filter?.includes(host.id))
        .map((host) => arn(host.id)),
    }));
    ecs.on(DescribeContainerInstancesCommand).callsFake((input: DescribeContainerInstancesCommandInput) => ({
      containerInstances: hosts
        .filter((host) => input.containerInstances?.includes(arn(host.id)))
        .map((host) => ({
          containerInstanceArn: arn(host.id),
          ec2InstanceId: host.id,
          status: host.status ?? 'ACTIVE',
          agentConnected: true,
          runningTasksCount: host.tasks ?? 0,
          pendingTasksCount: 0,
        })),
      failures: [],
    }));
    autoScaling.on(CreateOrUpdateTagsCommand).resolves({});
    autoScaling.on(DeleteTagsCommand).resolves({});
    autoScaling.on(SetInstanceProtectionCommand).resolves({});
    autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
    autoScaling.on(UpdateAutoScalingGroupCommand).resolves({});
    ecs.on(UpdateContainerInstancesStateCommand).resolves({ failures: [] });
  }

  function bgWatcher(changes: Partial<WatcherConfig> = {}) {
    const settings = { ...config, ...bgConfig, ...changes };
    const timing = new InstantTiming();
    return createWatchAmiHandler({
      config: settings,
      ssm: new SsmAdapter(new SSMClient({})),
      ec2: new Ec2Adapter(new EC2Client({})),
      autoScaling: new AutoScalingAdapter(new AutoScalingClient({}), new Pacer(100, 100, timing)),
      alerts: new AlertPublisher(new SNSClient({}), settings.alertTopicArn),
      ecs: new EcsAdapter(new ECSClient({}), new Pacer(100, 100, timing)),
      timing: { now: () => NOW },
      logger,
    });
  }

  const names = (calls: { args: unknown[] }[]) =>
    calls.map(
      (call) =>
        (call.args[0] as { input: DescribeAutoScalingGroupsCommandInput }).input.AutoScalingGroupNames,
    );

  it('pins the new AMI exactly as a refresh would, then starts a blue/green rollout to it instead of a refresh', async () => {
    world(
      [
        asg(
          GROUP,
          blue('ACTIVE', 3).map((host) => ({ ...host, protectedFromScaleIn: false })),
        ),
      ],
      blue(),
    );

    const report = await bgWatcher({ groups: [{ cluster: 'prod', autoScalingGroupName: GROUP }] })({
      action: 'watch',
    });

    expect(ec2).toHaveReceivedCommandTimes(CreateLaunchTemplateVersionCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(CreateLaunchTemplateVersionCommand, {
      LaunchTemplateId: LT,
      SourceVersion: '3',
      LaunchTemplateData: { ImageId: NEW },
    });
    expect(autoScaling).not.toHaveReceivedCommand(StartInstanceRefreshCommand);
    expect(autoScaling).toHaveReceivedCommandWith(CreateOrUpdateTagsCommand, {
      Tags: [
        expect.objectContaining({
          ResourceId: GROUP,
          Key: BLUE_GREEN_TAG,
          Value: `v=1;phase=launching;blue=3;green=4;n=2;min=0;max=10;desired=2;since=${NOW / 1000}`,
        }),
      ],
    });
    expect(autoScaling).toHaveReceivedCommandWith(SetInstanceProtectionCommand, {
      AutoScalingGroupName: GROUP,
      InstanceIds: ['i-0b1', 'i-0b2'],
      ProtectedFromScaleIn: true,
    });
    expect(autoScaling).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: GROUP,
      DesiredCapacity: 4,
      LaunchTemplate: { LaunchTemplateId: LT, Version: '4' },
    });
    expect(report.groups).toEqual([
      expect.objectContaining({
        decision: 'roll-out',
        launchTemplateVersion: 4,
        blueGreen: { phase: 'launching', reason: expect.stringContaining('version 4') },
      }),
    ]);
    // Read once by the watch, once by the rollout's first step; the rollout is not stepped twice.
    expect(autoScaling).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 2);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Subject: `AMI rollout of ${GROUP} started (blue/green): ${NEW}`,
    });
  });

  it('a step run steps only the served groups that carry the tag, and does nothing else', async () => {
    const hosts = [...blue(), ...green()];
    world(
      [
        asg(GROUP, hosts, {
          DesiredCapacity: 4,
          LaunchTemplate: { LaunchTemplateId: LT, Version: '4' },
          ...tagged(state('launching')),
        }),
        asg(BATCH, [{ id: 'i-0c1', version: '3', status: 'ACTIVE', tasks: 2 }]),
      ],
      [...hosts, { id: 'i-0c1', version: '3', status: 'ACTIVE', tasks: 2 }],
    );

    const report = await bgWatcher()(loadEvent('rollout-step.json'));

    // One read of every served group, then the tagged one's own step.
    expect(names(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand))).toEqual([
      [GROUP, BATCH],
      [GROUP],
    ]);
    // Green is ready: blue starts draining, a quarter of it at a time, and the tag records it.
    expect(ecs).toHaveReceivedCommandTimes(UpdateContainerInstancesStateCommand, 1);
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [arn('i-0b1')],
      status: 'DRAINING',
    });
    expect(autoScaling).toHaveReceivedCommandWith(CreateOrUpdateTagsCommand, {
      Tags: [
        expect.objectContaining({ ResourceId: GROUP, Value: expect.stringContaining('phase=draining-blue') }),
      ],
    });
    for (const call of ecs.commandCalls(ListContainerInstancesCommand))
      expect(call.args[0].input.cluster).toBe('prod');
    expect(report).toMatchObject({
      action: 'step',
      groups: [],
      rollouts: [{ autoScalingGroupName: GROUP, cluster: 'prod', phase: 'draining-blue' }],
    });
    expect(ssm.calls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(0);
    expect(autoScaling).not.toHaveReceivedCommand(DescribeInstanceRefreshesCommand);
    expect(autoScaling).not.toHaveReceivedCommand(StartInstanceRefreshCommand);
  });

  it('a step run with no rollout in progress reads the groups and changes nothing', async () => {
    world([asg(GROUP, blue()), asg(BATCH, [])], blue());
    const report = await bgWatcher()({ action: 'step' });
    expect(report.rollouts).toEqual([]);
    expect(autoScaling.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'DescribeAutoScalingGroupsCommand',
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('a watch run steps the rollouts in progress too, and starts none over them', async () => {
    const hosts = [...blue(), ...green()];
    world([asg(GROUP, hosts, { DesiredCapacity: 4, ...tagged(state('launching')) })], hosts);
    const report = await bgWatcher({ groups: [{ cluster: 'prod', autoScalingGroupName: GROUP }] })();
    expect(report.groups).toEqual([expect.objectContaining({ decision: 'refresh-running' })]);
    expect(ec2).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
    expect(report.rollouts).toEqual([expect.objectContaining({ phase: 'draining-blue' })]);
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, { status: 'DRAINING' });
  });

  it('dry run holds back new rollouts, not the steps of one in progress', async () => {
    const hosts = [...blue(), ...green()];
    world(
      [
        asg(GROUP, hosts, { DesiredCapacity: 4, ...tagged(state('launching')) }),
        asg(BATCH, [{ id: 'i-0c1', version: '3' }]),
      ],
      [...hosts, { id: 'i-0c1', version: '3' }],
    );
    const report = await bgWatcher({ dryRun: true })();
    expect(report.groups.map((group) => group.decision)).toEqual(['refresh-running', 'dry-run']);
    expect(ec2).not.toHaveReceivedCommand(CreateLaunchTemplateVersionCommand);
    expect(autoScaling).not.toHaveReceivedCommandWith(CreateOrUpdateTagsCommand, {
      Tags: [expect.objectContaining({ ResourceId: BATCH })],
    });
    expect(report.rollouts).toEqual([
      expect.objectContaining({ autoScalingGroupName: GROUP, phase: 'draining-blue' }),
    ]);
  });

  it('a rollback input reaches the state machine as a rollback: blue comes back ACTIVE, the group launches blue again', async () => {
    const hosts = [...blue('DRAINING', 0), ...green()];
    world(
      [
        asg(GROUP, hosts, {
          DesiredCapacity: 4,
          LaunchTemplate: { LaunchTemplateId: LT, Version: '4' },
          ...tagged(state('standby', `;until=${NOW / 1000 + 1800}`)),
        }),
      ],
      hosts,
    );

    const report = await bgWatcher()(loadEvent('rollout-rollback.json'));

    expect(autoScaling).toHaveReceivedCommandWith(CreateOrUpdateTagsCommand, {
      Tags: [
        expect.objectContaining({
          Value: expect.stringMatching(/phase=rolling-back;.*why=requested/),
        }),
      ],
    });
    expect(ecs).toHaveReceivedCommandWith(UpdateContainerInstancesStateCommand, {
      cluster: 'prod',
      containerInstances: [arn('i-0b1'), arn('i-0b2')],
      status: 'ACTIVE',
    });
    expect(autoScaling).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: GROUP,
      LaunchTemplate: { LaunchTemplateId: LT, Version: '3' },
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Subject: `blue/green rollback of ${GROUP}` });
    expect(report).toMatchObject({
      action: 'rollback',
      rollouts: [{ autoScalingGroupName: GROUP, phase: 'rolling-back' }],
    });
    expect(ssm.calls()).toHaveLength(0);
  });

  it.each<[string, Partial<WatcherConfig>, string]>([
    ['a group the stack does not serve', {}, 'other-asg'],
    ['any group under rolling', { strategy: 'rolling' }, GROUP],
  ])('refuses to roll back %s, says why, and calls nothing', async (_, changes, name) => {
    world([asg(GROUP, blue(), tagged(state('standby')))], blue());
    const report = await bgWatcher(changes)({ action: 'rollback', autoScalingGroupName: name });
    expect(report).toMatchObject({ action: 'rollback', rollouts: [], reason: expect.any(String) });
    expect(warn).toHaveBeenCalledWith(
      'rollback refused',
      expect.objectContaining({ autoScalingGroupName: name }),
    );
    expect(autoScaling.calls()).toHaveLength(0);
    expect(ecs.calls()).toHaveLength(0);
  });

  it.each<[string, unknown]>([
    ['an unknown action', { action: 'stepp' }],
    ['a rollback without a group', { action: 'rollback' }],
    ['an unknown field', { action: 'step', force: true }],
    ['a string', 'step'],
    ['another event', loadEvent('lifecycle-terminating.json')],
  ])('logs %s once, refuses it, and does nothing', async (_, input) => {
    world([asg(GROUP, blue(), tagged(state('standby')))], blue());

    const report = await bgWatcher()(input);

    expect(report).toMatchObject({ action: 'refused', groups: [], rollouts: [] });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'ami watch input refused',
      expect.objectContaining({
        reason: expect.stringContaining('"action":"step"'),
        issues: expect.any(Array),
      }),
    );
    for (const client of [ssm, ec2, autoScaling, ecs, sns]) expect(client.calls()).toHaveLength(0);
  });

  it.each<[string, unknown]>([
    ['{}', {}],
    ['the scheduled event of a schedule without Input', loadEvent('scheduled-event.json')],
  ])('takes %s for a watch', async (_, input) => {
    world([asg(GROUP, blue())], blue());
    const report = await bgWatcher({ dryRun: true })(input);
    expect(report.action).toBe('watch');
    expect(ssm).toHaveReceivedCommandTimes(GetParametersCommand, 1);
  });

  it('under rolling, a watch run steps no blue/green rollout it finds, and says how to finish it', async () => {
    const hosts = [...blue(), ...green()];
    world([asg(GROUP, hosts, tagged(state('launching')))], hosts);
    const report = await watcher()();
    expect(report.rollouts).toEqual([
      expect.objectContaining({ phase: 'left', reason: expect.stringContaining('set RolloutStrategy') }),
    ]);
    expect(ecs.calls()).toHaveLength(0);
    expect(autoScalingWrites()).toEqual([]);
  });
});
