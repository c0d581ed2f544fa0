import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { InProcessHandler } from '../../sim/api/in-process';
import type { ContainerInstance, ServiceSpec, Task } from '../../sim/ecs';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { simulatedCluster } from '../helpers/ecs-model';

// ECS reads are eventually consistent: DescribeTasks, ListTasks, DescribeContainerInstances and
// ListContainerInstances answer from the state of readLagSeconds ago, while the task events leave
// at the moment of the change, and writes act on (and return) the current state.

interface ApiTask {
  taskArn: string;
  lastStatus: string;
  desiredStatus: string;
  version: number;
}

interface ApiInstance {
  containerInstanceArn: string;
  status: string;
  version: number;
  agentConnected: boolean;
  runningTasksCount: number;
  pendingTasksCount: number;
}

const LAG = 20;

function cluster(hosts: number, readLagSeconds: number) {
  const { clock, ecs, events, instances, call } = simulatedCluster(hosts, 7, { readLagSeconds });
  const describeTask = (task: Task) => {
    const output = call('DescribeTasks', { tasks: [task.arn] }) as { tasks: ApiTask[] };
    return output.tasks[0];
  };
  const describeInstance = (instance: ContainerInstance) => {
    const output = call('DescribeContainerInstances', { containerInstances: [instance.arn] }) as {
      containerInstances: ApiInstance[];
    };
    return output.containerInstances[0];
  };
  const listTasks = (input: Record<string, unknown>) =>
    (call('ListTasks', input) as { taskArns: string[] }).taskArns;
  const listInstances = (input: Record<string, unknown> = {}) =>
    (call('ListContainerInstances', input) as { containerInstanceArns: string[] }).containerInstanceArns;
  return { clock, ecs, events, instances, call, describeTask, describeInstance, listTasks, listInstances };
}

function service(changes: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    desiredCount: 4,
    minimumHealthyPercent: 50,
    maximumPercent: 200,
    cpu: 256,
    memory: 512,
    startupSeconds: 10,
    stopSeconds: 60,
    ...changes,
  };
}

function only<T>(items: Iterable<T>): T {
  const [item] = [...items];
  if (item === undefined) throw new Error('nothing there');
  return item;
}

