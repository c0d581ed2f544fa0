import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startApiServer } from './api/server';
import { outputDirectory, runProgram, UsageError, wholeNumber } from './cli-input';
import { buildWorld, defaultOptions, demoShape, SETTLE_SECONDS } from './scenario';
import { writeEventsTo } from './event-files';
import { STACK } from './world';

const HELP = `npm run sim:serve -- [--port 4580] [--host 127.0.0.1] [--instances 6] [--speed 1] [--events-dir out/events]

Runs the demo cluster behind a local ECS + Auto Scaling endpoint that the AWS CLI, the SDKs and
\`sam local invoke --env-vars events/env.json\` can talk to. Simulated time follows wall time
(--speed N: N times faster), so drains and hook timeouts play out live.

Services deploy new task definition revisions (RegisterTaskDefinition, UpdateService); an image
whose tag is \`broken\` or ends in \`-broken\` crashes soon after it starts, to watch one fail.

No controller runs inside: the lifecycle notifications and task-stopped events the stack's SNS
topic and EventBridge rule would deliver are written to --events-dir as Lambda events, for you to
invoke the functions with. --host 0.0.0.0 lets containers reach it as host.docker.internal.
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      port: { type: 'string', default: '4580' },
      host: { type: 'string', default: '127.0.0.1' },
      instances: { type: 'string', default: '6' },
      speed: { type: 'string', default: '1' },
      'events-dir': { type: 'string', default: join('out', 'events') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const port = wholeNumber(values.port, '--port', 0, 65535);
  const instances = wholeNumber(values.instances, '--instances', 1, 5000);
  const speed = Number(values.speed);
  if (!(speed > 0 && speed <= 1000))
    throw new UsageError(`--speed takes a number above 0, at most 1000, not "${values.speed}"`);
  const eventsDir = resolve(outputDirectory(values['events-dir'], '--events-dir'));
  const world = buildWorld(
    { ...defaultOptions(demoShape(instances)), controller: writeEventsTo(eventsDir) },
    'notify',
  );
  const server = await startApiServer(() => world.api, port, values.host).catch((error: unknown) => {
    const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new UsageError(`cannot listen on ${values.host}:${port} (${code})`);
  });

  // Let the cluster place its tasks before anyone looks, then follow the wall clock.
  await world.clock.run(SETTLE_SECONDS);
  const started = Date.now();
  let running = false;
  setInterval(() => {
    if (running) return;
    running = true;
    void world.clock.run(SETTLE_SECONDS + ((Date.now() - started) / 1000) * speed).finally(() => {
      running = false;
    });
  }, 200);

  const url = server.url;
  const instance = [...world.group.instances.keys()][0];
  process.stdout.write(
    [
      `Simulated ECS cluster "${STACK.clusterName}" and Auto Scaling group "${STACK.groupName}" (hook "${STACK.hookName}") on ${url}`,
      `Events the functions would receive are written to ${eventsDir}`,
      '',
      'Try:',
      '  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1',
      `  aws --endpoint-url ${url} ecs list-container-instances --cluster ${STACK.clusterName} --filter "ec2InstanceId == ${instance}"`,
      `  aws --endpoint-url ${url} autoscaling describe-auto-scaling-instances`,
      `  aws --endpoint-url ${url} autoscaling set-desired-capacity --auto-scaling-group-name ${STACK.groupName} --desired-capacity ${world.group.desired - 1}`,
      `  sam local invoke StartDrainFunction -e ${join(values['events-dir'], `lifecycle-<instance-id>.json`)} --env-vars events/env.json`,
      '',
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  process.on('SIGINT', () => {
    void server.close().then(() => process.exit(0));
  });
}

runProgram('npm run sim:serve', main);
