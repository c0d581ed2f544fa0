import {
  AutoScalingClient,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { AutoScalingAdapter } from '../../../shared/aws/auto-scaling';
import { EcsAdapter } from '../../../shared/aws/ecs';
import { Pacer } from '../../../shared/aws/pacer';
import { BLUE_GREEN_TAG } from '../../../shared/decisions/blue-green';
import { stepBlueGreen } from '../../../shared/rollout/blue-green';
import { InstantTiming } from '../../helpers/timing';

const autoScaling = mockClient(AutoScalingClient);
const ecs = mockClient(ECSClient);

const GROUP = 'prod-ecs-asg';
const NOW = Date.UTC(2026, 0, 1);
/** The Auto Scaling calls that change something. */
const WRITES = [
  'CreateOrUpdateTagsCommand',
  'DeleteTagsCommand',
  'SetInstanceProtectionCommand',
  'TerminateInstanceInAutoScalingGroupCommand',
  'UpdateAutoScalingGroupCommand',
];
const sent = () => autoScaling.calls().map((call) => call.args[0].constructor.name);

function group(tag?: string) {
  return {
    AutoScalingGroups: [
      {
        AutoScalingGroupName: GROUP,
        MinSize: 0,
        MaxSize: 4,
        DesiredCapacity: 2,
        LaunchTemplate: { LaunchTemplateId: 'lt-0abc', LaunchTemplateName: 'ecs', Version: '1' },
        Instances: ['i-0b1', 'i-0b2'].map((InstanceId) => ({
          InstanceId,
          LifecycleState: 'InService' as const,
          ProtectedFromScaleIn: false,
          HealthStatus: 'HEALTHY',
          AvailabilityZone: 'us-east-1a',
          LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '1' },
        })),
        Tags: tag === undefined ? [] : [{ ResourceId: GROUP, Key: BLUE_GREEN_TAG, Value: tag }],
        CreatedTime: new Date(NOW),
        DefaultCooldown: 300,
        AvailabilityZones: ['us-east-1a'],
        HealthCheckType: 'EC2',
      },
    ],
  };
}

function deps() {
  const timing = new InstantTiming();
  return {
    autoScaling: new AutoScalingAdapter(new AutoScalingClient({}), new Pacer(100, 100, timing)),
    ecs: new EcsAdapter(new ECSClient({}), new Pacer(100, 100, timing)),
    timing: { now: () => NOW },
  };
}

beforeEach(() => {
  autoScaling.reset();
  ecs.reset();
  autoScaling.on(CreateOrUpdateTagsCommand).resolves({});
  autoScaling.on(DeleteTagsCommand).resolves({});
  autoScaling.on(SetInstanceProtectionCommand).resolves({});
  autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
  autoScaling.on(UpdateAutoScalingGroupCommand).resolves({});
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1', 'arn:ci/2'] });
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: ['i-0b1', 'i-0b2'].map((ec2InstanceId, n) => ({
      containerInstanceArn: `arn:ci/${n + 1}`,
      ec2InstanceId,
      status: 'ACTIVE',
      agentConnected: true,
      runningTasksCount: 3,
      pendingTasksCount: 0,
    })),
  });
  ecs.on(UpdateContainerInstancesStateCommand).resolves({ failures: [] });
});

describe('stepBlueGreen', () => {
  it('starts a rollout: the tag is written before the group is touched, then protection, then the new version', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(group());

    const report = await stepBlueGreen(GROUP, 'prod', deps(), { action: 'none', target: '2' });

    expect(report.phase).toBe('launching');
    expect(sent()).toEqual([
      'DescribeAutoScalingGroupsCommand',
      'CreateOrUpdateTagsCommand',
      'SetInstanceProtectionCommand',
      'UpdateAutoScalingGroupCommand',
    ]);
    expect(autoScaling).toHaveReceivedCommandWith(CreateOrUpdateTagsCommand, {
      Tags: [
        expect.objectContaining({
          ResourceId: GROUP,
          ResourceType: 'auto-scaling-group',
          Key: BLUE_GREEN_TAG,
          Value: `v=1;phase=launching;blue=1;green=2;n=2;min=0;max=4;desired=2;since=${NOW / 1000}`,
          PropagateAtLaunch: false,
        }),
      ],
    });
    expect(autoScaling).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: GROUP,
      DesiredCapacity: 4,
      LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '2' },
    });
    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
  });

  it('refuses a malformed tag: it reads, and writes nothing to Auto Scaling or ECS', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(group('phase=standby;blue=one'));

    const report = await stepBlueGreen(GROUP, 'prod', deps(), { action: 'rollback' });

    expect(report).toMatchObject({ phase: 'refused', commands: [] });
    expect(sent().filter((name) => WRITES.includes(name))).toEqual([]);
    expect(sent()).toEqual(['DescribeAutoScalingGroupsCommand']);
    expect(ecs).not.toHaveReceivedCommand(UpdateContainerInstancesStateCommand);
  });

  it('throws on an AWS error, so the next step resumes from the tag already written', async () => {
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves(group());
    autoScaling
      .on(UpdateAutoScalingGroupCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));

    await expect(stepBlueGreen(GROUP, 'prod', deps(), { action: 'none', target: '2' })).rejects.toThrow(
      'Rate exceeded',
    );
    expect(autoScaling).toHaveReceivedCommand(CreateOrUpdateTagsCommand);
  });
});
