import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { awsCli, hasAwsCli } from '../helpers/aws-cli';

// The AWS CLI against `npm run sim:serve`'s endpoint; where it is missing the test says so and skips.

let world: World;
let server: RunningServer;
beforeAll(async () => {
  world = buildWorld(defaultOptions(demoShape(4)), 'silent');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterAll(() => server.close());

const aws = (...args: string[]) => awsCli(server.url)(...args);

(hasAwsCli ? describe : describe.skip)('the local endpoint through the AWS CLI', () => {
  it('finds and describes a container instance by its EC2 instance id', async () => {
    const instanceId = [...world.group.instances.keys()][0] ?? '';
    const filter = `ec2InstanceId == ${instanceId}`;
    const listed = (await aws(
      'ecs',
      'list-container-instances',
      '--cluster',
      STACK.clusterName,
      '--filter',
      filter,
    )) as {
      containerInstanceArns: string[];
    };
    expect(listed.containerInstanceArns).toHaveLength(1);

    const arn = listed.containerInstanceArns[0] ?? '';
    const described = (await aws(
      'ecs',
      'describe-container-instances',
      '--cluster',
      STACK.clusterName,
      '--container-instances',
      arn,
    )) as {
      containerInstances: { ec2InstanceId: string; status: string }[];
    };
    expect(described.containerInstances[0]).toMatchObject({ ec2InstanceId: instanceId, status: 'ACTIVE' });
  });

  it('scales the group in, and shows the instance waiting on the hook', async () => {
    await aws(
      'autoscaling',
      'set-desired-capacity',
      '--auto-scaling-group-name',
      STACK.groupName,
      '--desired-capacity',
      '3',
    );
    await world.clock.run(world.clock.now + 5);

    const { AutoScalingInstances } = (await aws('autoscaling', 'describe-auto-scaling-instances')) as {
      AutoScalingInstances: { LifecycleState: string }[];
    };
    expect(AutoScalingInstances.map((instance) => instance.LifecycleState).sort()).toEqual([
      'InService',
      'InService',
      'InService',
      'Terminating:Wait',
    ]);
  });
});

if (!hasAwsCli) it.todo('the AWS CLI is not installed here: the local endpoint was not checked with it');
