import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serveLive } from './live';
import { errorCode, outputDirectory, runProgram, UsageError, wholeNumber } from './cli-input';
import { type Controller, loadController } from './controller';
import { buildWorld, defaultOptions, demoShape, setActive } from './scenario';
import { writeEventsTo } from './event-files';
import { STACK, type World } from './world';

const HELP = `npm run sim:serve -- [--port 4580] [--host 127.0.0.1] [--instances 6] [--speed 1]
                         [--controller [--verbose]] [--events-dir out/events]

Runs the demo cluster behind a local ECS + Auto Scaling endpoint that the AWS CLI, the SDKs and
\`sam local invoke --env-vars events/env.json\` can talk to. Simulated time follows wall time
(--speed N: N times faster, at most 1000), so drains and hook timeouts play out live.

Services deploy new task definition revisions (RegisterTaskDefinition, UpdateService); an image
whose tag is \`broken\` or ends in \`-broken\` crashes soon after it starts, to watch one fail.

  --controller   deploy the stack's real functions inside the simulation, as \`npm start\` does:
                 scale the group in or start an instance refresh with the AWS CLI and watch them
                 drain each instance (container instance DRAINING, tasks moved, lifecycle action
                 completed). No Docker, no SAM.
  --verbose      with --controller: the functions' log lines on stderr, one JSON line each,
                 stamped with the simulated time.
  --events-dir   without --controller (the default), no controller runs inside: the lifecycle
                 notifications and task events the stack's SNS topic and EventBridge rule would
                 deliver are written here as Lambda events, for \`sam local invoke -e\`.
  --host 0.0.0.0 lets containers reach it as host.docker.internal.
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
      'events-dir': { type: 'string' },
      controller: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
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
  if (values.controller && values['events-dir'] !== undefined)
    throw new UsageError('--events-dir is for running the functions yourself: drop it with --controller');
  if (values.verbose && !values.controller)
    throw new UsageError("--verbose shows the functions' log lines: it needs --controller");
  const eventsDir = values.controller
    ? undefined
    : resolve(outputDirectory(values['events-dir'] ?? join('out', 'events'), '--events-dir'));

  // The functions reach the world through an in-process request handler, as `npm start`'s do: the
  // SDK still serializes and parses every call, and each call takes simulated time.
  const controller: Controller =
    eventsDir === undefined
      ? loadController(
          { kind: 'in-process', target: () => served.api },
          { logLevel: values.verbose ? 'INFO' : 'SILENT' },
        )
      : writeEventsTo(eventsDir);
  const served = buildWorld({ ...defaultOptions(demoShape(instances)), controller }, 'notify');
  // The functions' log lines carry the simulated time of the world that is active.
  setActive(served);
  const { server } = await serveLive(served, {
    speed,
    port,
    host: values.host,
    // A simulation that cannot go on (a stalled clock) says why and ends, rather than freeze.
    onStop: (error) => {
      process.stderr.write(`simulation stopped: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  }).catch((error: unknown) => {
    const code = errorCode(error) || String(error);
    throw new UsageError(`cannot listen on ${values.host}:${port} (${code})`);
  });

  process.stdout.write(banner(server.url, served, eventsDir, values['events-dir']));
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** What runs where, and the commands to try. */
function banner(url: string, world: World, eventsDir: string | undefined, eventsFlag?: string): string {
  const instance = [...world.group.instances.keys()][0];
  const aws = `aws --endpoint-url ${url}`;
  const group = `--auto-scaling-group-name ${STACK.groupName}`;
  const lines = [
    `Simulated ECS cluster "${STACK.clusterName}" and Auto Scaling group "${STACK.groupName}" (hook "${STACK.hookName}") on ${url}`,
    eventsDir === undefined
      ? "The stack's functions run inside it and drain every instance the group terminates."
      : `Events the functions would receive are written to ${eventsDir}`,
    '',
    'Try:',
    '  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=',
    `  ${aws} ecs list-container-instances --cluster ${STACK.clusterName} --filter "ec2InstanceId == ${instance}"`,
    `  ${aws} autoscaling set-desired-capacity ${group} --desired-capacity ${world.group.desired - 1}`,
    `  ${aws} autoscaling describe-auto-scaling-instances --query "AutoScalingInstances[].[InstanceId,LifecycleState]" --output text`,
  ];
  if (eventsDir === undefined) {
    lines.push(
      `  ${aws} ecs list-container-instances --cluster ${STACK.clusterName} --status DRAINING`,
      `  ${aws} autoscaling describe-scaling-activities ${group} --max-items 3`,
      `  ${aws} autoscaling start-instance-refresh ${group} --preferences MinHealthyPercentage=90,InstanceWarmup=60`,
      `  ${aws} autoscaling describe-instance-refreshes ${group}`,
    );
  } else {
    lines.push(
      `  sam local invoke StartDrainFunction -e ${join(eventsFlag ?? join('out', 'events'), 'lifecycle-<instance-id>.json')} --env-vars events/env.json`,
    );
  }
  lines.push('', 'Ctrl-C to stop.', '');
  return lines.join('\n');
}

runProgram('npm run sim:serve', main);
