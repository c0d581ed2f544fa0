import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorld, ClusterShape, defaultOptions, SETTLE_SECONDS } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { servedWorld } from '../helpers/endpoint';

// A cluster as a rehearsal's --config carries it: `shop` with the circuit breaker (and rollback) on.
const shape = ClusterShape.parse({
  instances: 3,
  services: [
    {
      name: 'shop',
      desiredCount: 3,
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      startupSeconds: 20,
      stopSeconds: 10,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    },
  ],
});

async function served() {
  const world = buildWorld(defaultOptions(shape), 'none');
  await world.clock.run(SETTLE_SECONDS);
  return { world, ...(await servedWorld(world)) };
}

describe('deployments over HTTP with the real ECS client', () => {
  it('registers a revision from a described one, deploys it and sees it COMPLETED; a broken image rolls back', async () => {
    const { world, ecs, close } = await served();
    try {
      const cluster = STACK.clusterName;
      const describe = async () =>
        (await ecs.send(new DescribeServicesCommand({ cluster, services: ['shop'] }))).services?.[0];
      const before = await describe();
      expect(before).toMatchObject({
        taskDefinition: expect.stringMatching(/task-definition\/shop:1$/),
        schedulingStrategy: 'REPLICA',
        launchType: 'EC2',
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
        deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }],
      });
      expect(before?.deployments?.[0]?.createdAt).toBeInstanceOf(Date);

      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: before?.taskDefinition }),
      );
      const deploy = async (image: string) => {
        const registered = await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'shop',
            containerDefinitions: (taskDefinition?.containerDefinitions ?? []).map((c) => ({ ...c, image })),
            cpu: taskDefinition?.cpu,
            memory: taskDefinition?.memory,
          }),
        );
        const arn = registered.taskDefinition?.taskDefinitionArn;
        await ecs.send(new UpdateServiceCommand({ cluster, service: 'shop', taskDefinition: arn }));
        await world.clock.run(world.clock.now + 900);
        return arn;
      };

      const revision2 = await deploy('example/shop:2');
      expect(revision2).toMatch(/shop:2$/);
      const good = await describe();
      expect(good?.taskDefinition).toBe(revision2);
      expect(good?.deployments).toEqual([
        expect.objectContaining({ taskDefinition: revision2, rolloutState: 'COMPLETED', runningCount: 3 }),
      ]);
      expect(good?.events?.[0]?.message).toBe('(service shop) has reached a steady state.');

      const revision3 = await deploy('example/shop:3-broken');
      const rolledBack = await describe();
      expect(rolledBack?.taskDefinition).toBe(revision2);
      expect(rolledBack?.deployments).toEqual([
        expect.objectContaining({ taskDefinition: revision2, rolloutState: 'COMPLETED' }),
      ]);
      expect(rolledBack?.events?.map((e) => e.message)).toContainEqual(
        expect.stringContaining('deployment failed: tasks failed to start.'),
      );
      expect(revision3).toMatch(/shop:3$/);
      expect(world.api.calls.get('ecs:UpdateService')).toBe(2);
    } finally {
      await close();
    }
  }, 30_000);

  it('the example config carries a circuit breaker through the strict schema', () => {
    const example = ClusterShape.parse(
      JSON.parse(readFileSync(join(__dirname, '../../sim/examples/cluster.json'), 'utf8')),
    );
    expect(example.services[0]?.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    expect(() =>
      ClusterShape.parse({
        instances: 1,
        services: [{ name: 'a', deploymentCircuitBreaker: { enable: true, rolback: true } }],
      }),
    ).toThrow();
  });
});
