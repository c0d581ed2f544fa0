import { parseArgs } from 'node:util';
import { startApiServer } from './api/server';
import { buildWorld, defaultOptions, demoShape, SETTLE_SECONDS } from './scenario';
import { STACK } from './world';

/**
 * `npm run sim:serve`: the demo cluster, settled, behind a local ECS + Auto Scaling endpoint that
 * the AWS CLI, the SDKs and `sam local invoke --env-vars events/env.json` can talk to.
 * Simulated time advances with wall time, so draining and lifecycle timeouts play out live.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4580' },
      host: { type: 'string', default: '127.0.0.1' },
      instances: { type: 'string', default: '6' },
      speed: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run sim:serve -- [--port 4580] [--host 127.0.0.1] [--instances 6] [--speed 1]\n' +
        '  --host 0.0.0.0 lets containers (sam local invoke) reach it through host.docker.internal.\n' +
        '  --speed N runs simulated time N times faster than wall time.\n',
    );
    return;
  }
  const shape = demoShape(Number(values.instances));
  const world = buildWorld(defaultOptions(shape), 'silent');
  const server = await startApiServer(() => world.api, Number(values.port), values.host);
  const speed = Number(values.speed);
  const started = Date.now();
  // Let the cluster place its tasks before anyone looks.
  await world.clock.run(SETTLE_SECONDS);
  const offset = world.clock.now;
  setInterval(() => {
    void world.clock.run(offset + ((Date.now() - started) / 1000) * speed);
  }, 200);

  const url = server.url;
  const instance = [...world.group.instances.keys()][0];
  process.stdout.write(
    [
      `Simulated ECS cluster "${STACK.clusterName}" and Auto Scaling group "${STACK.groupName}" on ${url}`,
      '',
      'Try:',
      `  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1`,
      `  aws --endpoint-url ${url} ecs list-container-instances --cluster ${STACK.clusterName}`,
      `  aws --endpoint-url ${url} ecs list-container-instances --cluster ${STACK.clusterName} --filter "ec2InstanceId == ${instance}"`,
      `  aws --endpoint-url ${url} ecs describe-clusters --clusters ${STACK.clusterName}`,
      `  aws --endpoint-url ${url} autoscaling describe-auto-scaling-instances`,
      `  aws --endpoint-url ${url} autoscaling set-desired-capacity --auto-scaling-group-name ${STACK.groupName} --desired-capacity ${shape.instances - 1}`,
      '',
      "The group has the controller's hook (ecs-drain) but no controller attached: invoke the functions",
      'yourself, e.g. sam local invoke with --env-vars events/env.json. Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  process.on('SIGINT', () => {
    void server.close().then(() => process.exit(0));
  });
}

void main();
