import {
  DescribeAutoScalingInstancesCommand,
  DescribeScalingActivitiesCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { STACK } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// `npm run sim:serve -- --controller` as a person runs it, in its own process: they scale the group in
// through the endpoint and watch the stack's real functions drain the instance the group picked.

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
// 100 times faster: a drain of a few simulated minutes takes seconds; the hook's 1800 s timeout, 18.
const SPEED = 100;
const HEARTBEAT_TIMEOUT = 1800;

let child: ChildProcess;
let url: string;
let stderr = '';

beforeAll(async () => {
  child = spawn(
    tsx,
    [join(ROOT, 'sim', 'serve.ts'), '--controller', '--port', '0', '--speed', String(SPEED)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const found = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`sim:serve exited (${code}) before serving: ${stderr}`)));
  });
});

afterAll(() => {
  child.kill('SIGTERM');
});

async function until<T>(what: string, look: () => Promise<T | undefined>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const seen = await look();
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; server stderr: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('drains the instance a scale-in picks: DRAINING, tasks moved by ECS, the lifecycle action completed, nothing killed', async () => {
  const { ecs, autoScaling } = endpointClients(url, 3);
  try {
    const cluster = STACK.clusterName;
    const instances = async () =>
      (await autoScaling.send(new DescribeAutoScalingInstancesCommand({}))).AutoScalingInstances ?? [];
    expect((await instances()).map((instance) => instance.LifecycleState)).toEqual(
      Array(6).fill('InService'),
    );

    await autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: STACK.groupName, DesiredCapacity: 5 }),
    );
    // The instance the group picked waits on the stack's hook.
    const victim = await until(
      'an instance in Terminating:Wait',
      async () =>
        (await instances()).find((instance) => instance.LifecycleState === 'Terminating:Wait')?.InstanceId,
    );
    const [containerInstance] =
      (await ecs.send(new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${victim}` })))
        .containerInstanceArns ?? [];
    const tasks = (await ecs.send(new ListTasksCommand({ cluster, containerInstance }))).taskArns ?? [];
    expect(tasks.length).toBeGreaterThan(0);

    // The start function sets it to DRAINING.
    await until('the container instance DRAINING', async () => {
      const [described] =
        (
          await ecs.send(
            new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstance ?? ''] }),
          )
        ).containerInstances ?? [];
      return described?.status === 'DRAINING' ? true : undefined;
    });

    // The group lets it go once a function completed its lifecycle action: it leaves the group.
    await until('the instance gone from the group', async () =>
      (await instances()).some((instance) => instance.InstanceId === victim) ? undefined : true,
    );
    const { Activities = [] } = await autoScaling.send(
      new DescribeScalingActivitiesCommand({ AutoScalingGroupName: STACK.groupName }),
    );
    const termination = Activities.find(
      (activity) => activity.Description === `Terminating EC2 instance: ${victim}`,
    );
    expect(termination?.StatusCode).toBe('Successful');
    // Completed by the controller, not let go by the hook's timeout.
    const held =
      ((termination?.EndTime?.getTime() ?? Infinity) - (termination?.StartTime?.getTime() ?? 0)) / 1000;
    expect(held).toBeLessThan(HEARTBEAT_TIMEOUT);

    // Every task it ran was stopped by ECS's drain, none by the instance going away under it.
    const stopped = (await ecs.send(new DescribeTasksCommand({ cluster, tasks }))).tasks ?? [];
    expect(stopped).toHaveLength(tasks.length);
    expect(stopped.map((task) => [task.lastStatus, task.stopCode])).toEqual(
      tasks.map(() => ['STOPPED', 'ServiceSchedulerInitiated']),
    );
  } finally {
    ecs.destroy();
    autoScaling.destroy();
  }
});
