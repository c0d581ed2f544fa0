import {
  AutoScalingClient,
  type AutoScalingGroup,
  type InstanceRefreshStatus,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createWatchAmiHandler } from '../../functions/watch-ami/app';
import { handler } from '../../functions/watch-ami/handler';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { AlertPublisher } from '../../shared/aws/sns';
import { SsmAdapter } from '../../shared/aws/ssm';
import { BLUE_GREEN_TAG } from '../../shared/decisions/ami-watch';
import { REFRESH_DEFAULTS } from '../../shared/decisions/refresh-plan';
import { logger } from '../../shared/observability';
import type { WatcherConfig } from '../../shared/rollout/config';
import type { ScheduledEvent } from 'aws-lambda';
import { loadEvent } from '../helpers/events';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const autoScaling = mockClient(AutoScalingClient);
const sns = mockClient(SNSClient);

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
  alertTopicArn: TOPIC,
};

/** A watcher over real adapters and mocked clients (every client of a class is mocked). */
function watcher(changes: Partial<WatcherConfig> = {}) {
  const settings = { ...config, ...changes };
  return createWatchAmiHandler({
    config: settings,
    ssm: new SsmAdapter(new SSMClient({})),
    ec2: new Ec2Adapter(new EC2Client({})),
    autoScaling: new AutoScalingAdapter(new AutoScalingClient({})),
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
  for (const client of [ssm, ec2, autoScaling, sns]) client.reset();
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
