import { type AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { type ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointClients } from '../helpers/endpoint';

// A broken AMI (issue 9's bad-ami scenario): its instances boot and pass EC2 health checks, so
// Auto Scaling reports them InService and HEALTHY, but their ECS agent never connects: they never
// become container instances, and nothing is placed on them.

const BAD_AMI = 'ami-0bad0000000000009';

let world: World;
let server: RunningServer;
let ecs: ECSClient;
let autoScaling: AutoScalingClient;

beforeEach(async () => {
  world = buildWorld({ ...defaultOptions(demoShape(6)), brokenAmis: [BAD_AMI] }, 'none');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
  ({ ecs, autoScaling } = endpointClients(server.url));
});
afterEach(async () => {
  ecs.destroy();
  autoScaling.destroy();
  await server.close();
});

const launchedFrom = (amiId: string) =>
  [...world.group.instances.values()].filter((instance) => instance.amiId === amiId);

describe('an instance booted from a broken AMI', () => {
  it('is InService and HEALTHY to Auto Scaling, yet never registers with ECS', async () => {
    world.group.startInstanceRefresh({ amiId: BAD_AMI, minHealthyPercentage: 50, instanceWarmup: 0 });
    await world.clock.run(world.clock.now + 600);

    const bad = launchedFrom(BAD_AMI).map((instance) => instance.id);
    expect(bad.length).toBeGreaterThan(0);
    const { AutoScalingInstances } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: bad }),
    );
    expect(AutoScalingInstances?.map((i) => [i.LifecycleState, i.HealthStatus])).toEqual(
      bad.map(() => ['InService', 'HEALTHY']),
    );
    const { containerInstanceArns } = await ecs.send(
      new ListContainerInstancesCommand({
        cluster: STACK.clusterName,
        filter: `ec2InstanceId in [${bad.join(',')}]`,
      }),
    );
    expect(containerInstanceArns).toEqual([]);
    expect(world.containerInstanceEvents.some((e) => bad.includes(e.detail.ec2InstanceId))).toBe(false);
  });

  it('gets no task placed on it: the cluster loses the capacity the refresh took away', async () => {
    const healthyBefore = [...world.ecs.services.values()].reduce((sum, s) => sum + s.healthyCount, 0);
    world.group.startInstanceRefresh({ amiId: BAD_AMI, minHealthyPercentage: 50, instanceWarmup: 0 });
    await world.clock.run(world.clock.now + 1800);

    expect(world.group.refresh?.status).toBe('Successful');
    expect(launchedFrom(BAD_AMI)).toHaveLength(6);
    const registered = [...world.ecs.instances.values()].filter((ci) => ci.status !== 'INACTIVE');
    expect(registered.map((ci) => ci.ec2InstanceId)).toEqual([]);
    const healthyAfter = [...world.ecs.services.values()].reduce((sum, s) => sum + s.healthyCount, 0);
    expect(healthyBefore).toBeGreaterThan(0);
    expect(healthyAfter).toBe(0);
  });

  it('can be declared broken during a run, for the launches that follow', async () => {
    world.brokenAmis.add(world.group.amiId); // the AMI the group launches from
    world.group.setDesiredCapacity(7);
    await world.clock.run(world.clock.now + 300);

    const newest = [...world.group.instances.values()].at(-1);
    expect(newest?.state).toBe('InService');
    expect(world.ecs.containerInstancesOf(newest?.id ?? '').map((ci) => ci.arn)).toEqual([]);
    expect([...world.ecs.instances.values()].filter((ci) => ci.status === 'ACTIVE')).toHaveLength(6);
  });
});
