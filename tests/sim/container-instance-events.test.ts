import { DescribeContainerInstancesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { matchesPattern } from '../../sim/delivery';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { type ContainerInstanceEvent, STACK, type World } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// "ECS Container Instance State Change" (aws-semantics §4.2): sent on first registration, on a
// status change (ACTIVE, DRAINING, INACTIVE) and when the agent connects or disconnects, with
// `detail.version` growing with each change and agreeing with DescribeContainerInstances.

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
    expect(world.containerInstanceEvents).toHaveLength(6);
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
    world.ecs.updateContainerInstancesState([instance.arn], 'DRAINING');
    world.ecs.updateContainerInstancesState([instance.arn], 'DRAINING'); // no change: no event
    world.ecs.updateContainerInstancesState([instance.arn], 'ACTIVE');
    await world.clock.run(world.clock.now + 2);

    const events = eventsOf(instance.arn);
    expect(events.map((e) => e.detail.status)).toEqual(['ACTIVE', 'DRAINING', 'ACTIVE']);
    expect(events.map((e) => e.detail.version)).toEqual([1, 2, 3]);
    const { containerInstances } = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: STACK.clusterName,
        containerInstances: [instance.arn],
      }),
    );
    expect(containerInstances?.[0]?.version).toBe(3);
  });

  it('are sent when the agent disconnects and reconnects, the status unchanged', () => {
    const instance = firstInstance();
    world.ecs.disconnectAgent(instance.ec2InstanceId);
    world.ecs.reconnectAgent(instance.ec2InstanceId);

    expect(
      eventsOf(instance.arn).map((e) => [e.detail.status, e.detail.agentConnected, e.detail.version]),
    ).toEqual([
      ['ACTIVE', true, 1],
      ['ACTIVE', false, 2],
      ['ACTIVE', true, 3],
    ]);
  });

  it('follow a terminated EC2 instance: the agent disconnects at once, INACTIVE when ECS notices', async () => {
    const instance = firstInstance();
    const at = world.clock.now;
    world.group.terminateEc2Instance(instance.ec2InstanceId, 60);
    await world.clock.run(at + 120);

    const events = eventsOf(instance.arn).slice(1);
    expect(events.map((e) => [e.detail.status, e.detail.agentConnected])).toEqual([
      ['ACTIVE', false],
      ['INACTIVE', false],
    ]);
    expect(Date.parse(events[1]!.time) - Date.parse(events[0]!.time)).toBe(world.ecs.ec2NoticeSeconds * 1000);
  });

  it('are not sent for a custom attribute (PutAttributes changes no version)', () => {
    const instance = firstInstance();
    world.ecs.putAttribute(instance.arn, 'drain.started', 'yes');
    expect(eventsOf(instance.arn)).toHaveLength(1);
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
