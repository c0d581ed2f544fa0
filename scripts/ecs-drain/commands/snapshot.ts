import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { ClusterShape } from '../../../sim/scenario';
import { ClusterShapeReader } from '../aws/cluster-shape';
import { type CommandRegistration, wholeNumber } from '../command';
import { CliError, type CommandContext, EXIT } from '../context';
import { type ClusterObservation, snapshotShape } from '../snapshot-shape';

/**
 * `ecs-drain snapshot --cluster C [--group G]`: the live cluster's shape as the rehearsal's
 * `--config` file, so that `npm start -- --config snapshot.json` rehearses this cluster before its
 * real refresh. Observe (ECS, Auto Scaling), decide (snapshot-shape.ts), write; what ECS cannot tell
 * is an assumption, listed on stderr.
 */

interface SnapshotOptions {
  cluster: string;
  group?: string;
  out?: string;
  deregistrationDelay: number;
}

const HELP = `
Reads: ListContainerInstances/DescribeContainerInstances (instances, registered CPU and memory),
ListServices/DescribeServices (desired count, minimum/maximum percent, DAEMON, circuit breaker,
health check grace period), DescribeTaskDefinition (CPU, memory, static host ports, stopTimeout),
ListTasks/DescribeTasks (tasks no service started). --group: the group's desired capacity is the
number of instances, and its instances give the size.

Assumptions (listed on stderr, not in the file: the rehearsal's schema is strict):
  startupSeconds  the service's health check grace period, else 30 s
  stopSeconds     stopTimeout (the agent's 30 s when unset), plus the target group's deregistration
                  delay for a load-balanced service (ELB's default 300 s; --deregistration-delay)
  standalone tasks run until stopped; boot, health and shutdown times are the rehearsal's defaults.
`;

export const registerSnapshot: CommandRegistration = (program, run) => {
  program
    .command('snapshot')
    .description("write the live cluster's shape as the rehearsal's --config file")
    .requiredOption('--cluster <name>', 'the ECS cluster')
    .option('--group <name>', 'the Auto Scaling group to rehearse (its size and instances)')
    .option('-o, --out <file>', 'write the file here (default: stdout)')
    .addOption(
      new Option(
        '--deregistration-delay <seconds>',
        "load-balanced services' target group deregistration delay",
      )
        .argParser(wholeNumber(0, 3600))
        .default(300),
    )
    .addHelpText('after', HELP)
    .action(run(snapshot));
};

async function snapshot(context: CommandContext, options: SnapshotOptions): Promise<number> {
  const reader = new ClusterShapeReader(context.clients().ecs);
  const { autoScaling } = context.adapters();

  // Observe.
  let groupInstances: Set<string> | undefined;
  let desired: number | undefined;
  if (options.group !== undefined) {
    const group = await autoScaling.describeGroup(options.group);
    if (group === undefined)
      throw new CliError(
        EXIT.notFound,
        `no Auto Scaling group named ${options.group} in this account and Region`,
      );
    groupInstances = new Set(group.instances.map((instance) => instance.instanceId));
    desired = group.desiredCapacity;
  }
  const registered = await reader.containerInstances(options.cluster, groupInstances);
  const observation: ClusterObservation = {
    instances: desired ?? registered.length,
    registered,
    services: await reader.services(options.cluster),
    standaloneTasks: await reader.standaloneTasks(options.cluster),
  };

  // Decide, and check the file is one the rehearsal takes.
  const { shape, assumptions } = snapshotShape(observation, {
    deregistrationDelaySeconds: options.deregistrationDelay,
  });
  const parsed = ClusterShape.safeParse(shape);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(
      EXIT.failed,
      `cluster ${options.cluster} cannot be rehearsed: ${issue?.path.join('.') || 'shape'}: ${issue?.message ?? 'invalid'}`,
    );
  }

  // Write.
  const text = `${JSON.stringify(shape, null, 2)}\n`;
  for (const line of assumptions) context.note(`assumed: ${line}`);
  if (options.out === undefined) {
    context.io.stdout(text);
    return EXIT.ok;
  }
  writeFileSync(options.out, text);
  const services = shape.services.length;
  context.result({ out: options.out, shape, assumptions }, () => [
    `${options.out}: ${shape.instances} instances, ${services} services, ${shape.standaloneTasks?.length ?? 0} standalone task families; rehearse it: npm start -- --config ${options.out}`,
  ]);
  return EXIT.ok;
}
