import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createLaunchReadinessHandler } from '../../functions/launch-readiness/app';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { EcsAdapter } from '../../shared/aws/ecs';
import { Pacer } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { type ControllerConfig, DRAIN_POLICY_DEFAULTS } from '../../shared/config';
import { launchTemplateImages } from '../../shared/launch/drive-launches';
import { telemetry } from '../../shared/observability';
import { InstantTiming } from '../helpers/timing';

// The launch readiness handler over mocked clients, the EC2 lookup of the expected AMI included (as
// functions/launch-readiness/handler.ts wires it): what it answers Auto Scaling for one new instance.

const autoScaling = mockClient(AutoScalingClient);
const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
const sns = mockClient(SNSClient);

const INSTANCE = 'i-0a1b2c3d4e5f60789';
const CI = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/7d3c5e9f1a2b4c6d8e0f1a2b3c4d5e6f';
const TOKEN = '6b1f3c2a-9d8e-4f7a-b6c5-d4e3f2a1b0c9';
const config: ControllerConfig = {
  ...DRAIN_POLICY_DEFAULTS,
  clusters: ['prod'],
  groups: [{ autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' }],
  lifecycleHookName: 'ecs-drain',
  launchHookName: 'ecs-drain-launch',
  heartbeatTimeoutSeconds: 1800,
  alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
};

function handler() {
  const timing = new InstantTiming();
  return createLaunchReadinessHandler({
    config,
    ecs: new EcsAdapter(new ECSClient({ region: 'us-east-1' }), new Pacer(100, 100, timing)),
    autoScaling: new AutoScalingAdapter(
      new AutoScalingClient({ region: 'us-east-1' }),
      new Pacer(100, 100, timing),
    ),
    alerts: new AlertPublisher(new SNSClient({ region: 'us-east-1' }), config.alertTopicArn),
    telemetry: telemetry(new Logger({ logLevel: 'SILENT' }), new Metrics({ namespace: 'test' })),
    timing,
    imageOf: launchTemplateImages(new Ec2Adapter(new EC2Client({ region: 'us-east-1' }))),
  });
}

const notification = (): SQSEvent =>
  ({
    Records: [
      {
        messageId: 'm-1',
        body: JSON.stringify({
          LifecycleHookName: 'ecs-drain-launch',
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
          AutoScalingGroupName: 'prod-ecs-asg',
          EC2InstanceId: INSTANCE,
          LifecycleActionToken: TOKEN,
          NotificationMetadata: '{"cluster":"prod"}',
          Time: new Date().toISOString(),
        }),
      },
    ],
  }) as SQSEvent;

function given(state: string, reportedAmi: string, templateAmi: string, { lagging = false } = {}) {
  const describe = autoScaling.on(DescribeAutoScalingInstancesCommand);
  // Lagging: the first read does not show the instance yet.
  (lagging ? describe.resolvesOnce({ AutoScalingInstances: [] }) : describe).resolves({
    AutoScalingInstances: [
      {
        InstanceId: INSTANCE,
        AutoScalingGroupName: 'prod-ecs-asg',
        LifecycleState: state,
        AvailabilityZone: 'us-east-1a',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
        LaunchTemplate: { LaunchTemplateId: 'lt-0abc', LaunchTemplateName: 'ecs', Version: '7' },
      },
    ],
  });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI] });
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: [
      {
        containerInstanceArn: CI,
        ec2InstanceId: INSTANCE,
        status: 'ACTIVE',
        agentConnected: true,
        attributes: [{ name: 'ecs.ami-id', value: reportedAmi }],
      },
    ],
  });
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
    LaunchTemplateVersions: [
      { LaunchTemplateId: 'lt-0abc', VersionNumber: 7, LaunchTemplateData: { ImageId: templateAmi } },
    ],
  });
}

beforeEach(() => {
  for (const client of [autoScaling, ecs, ec2, sns]) client.reset();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'x' });
});

const results = () =>
  autoScaling
    .commandCalls(CompleteLifecycleActionCommand)
    .map((call) => call.args[0].input.LifecycleActionResult);

describe('launch readiness handler', () => {
  it('lets the instance in when its agent reports the AMI its launch template version names', async () => {
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002');
    expect(await handler()(notification())).toEqual({ batchItemFailures: [] });
    expect(results()).toEqual(['CONTINUE']);
    expect(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand)[0]?.args[0].input).toMatchObject({
      LaunchTemplateId: 'lt-0abc',
      Versions: ['7'],
    });
  });

  it('near its timeout, answers no launch and returns its message, instead of being ended by Lambda', async () => {
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002');
    const handle = handler();

    const late = await handle(notification(), { getRemainingTimeInMillis: () => 10_000 });

    expect(late).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(results()).toEqual([]);
    expect(await handle(notification(), { getRemainingTimeInMillis: () => 60_000 })).toEqual({
      batchItemFailures: [],
    });
    expect(results()).toEqual(['CONTINUE']);
  });

  it('abandons, with an alert, an instance that runs another AMI than its launch template version names', async () => {
    given('Pending:Wait', 'ami-0old0000000000001', 'ami-0new0000000000002');
    await handler()(notification());
    expect(results()).toEqual(['ABANDON']);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject).toMatch(/launch abandoned/);
  });

  it('waits, answering nothing, while Auto Scaling still shows the launch Pending (its reads lag)', async () => {
    given('Pending', 'ami-0new0000000000002', 'ami-0new0000000000002');
    const ready = handler();
    expect(await ready(notification())).toEqual({ batchItemFailures: [] });
    expect(results()).toEqual([]);
    // Not settled: the next message about it is looked at again.
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002');
    await ready(notification());
    expect(results()).toEqual(['CONTINUE']);
  });

  it('settles nothing about an instance Auto Scaling does not show yet: its next message is looked at again', async () => {
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002', { lagging: true });
    const ready = handler();
    await ready(notification());
    expect(results()).toEqual([]);
    await ready(notification());
    expect(results()).toEqual(['CONTINUE']);
  });

  it('lets a ready instance in when the AMI its launch template names cannot be read (not checked, logged)', async () => {
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002');
    ec2
      .on(DescribeLaunchTemplateVersionsCommand)
      .rejects(Object.assign(new Error('no such template'), { name: 'InvalidLaunchTemplateId.NotFound' }));
    await handler()(notification());
    expect(results()).toEqual(['CONTINUE']);
  });

  it('returns the message when a read fails, so the queue retries it', async () => {
    given('Pending:Wait', 'ami-0new0000000000002', 'ami-0new0000000000002');
    ecs
      .on(DescribeContainerInstancesCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'ServerException' }));
    expect(await handler()(notification())).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(results()).toEqual([]);
  });
});