describe('ECS reads that lag the events (readLagSeconds)', () => {
  it('DescribeTasks shows the state and version of readLagSeconds ago, while the event already carries the new ones', async () => {
    const { clock, ecs, events, instances, describeTask } = cluster(1, LAG);
    ecs.createService(service({ desiredCount: 1 }));
    await clock.run(300);
    const task = only(only(instances).tasks);
    const before = describeTask(task);
    expect(before).toMatchObject({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING', version: task.version });

    ecs.stopTask(task, 'UserInitiated', 'stopped by a test');
    const event = events[events.length - 1];
    expect(event).toMatchObject({ arn: task.arn, lastStatus: 'DEACTIVATING', desiredStatus: 'STOPPED' });

    // The event is newer than anything the API will say for LAG seconds.
    await clock.run(300 + LAG - 0.5);
    expect(describeTask(task)).toEqual(before);
    expect(event?.version).toBeGreaterThan(before?.version ?? Infinity);

    await clock.run(300 + LAG);
    expect(describeTask(task)).toMatchObject({
      lastStatus: 'DEACTIVATING',
      desiredStatus: 'STOPPED',
      version: event?.version,
    });
  });

  it('neither lists nor describes a task created less than readLagSeconds ago, although its event has left', async () => {
    const { clock, ecs, events, call, listTasks } = cluster(1, LAG);
    await clock.run(100);
    const [task] = ecs.runStandaloneTasks({ family: 'batch', cpu: 256, memory: 512, count: 1 });
    if (task === undefined) throw new Error('not placed');
    expect(events.map((event) => event.arn)).toContain(task.arn);

    await clock.run(100 + LAG - 1);
    expect(listTasks({})).toEqual([]);
    expect(call('DescribeTasks', { tasks: [task.arn] })).toEqual({
      tasks: [],
      failures: [{ arn: task.arn, reason: 'MISSING' }],
    });

    await clock.run(100 + LAG);
    expect(listTasks({})).toEqual([task.arn]);
  });

  it('neither lists nor describes a container instance registered less than readLagSeconds ago', async () => {
    const { clock, ecs, describeInstance, listInstances } = cluster(1, LAG);
    await clock.run(100);
    const late = ecs.registerContainerInstance('i-0late000000000000', 4096, 16384, 'ami-1');

    expect(listInstances()).not.toContain(late.arn);
    expect(listInstances({ filter: `ec2InstanceId == ${late.ec2InstanceId}` })).toEqual([]);
    expect(describeInstance(late)).toBeUndefined();

    await clock.run(100 + LAG);
    expect(listInstances({ filter: `ec2InstanceId == ${late.ec2InstanceId}` })).toEqual([late.arn]);
    expect(describeInstance(late)).toMatchObject({ status: 'ACTIVE', version: late.version });
  });

  it('UpdateContainerInstancesState answers with the updated instance, while reads still show it ACTIVE', async () => {
    const { clock, ecs, instances, call, describeInstance, listInstances } = cluster(2, LAG);
    ecs.createService(service());
    await clock.run(300);
    const drained = instances[0] as ContainerInstance;
    const versionBefore = drained.version;

    const update = call('UpdateContainerInstancesState', {
      containerInstances: [drained.arn],
      status: 'DRAINING',
    }) as { containerInstances: ApiInstance[] };

    expect(update.containerInstances[0]).toMatchObject({ status: 'DRAINING', version: versionBefore + 1 });
    expect(describeInstance(drained)).toMatchObject({ status: 'ACTIVE', version: versionBefore });
    expect(listInstances({ status: 'DRAINING' })).toEqual([]);
    await clock.run(300 + LAG);
    expect(describeInstance(drained)).toMatchObject({ status: 'DRAINING', version: versionBefore + 1 });
    expect(listInstances({ status: 'DRAINING' })).toEqual([drained.arn]);
  });

  it('keeps the counts of a lagged DescribeContainerInstances consistent with the lagged tasks', async () => {
    const { clock, ecs, instances, describeInstance, describeTask, listTasks } = cluster(3, LAG);
    ecs.createService(service({ desiredCount: 6, minimumHealthyPercent: 50, maximumPercent: 150 }));
    ecs.createService(service({ name: 'agent', daemon: true, desiredCount: 0, stopSeconds: 5 }));
    await clock.run(300);
    ecs.updateContainerInstancesState([(instances[0] as ContainerInstance).arn], 'DRAINING');

    let lagged = 0;
    for (let at = 300; at <= 700; at += 2) {
      await clock.run(at);
      for (const instance of instances) {
        const seen = describeInstance(instance);
        const running = listTasks({ containerInstance: instance.arn });
        // runningTasksCount counts desired status RUNNING: exactly the tasks ListTasks lists.
        expect(seen?.runningTasksCount).toBe(running.length);
        const pending = [...instance.history].filter((task) => describeTask(task)?.lastStatus === 'PENDING');
        expect(seen?.pendingTasksCount).toBe(pending.length);
        if (seen?.runningTasksCount !== instance.runningTasksCount) lagged++;
      }
    }
    // The current counts did differ from what reads showed: the check above compared lagged views.
    expect(lagged).toBeGreaterThan(0);
    expect(describeInstance(instances[0] as ContainerInstance)?.runningTasksCount).toBe(0);
  });

  it('with readLagSeconds 0, every read is current', async () => {
    const { clock, ecs, events, instances, describeTask, describeInstance } = cluster(1, 0);
    ecs.createService(service({ desiredCount: 1 }));
    await clock.run(300);
    const instance = only(instances);
    const task = only(instance.tasks);

    ecs.stopTask(task, 'UserInitiated', 'stopped by a test');

    expect(describeTask(task)).toMatchObject({
      lastStatus: 'DEACTIVATING',
      version: events[events.length - 1]?.version,
    });
    expect(describeInstance(instance)?.runningTasksCount).toBe(0);
  });
});

describe('lagged reads through the real SDK client', () => {
  it('DescribeTasks and DescribeContainerInstances return older versions than the write and the events', async () => {
    const world = buildWorld(defaultOptions(demoShape(6)), 'silent');
    await world.clock.run(600);
    world.ecs.readLagSeconds = LAG;
    const client = new ECSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: new InProcessHandler(() => world.api),
    });
    const [drained] = world.ecs.containerInstancesOf([...world.group.instances.keys()][0] ?? '');
    if (drained === undefined) throw new Error('no container instance');
    // worker has minimumHealthyPercent 0: the scheduler stops its task on the drained instance at once.
    const task = only([...drained.tasks].filter((t) => t.group === 'service:worker'));

    const update = await client.send(
      new UpdateContainerInstancesStateCommand({
        cluster: STACK.clusterName,
        containerInstances: [drained.arn],
        status: 'DRAINING',
      }),
    );
    const written = update.containerInstances?.[0]?.version ?? 0;
    await world.clock.run(600 + LAG / 2);
    const seen = await client.send(
      new DescribeContainerInstancesCommand({
        cluster: STACK.clusterName,
        containerInstances: [drained.arn],
      }),
    );
    const described = await client.send(
      new DescribeTasksCommand({ cluster: STACK.clusterName, tasks: [task.arn] }),
    );

    expect(update.containerInstances?.[0]?.status).toBe('DRAINING');
    expect(seen.containerInstances?.[0]).toMatchObject({ status: 'ACTIVE', version: written - 1 });
    expect(task.lastStatus).toBe('DEACTIVATING');
    expect(described.tasks?.[0]).toMatchObject({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
    expect(described.tasks?.[0]?.version).toBeLessThan(task.version);

    await world.clock.run(600 + LAG + 2);
    const later = await client.send(
      new DescribeTasksCommand({ cluster: STACK.clusterName, tasks: [task.arn] }),
    );
    expect(later.tasks?.[0]).toMatchObject({ lastStatus: 'DEACTIVATING', version: task.version });
    client.destroy();
  });
});
