import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';

// The AWS CLI (botocore, a different SDK from the one the controller uses) against `npm run sim:serve`'s
// endpoint. It ships with this project's machine image; where it is missing the test says so and skips.
const hasAwsCli = (() => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let world: World;
let server: RunningServer;
beforeAll(async () => {
  world = buildWorld(defaultOptions(demoShape(4)), 'silent');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterAll(() => server.close());

// Asynchronous: the endpoint answers from this very process, so a blocking call would wait on itself.
async function aws(...args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(
    'aws',
    ['--endpoint-url', server.url, '--output', 'json', ...args],
    {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'us-east-1',
      },
      timeout: 30_000,
    },
  );
  return stdout.trim() === '' ? undefined : JSON.parse(stdout);
}

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
