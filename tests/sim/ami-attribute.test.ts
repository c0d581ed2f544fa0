import {
  DescribeContainerInstancesCommand,
  ECSClient,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// The ECS-provided attribute `ecs.ami-id`: the AMI the container instance's EC2 instance booted,
// returned by DescribeContainerInstances and usable in a ListContainerInstances filter
// (cluster query language, subject `attribute:<name>`).

const NEW_AMI = 'ami-0feed000000000003';

let world: World;
let server: RunningServer;
let ecs: ECSClient;

beforeAll(async () => {
  world = buildWorld(defaultOptions(demoShape(6)), 'none');
  await world.clock.run(600);
  // Part-way through a refresh to a new AMI: some instances run the old AMI, some the new one.
  world.group.startInstanceRefresh({ amiId: NEW_AMI, minHealthyPercentage: 50, instanceWarmup: 0 });
  // Until the first new instance is readable: the first half of the old ones are still listed.
  await world.clock.run(1200, () =>
    [...world.ecs.instances.values()].some((ci) => ci.amiId === NEW_AMI && ci.readable !== undefined),
  );
  server = await startApiServer(() => world.api);
  ({ ecs } = endpointClients(server.url));
});
afterAll(async () => {
  ecs.destroy();
  await server.close();
});

/** Container instances ECS still lists, with the AMI their EC2 instance booted. */
function listed(): { arn: string; amiId: string }[] {
  return [...world.ecs.instances.values()]
    .filter((ci) => ci.readable !== undefined && ci.readable.status !== 'INACTIVE')
    .map((ci) => ({ arn: ci.arn, amiId: world.recorder.lanes.get(ci.ec2InstanceId)?.amiId ?? '' }));
}

const list = async (filter: string) =>
  (
    await ecs.send(new ListContainerInstancesCommand({ cluster: STACK.clusterName, filter }))
  ).containerInstanceArns?.sort();

describe('the ecs.ami-id attribute', () => {
  it('is the AMI the EC2 instance booted, in every DescribeContainerInstances answer', async () => {
    const all = listed();
    expect(new Set(all.map((ci) => ci.amiId)).size).toBe(2); // old and new both present

    const { containerInstances } = await ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: STACK.clusterName,
        containerInstances: all.map((ci) => ci.arn),
      }),
    );

    expect(containerInstances).toHaveLength(all.length);
    for (const instance of containerInstances ?? []) {
      const booted = world.recorder.lanes.get(instance.ec2InstanceId ?? '')?.amiId;
      expect(booted).toMatch(/^ami-/);
      expect(instance.attributes).toContainEqual({ name: 'ecs.ami-id', value: booted });
    }
  });

  it('selects instances by AMI in a ListContainerInstances filter: ==, !=, in', async () => {
    const all = listed();
    const onNew = all.filter((ci) => ci.amiId === NEW_AMI).map((ci) => ci.arn);
    const onOld = all.filter((ci) => ci.amiId !== NEW_AMI).map((ci) => ci.arn);
    expect(onNew.length).toBeGreaterThan(0);
    expect(onOld.length).toBeGreaterThan(0);

    expect(await list(`attribute:ecs.ami-id == ${NEW_AMI}`)).toEqual(onNew.sort());
    expect(await list(`attribute:ecs.ami-id != '${NEW_AMI}'`)).toEqual(onOld.sort());
    expect(await list(`attribute:ecs.ami-id in [${NEW_AMI}, ami-0nothing00000000]`)).toEqual(onNew.sort());
    expect(await list(`attribute:ecs.ami-id == ami-0nothing00000000`)).toEqual([]);
  });

  it('tells custom attributes apart with exists and !exists, once reads see them', async () => {
    const first = listed()[0]?.arn ?? '';
    world.ecs.putAttribute(first, 'drain.started', '2026-01-10T12:00:00Z');
    expect(await list('attribute:drain.started exists')).toEqual([]); // reads lag writes
    await world.clock.run(world.clock.now + 1);
    const rest = listed()
      .map((ci) => ci.arn)
      .filter((arn) => arn !== first);

    expect(await list('attribute:drain.started exists')).toEqual([first]);
    expect(await list('attribute:drain.started !exists')).toEqual(rest.sort());
    expect(await list('attribute:ecs.ami-id exists')).toHaveLength(rest.length + 1);
  });

  it('refuses a filter the simulation does not understand, rather than ignore it', async () => {
    await expect(list('attribute:ecs.ami-id =~ ami-0.*')).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});
