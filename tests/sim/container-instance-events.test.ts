import { DescribeContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { matchesPattern } from '../../sim/delivery';
import { isoTime } from '../../sim/clock';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { type ContainerInstanceEvent, STACK, type World } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// "ECS Container Instance State Change" (aws-semantics §4.2): sent on first registration, on a
// status change (ACTIVE, DRAINING, INACTIVE), when the agent connects or disconnects, and on every
// task placed on or stopped on the host (resource changes), with `detail.version` growing with each
// change and agreeing with DescribeContainerInstances.

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let world: World;
let server: RunningServer;
let ecs: ECSClient;

beforeEach(async () => {
  world = buildWorld(defaultOptions(demoShape(6)), 'none');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
  ({ ecs } = endpointClients(server.url));
});
afterEach(async () => {
  ecs.destroy();
  await server.close();
});

const eventsOf = (arn: string) => world.containerInstanceEvents.filter((event) => event.resources[0] === arn);
const firstInstance = () => [...world.ecs.instances.values()][0]!;

describe('ECS Container Instance State Change events', () => {
  it('are sent when an instance registers, in the shape EventBridge delivers', () => {
    const registrations = world.containerInstanceEvents.filter((event) => event.detail.version === 1);
    expect(registrations).toHaveLength(6);
    const instance = firstInstance();
    const [event] = eventsOf(instance.arn);

    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'ECS Container Instance State Change',
      source: 'aws.ecs',
      account: '123456789012',
      region: 'us-east-1',
      resources: [instance.arn],
      detail: {
        clusterArn: world.ecs.clusterArn,
        containerInstanceArn: instance.arn,
        ec2InstanceId: instance.ec2InstanceId,
        status: 'ACTIVE',
        agentConnected: true,
        version: 1,
        versionInfo: { agentVersion: expect.any(String) },
        registeredResources: expect.arrayContaining([{ name: 'CPU', type: 'INTEGER', integerValue: 2048 }]),
      },
    });
    expect(event?.detail.attributes).toContainEqual({ name: 'ecs.ami-id', value: instance.amiId });
    expect(event?.time).toMatch(ISO);
    expect(event?.detail.updatedAt).toMatch(ISO);
    expect(event?.detail.registeredAt).toMatch(ISO);
    expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('are sent on DRAINING and back to ACTIVE, each with a higher version that DescribeContainerInstances agrees with', async () => {
    const instance = firstInstance();
    const before = eventsOf(instance.arn).length;
    const version = instance.version;
    world.ecs.updateContainerInstancesState([instance.arn], 'DRAINING');
    world.ecs.updateContainerInstancesState([instance.arn], 'DRAINING'); // no change: no event
    world.ecs.updateContainerInstancesState([instance.arn], 'ACTIVE');

    // Read before the scheduler (a second later) stops any task there: only the two status changes.
    const events = eventsOf(instance.arn).slice(before);
    expect(events.map((e) => e.detail.status)).toEqual(['DRAINING', 'ACTIVE']);
    expect(events.map((e) => e.detail.version)).toEqual([version + 1, version + 2]);
    await world.clock.run(world.clock.now + 2);
    const { containerInstances } = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: STACK.clusterName,
        containerInstances: [instance.arn],
      }),
    );
    expect(containerInstances?.[0]?.version).toBe(instance.version);
    expect(instance.version).toBe(eventsOf(instance.arn).at(-1)?.detail.version);
  });

  it('are sent on every task placed on the host and every task stopped there, runningTasksCount counting desired status RUNNING', async () => {
    const [placed] = world.ecs.runStandaloneTasks({ family: 'job', count: 1, cpu: 128, memory: 256 });
    const host = placed!.host;
    const counts = (): number[][] =>
      eventsOf(host.arn).map((e) => [
        e.detail.runningTasksCount as number,
        e.detail.pendingTasksCount as number,
        (e.detail.remainingResources as { name: string; integerValue: number }[]).find(
          (r) => r.name === 'CPU',
        )?.integerValue ?? Number.NaN,
      ]);
    const [running, pending, cpu] = counts().at(-1)!;
    expect(pending).toBe(1); // the placement's own event: the task is PENDING

    const before = eventsOf(host.arn).length;
    const service = [...host.tasks].find((task) => task.service !== undefined && !task.daemon)!;
    world.ecs.stopTask(service, 'UserInitiated', 'stopped by a test');
    // Told to stop: it leaves runningTasksCount at once, and ECS advertises its resources as free
    // (containers-roadmap#575), though it still runs (DEACTIVATING): neither count can tell that a
    // task is still stopping.
    expect(counts().slice(before)).toEqual([[running! - 1, pending, cpu! + service.cpu]]);
    expect(service.lastStatus).not.toBe('STOPPED');
    await world.clock.run(world.clock.now + service.service!.spec.stopSeconds + 1);
    // STOPPED: an event of its own at that moment; the advertised resources were free already.
    const events = eventsOf(host.arn);
    const at = events.findIndex((e) => Date.parse(e.time) === Date.parse(isoTime(service.stoppedAt!)));
    expect(at).toBeGreaterThan(before);
    const cpuOf = (n: number) => counts()[n]![2]!;
    expect(cpuOf(at)).toBe(cpuOf(at - 1));
    expect(events.map((e) => e.detail.version)).toEqual(events.map((_, n) => n + 1));
  });

  it("DescribeContainerInstances advertises a stopping task's resources as free; the host places nothing on them", async () => {
    const [job] = world.ecs.runStandaloneTasks({
      family: 'job',
      count: 1,
      cpu: 512,
      memory: 256,
      runSeconds: 3600,
    });
    await world.clock.run(world.clock.now + 60);
    const host = job!.host;
    const remainingCpu = async () => {
      const { containerInstances: [described] = [] } = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster: STACK.clusterName, containerInstances: [host.arn] }),
      );
      return described?.remainingResources?.find((r) => r.name === 'CPU')?.integerValue;
    };
    const running = await remainingCpu();
    expect(running).toBe(host.freeCpu);

    world.ecs.stopTask(job!, 'UserInitiated', 'stopped by a test');
    await world.clock.run(world.clock.now + 2); // past the 1 s read lag; a standalone task takes 5 s to stop
    expect(job!.lastStatus).not.toBe('STOPPED');
    expect(await remainingCpu()).toBe(running! + 512);
    expect(host.freeCpu).toBe(running);

    await world.clock.run(world.clock.now + 60);
    expect(job!.lastStatus).toBe('STOPPED');
    expect(host.freeCpu).toBe(running! + 512);
  });

  it('are sent when the agent disconnects and reconnects, the status unchanged', () => {
    const instance = firstInstance();
    const version = instance.version;
    world.ecs.disconnectAgent(instance.ec2InstanceId);
    world.ecs.reconnectAgent(instance.ec2InstanceId);

    expect(
      eventsOf(instance.arn)
        .filter((e) => e.detail.version > version)
        .map((e) => [e.detail.status, e.detail.agentConnected, e.detail.version]),
    ).toEqual([
      ['ACTIVE', false, version + 1],
      ['ACTIVE', true, version + 2],
    ]);
  });

  it('follow a terminated EC2 instance: the agent disconnects at once, INACTIVE when ECS notices', async () => {
    const instance = firstInstance();
    const at = world.clock.now;
    world.group.terminateEc2Instance(instance.ec2InstanceId, 60);
    await world.clock.run(at + 120);

    // The status changes; the tasks ECS then marks STOPPED on the gone host send their own events.
    const events = eventsOf(instance.arn).filter(
      (e) => Date.parse(e.time) >= Date.parse(eventsOf(instance.arn)[0]!.time) + at * 1000,
    );
    const changes = events.filter(
      (e, n) =>
        n === 0 ||
        e.detail.status !== events[n - 1]!.detail.status ||
        e.detail.agentConnected !== events[n - 1]!.detail.agentConnected,
    );
    expect(changes.map((e) => [e.detail.status, e.detail.agentConnected])).toEqual([
      ['ACTIVE', false],
      ['INACTIVE', false],
    ]);
    expect(Date.parse(changes[1]!.time) - Date.parse(changes[0]!.time)).toBe(
      world.ecs.ec2NoticeSeconds * 1000,
    );
  });

  it('are not sent for a custom attribute (PutAttributes changes no version)', () => {
    const instance = firstInstance();
    const before = eventsOf(instance.arn).length;
    world.ecs.putAttribute(instance.arn, 'drain.started', 'yes');
    expect(eventsOf(instance.arn)).toHaveLength(before);
  });

  it('reach a subscriber the moment ECS sends them, where a rule can match them', () => {
    const matched: ContainerInstanceEvent[] = [];
    const rule = {
      source: ['aws.ecs'],
      'detail-type': ['ECS Container Instance State Change'],
      detail: { clusterArn: [world.ecs.clusterArn], status: ['DRAINING'] },
    };
    world.onContainerInstanceEvent = (event) => {
      if (matchesPattern(event, rule)) matched.push(event);
    };
    const [one, two] = [...world.ecs.instances.values()];
    world.ecs.updateContainerInstancesState([one!.arn, two!.arn], 'DRAINING');
    world.ecs.disconnectAgent(one!.ec2InstanceId);

    expect(matched.map((event) => event.resources[0])).toEqual([one!.arn, two!.arn, one!.arn]);
    expect(matched.map((event) => event.detail.agentConnected)).toEqual([true, true, false]);
  });
});
