import { EXIT } from '../../scripts/ecs-drain/context';
import { type LiveWorld, serveLive } from '../../sim/live';
import { buildWorld, ClusterShape, defaultOptions } from '../../sim/scenario';
import { STACK } from '../../sim/world';
import { spawnEcsDrain } from '../helpers/ecs-drain';

// `shop` with the circuit breaker and rollback on; simulated time runs 60 times faster than the
// wall clock, so a rolling deployment (pull, 20 s to healthy, old tasks stopped) takes about a second.
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
    // No circuit breaker (CreateService's default): ECS retries a failing image for ever.
    { name: 'legacy', desiredCount: 1, minimumHealthyPercent: 0, maximumPercent: 100, startupSeconds: 5 },
  ],
});

const ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };

describe('ecs-drain deploy against the twin', () => {
  let live: LiveWorld;
  beforeAll(async () => {
    live = await serveLive(buildWorld(defaultOptions(shape), 'none'), { speed: 60 });
  });
  afterAll(() => live.close());

  const deploy = (...argv: string[]) =>
    spawnEcsDrain(
      ['--endpoint-url', live.url, 'deploy', '--cluster', STACK.clusterName, '--poll-interval', '1', ...argv],
      ENV,
    );
  const serving = () => live.world.ecs.services.get('shop')?.primary.taskDefinition;
  const registered = () => live.world.taskDefinitions.list({ family: 'shop' }).length;

  it('deploys a new image: exit 0, and the new revision serves every task', async () => {
    const { code, stdout, stderr } = await deploy('--service', 'shop', '--image', 'example/shop:2');
    expect({ code, stderr }).toMatchObject({
      code: EXIT.ok,
      stderr: expect.stringContaining('deploying shop:2'),
    });
    expect(stdout).toBe('shop: shop:2 serves (example/shop:2)\n');
    expect(serving()?.revision).toBe(2);
    expect(serving()?.containerDefinitions[0]?.image).toBe('example/shop:2');
    const shop = live.world.ecs.services.get('shop');
    expect([...(shop?.tasks ?? [])].every((t) => t.taskDefinitionArn.endsWith('shop:2'))).toBe(true);
  }, 60_000);

  it('a broken image: the circuit breaker rolls back, exit 1 naming the reason, the old revision serves; --json says so', async () => {
    const { code, stdout, stderr } = await deploy(
      '--service',
      'shop',
      '--image',
      'example/shop:3-broken',
      '--container',
      'shop',
    );
    // The global --json goes before the command; here the text run, then the JSON one below.
    expect(code).toBe(EXIT.failed);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'ecs-drain deploy: shop:3 rolled back: ECS deployment circuit breaker: tasks failed to start; shop:2 serves',
    );
    expect(serving()?.revision).toBe(2);

    const json = await spawnEcsDrain(
      [
        '--json',
        '--endpoint-url',
        live.url,
        'deploy',
        '--cluster',
        STACK.clusterName,
        '--service',
        'shop',
        '--image',
        'example/shop:broken',
        '--poll-interval',
        '1',
      ],
      ENV,
    );
    expect(json.code).toBe(EXIT.failed);
    expect(JSON.parse(json.stdout)).toEqual({
      cluster: STACK.clusterName,
      service: 'shop',
      image: 'example/shop:broken',
      container: 'shop',
      taskDefinition: expect.stringMatching(/task-definition\/shop:4$/),
      previousTaskDefinition: expect.stringMatching(/task-definition\/shop:2$/),
      outcome: 'rolled-back',
      seconds: expect.any(Number),
    });
    expect(serving()?.revision).toBe(2);
  }, 60_000);

  it('no circuit breaker: warned at the start, and a failing image ends at --timeout (exit 6), not in success', async () => {
    const { code, stdout, stderr } = await deploy(
      '--service',
      'legacy',
      '--image',
      'example/legacy:2-broken',
      '--timeout',
      '3',
    );
    expect(code).toBe(EXIT.timedOut);
    expect(stdout).toBe('');
    expect(stderr).toContain('legacy: warning: no deployment circuit breaker');
    expect(stderr).toMatch(/not finished after 3 s/);
  }, 60_000);

  it('an unknown service or cluster: not-found exit code, one line, nothing registered', async () => {
    const before = registered();
    const registrations = () => live.world.api.calls.get('ecs:RegisterTaskDefinition') ?? 0;
    const registrationsBefore = registrations();
    const service = await deploy('--service', 'nope', '--image', 'example/shop:9');
    expect(service.code).toBe(EXIT.notFound);
    expect(service.stderr).toBe(`ecs-drain deploy: no service "nope" in cluster "${STACK.clusterName}"\n`);
    const cluster = await spawnEcsDrain(
      ['--endpoint-url', live.url, 'deploy', '--cluster', 'nope', '--service', 'shop', '--image', 'x:1'],
      ENV,
    );
    expect(cluster.code).toBe(EXIT.notFound);
    expect(cluster.stderr.trim().split('\n')).toHaveLength(1);
    expect(registered()).toBe(before);
    expect(registrations()).toBe(registrationsBefore);
  }, 60_000);
});
