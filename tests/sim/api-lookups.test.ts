import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  ECSClient,
  ListContainerInstancesCommand,
  paginateListContainerInstances,
} from '@aws-sdk/client-ecs';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { servedWorld } from '../helpers/endpoint';

// The look-ups a controller makes in bulk: every DRAINING instance page by page, up to 50 EC2 ids
// in one ListContainerInstances filter, up to 50 ids in one DescribeAutoScalingInstances.

const INSTANCES = 120;
const DRAINED = 105;

let world: World;
let close: () => Promise<void>;
let ecs: ECSClient;
let autoScaling: AutoScalingClient;
let ec2Ids: string[];

beforeAll(async () => {
  world = buildWorld(defaultOptions(demoShape(INSTANCES)), 'silent');
  await world.clock.run(600);
  ec2Ids = [...world.group.instances.keys()];
  const arns = ec2Ids
    .slice(0, DRAINED)
    .flatMap((id) => world.ecs.containerInstancesOf(id).map((ci) => ci.arn));
  world.ecs.updateContainerInstancesState(arns, 'DRAINING');
  // Reads lag writes (readLagSeconds): let them catch up.
  await world.clock.run(610);
  ({ ecs, autoScaling, close } = await servedWorld(world));
});
afterAll(() => close());

const arnOf = (ec2InstanceId: string) => world.ecs.containerInstancesOf(ec2InstanceId)[0]?.arn;

describe('ListContainerInstances', () => {
  it('lists every DRAINING instance, without a filter, in pages of at most 100 joined by nextToken', async () => {
    const pages: string[][] = [];
    const paginator = paginateListContainerInstances(
      { client: ecs, pageSize: 100 },
      { cluster: STACK.clusterName, status: 'DRAINING' },
    );
    for await (const page of paginator) pages.push(page.containerInstanceArns ?? []);

    expect(pages.map((page) => page.length)).toEqual([100, DRAINED - 100]);
    expect(pages.flat().sort()).toEqual(ec2Ids.slice(0, DRAINED).map(arnOf).sort());

    const active = await ecs.send(
      new ListContainerInstancesCommand({ cluster: STACK.clusterName, status: 'ACTIVE', maxResults: 100 }),
    );
    expect(active.containerInstanceArns?.sort()).toEqual(ec2Ids.slice(DRAINED).map(arnOf).sort());
    expect(active.nextToken).toBeUndefined();
  });

  it('refuses maxResults above 100', async () => {
    await expect(
      ecs.send(
        new ListContainerInstancesCommand({
          cluster: STACK.clusterName,
          status: 'DRAINING',
          maxResults: 101,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('finds 50 EC2 instances in one `in` filter, ids quoted or not, and ignores unknown ids', async () => {
    const wanted = ec2Ids.slice(40, 90);
    const written = wanted.map((id, n) => (n % 3 === 0 ? id : n % 3 === 1 ? `'${id}'` : `"${id}"`));
    const filter = `ec2InstanceId in [${[...written, "'i-0000000000000dead'"].join(', ')}]`;

    const { containerInstanceArns, nextToken } = await ecs.send(
      new ListContainerInstancesCommand({ cluster: STACK.clusterName, filter, maxResults: 100 }),
    );

    expect(containerInstanceArns?.sort()).toEqual(wanted.map(arnOf).sort());
    expect(nextToken).toBeUndefined();
  });

  it('combines an `in` filter with a status', async () => {
    const wanted = ec2Ids.slice(DRAINED - 2, DRAINED + 2);
    const filter = `ec2InstanceId in [${wanted.join(',')}]`;

    const { containerInstanceArns } = await ecs.send(
      new ListContainerInstancesCommand({ cluster: STACK.clusterName, filter, status: 'DRAINING' }),
    );

    expect(containerInstanceArns?.sort()).toEqual(wanted.slice(0, 2).map(arnOf).sort());
  });

  it('accepts a quoted id in an `==` filter', async () => {
    const id = ec2Ids[7] ?? '';
    const { containerInstanceArns } = await ecs.send(
      new ListContainerInstancesCommand({ cluster: STACK.clusterName, filter: `ec2InstanceId == '${id}'` }),
    );
    expect(containerInstanceArns).toEqual([arnOf(id)]);
  });
});

describe('DescribeAutoScalingInstances', () => {
  it('describes 50 instances in one call', async () => {
    const wanted = ec2Ids.slice(10, 60);
    const { AutoScalingInstances, NextToken } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: wanted }),
    );
    expect(AutoScalingInstances?.map((instance) => instance.InstanceId)).toEqual(wanted);
    expect(NextToken).toBeUndefined();
  });

  it('refuses 51 ids with a ValidationError', async () => {
    await expect(
      autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ec2Ids.slice(0, 51) })),
    ).rejects.toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
  });
});
