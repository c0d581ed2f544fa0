import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  ModifyLaunchTemplateCommand,
} from '@aws-sdk/client-ec2';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointClients, endpointConfig } from '../helpers/endpoint';

// Launch templates and their versions (EC2 query protocol, through the real EC2 client), and a
// group that launches with the AMI of the version it refers to: a number, $Latest or $Default,
// resolved at each launch.

const NEW_AMI = 'ami-0new0000000000777';

let world: World;
let server: RunningServer;
let ec2: EC2Client;
let autoScaling: AutoScalingClient;

async function start(version: string) {
  world = buildWorld({ ...defaultOptions(demoShape(6)), launchTemplate: { name: 'ecs', version } }, 'none');
  await world.clock.run(600);
}
beforeAll(async () => {
  server = await startApiServer(() => world.api);
  ec2 = new EC2Client(endpointConfig(server.url));
  ({ autoScaling } = endpointClients(server.url));
});
afterAll(async () => {
  ec2.destroy();
  autoScaling.destroy();
  await server.close();
});

const publishNewAmi = () =>
  ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateName: 'ecs',
      SourceVersion: '1',
      LaunchTemplateData: { ImageId: NEW_AMI },
      VersionDescription: 'new ECS-optimized AMI',
    }),
  );

/** Launch one more instance and answer the AMI and launch template version it got. */
async function scaleOutByOne() {
  world.group.setDesiredCapacity(world.group.desired + 1);
  await world.clock.run(world.clock.now + 120);
  const newest = [...world.group.instances.values()].at(-1);
  const { AutoScalingInstances } = await autoScaling.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [newest?.id ?? ''] }),
  );
  const ecsAmi = world.ecs
    .containerInstancesOf(newest?.id ?? '')[0]
    ?.attributesAt()
    .get('ecs.ami-id');
  return { amiId: newest?.amiId, ecsAmi, launchTemplate: AutoScalingInstances?.[0]?.LaunchTemplate };
}

describe('launch templates', () => {
  it('create numbered versions that inherit their source version, and describe them', async () => {
    await start('$Latest');
    const oldAmi = world.group.currentAmiId;

    const { LaunchTemplateVersion } = await publishNewAmi();
    expect(LaunchTemplateVersion).toMatchObject({
      LaunchTemplateName: 'ecs',
      VersionNumber: 2,
      VersionDescription: 'new ECS-optimized AMI',
      DefaultVersion: false,
      LaunchTemplateData: { ImageId: NEW_AMI },
    });
    expect(LaunchTemplateVersion?.CreateTime).toBeInstanceOf(Date);
    // Version 3 from version 2 with only a type: the AMI is inherited. Version 4 without a source: no AMI.
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'ecs',
        SourceVersion: '$Latest',
        LaunchTemplateData: { InstanceType: 'm7i.large' },
      }),
    );
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateName: 'ecs',
        LaunchTemplateData: { InstanceType: 'm7i.large' },
      }),
    );

    const { LaunchTemplateVersions } = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'ecs' }),
    );
    expect(LaunchTemplateVersions?.map((v) => [v.VersionNumber, v.LaunchTemplateData?.ImageId])).toEqual([
      [1, oldAmi],
      [2, NEW_AMI],
      [3, NEW_AMI],
      [4, undefined],
    ]);
    const id = LaunchTemplateVersions?.[0]?.LaunchTemplateId;
    const byAlias = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: id,
        Versions: ['$Latest', '$Default', '2'],
      }),
    );
    expect(byAlias.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([4, 1, 2]);
    const { LaunchTemplates } = await ec2.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id ?? ''] }),
    );
    expect(LaunchTemplates).toMatchObject([
      { LaunchTemplateName: 'ecs', DefaultVersionNumber: 1, LatestVersionNumber: 4 },
    ]);
  });

  it('with $Latest, the group launches the newest version at once, and says which version each instance got', async () => {
    await start('$Latest');
    expect(await scaleOutByOne()).toMatchObject({
      launchTemplate: { LaunchTemplateName: 'ecs', Version: '1' },
    });

    await publishNewAmi();

    expect(await scaleOutByOne()).toMatchObject({
      amiId: NEW_AMI,
      ecsAmi: NEW_AMI,
      launchTemplate: { LaunchTemplateName: 'ecs', Version: '2' },
    });
    const { AutoScalingGroups } = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [STACK.groupName] }),
    );
    expect(AutoScalingGroups?.[0]?.LaunchTemplate).toMatchObject({
      LaunchTemplateName: 'ecs',
      Version: '$Latest',
    });
  });

  it('with a version number, the group keeps launching that version', async () => {
    await start('1');
    const oldAmi = world.group.currentAmiId;
    await publishNewAmi();
    expect(await scaleOutByOne()).toMatchObject({ amiId: oldAmi, ecsAmi: oldAmi });
  });

  it('with $Default, the group launches the new version once it is made the default', async () => {
    await start('$Default');
    const oldAmi = world.group.currentAmiId;
    await publishNewAmi();
    expect(await scaleOutByOne()).toMatchObject({ amiId: oldAmi });

    await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateName: 'ecs', DefaultVersion: '2' }));

    expect(await scaleOutByOne()).toMatchObject({ amiId: NEW_AMI, ecsAmi: NEW_AMI });
  });

  it('answers EC2 error codes for a template or a version that does not exist', async () => {
    await start('$Latest');
    await expect(
      ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'nope' })),
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.NotFoundException' });
    await expect(
      ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'ecs', Versions: ['9'] })),
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' });
    await expect(
      ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateName: 'ecs',
          SourceVersion: '7',
          LaunchTemplateData: { ImageId: NEW_AMI },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' });
  });
});
