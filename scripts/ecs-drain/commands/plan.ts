import { Option } from 'commander';
import { FleetReads, type GroupRead } from '../aws/fleet-reads';
import { type CommandRegistration, wholeNumber } from '../command';
import { CliError, type CommandContext, EXIT } from '../context';
import {
  type Impact,
  impactOf,
  type PlanHost,
  type PlanInstance,
  type PlanService,
  type PlanTask,
  refreshBatches,
  refreshBatchSize,
  type RefreshBatch,
  type ScaleInStep,
  scaleInOrder,
  type ServiceImpact,
  verdictText,
} from './plan-prediction';
import { observeFleet, selectionOptions, table } from './status';

/**
 * `ecs-drain plan`: what a scale-in by N or an instance refresh of a group would take out, in which
 * order, and whether each service keeps its floor. Reads only. Observe (fleet-reads), predict
 * (plan-prediction.ts), print.
 */

interface PlanOptions {
  cluster: string[];
  group: string[];
  scaleIn?: number;
  refresh?: boolean;
  minHealthy: number;
  maxHealthy?: number;
  skipMatching?: boolean;
}

export interface PlanResult {
  kind: 'scale-in' | 'refresh';
  group: string;
  cluster: string;
  desiredCapacity: number;
  /** Scale-in: the order in which instances go. */
  steps?: ScaleInStep[];
  /** Refresh: the batches, each terminated together. */
  batches?: RefreshBatch[];
  /** Refresh: its preferences as predicted with. */
  preferences?: { minHealthyPercentage: number; maxHealthyPercentage?: number; skipMatching: boolean };
  services: (ServiceImpact & { batch?: number })[];
  warnings: string[];
}

/** AWS's own default MinHealthyPercentage (aws-semantics §2.1). */
const AWS_DEFAULT_MIN_HEALTHY = 90;

export const plan: CommandRegistration = (program, run) => {
  selectionOptions(
    program
      .command('plan')
      .description(
        'which instances a scale-in or a refresh would take out, in which order, and what each service keeps',
      ),
    'the Auto Scaling group (exactly one)',
  )
    .addOption(
      new Option('--scale-in <n>', 'predict a scale-in by n instances').argParser(wholeNumber(1, 10_000)),
    )
    .addOption(new Option('--refresh', 'predict an instance refresh').conflicts('scaleIn'))
    .addOption(
      new Option('--min-healthy <percent>', 'the refresh’s MinHealthyPercentage')
        .argParser(wholeNumber(0, 100))
        .default(AWS_DEFAULT_MIN_HEALTHY),
    )
    .addOption(
      new Option(
        '--max-healthy <percent>',
        'the refresh’s MaxHealthyPercentage (default: none, as AWS)',
      ).argParser(wholeNumber(100, 200)),
    )
    .option('--skip-matching', 'the refresh skips instances already on the desired configuration')
    .action(
      run(async (context, options: PlanOptions) => {
        if ((options.scaleIn === undefined) === (options.refresh !== true))
          throw new CliError(EXIT.usage, 'say what to plan: --scale-in <n> or --refresh');
        if (options.group.length !== 1) throw new CliError(EXIT.usage, 'name exactly one --group');
        if (options.maxHealthy !== undefined && options.maxHealthy - options.minHealthy > 100)
          throw new CliError(
            EXIT.usage,
            '--max-healthy may exceed --min-healthy by 100 at most, as AWS requires',
          );
        const result = await predict(context, options);
        context.result(result, () => planLines(result));
      }),
    );
};

async function predict(context: CommandContext, options: PlanOptions): Promise<PlanResult> {
  const reads = new FleetReads(context.clients().ecs, context.clients().autoScaling, context.readPacer);
  const fleet = await observeFleet(reads, options);
  const group = fleet.groups[0] as GroupRead;
  const ids = new Set(group.instances.map((i) => i.instanceId));
  const cluster = fleet.clusters.find((c) => c.instances.some((i) => ids.has(i.ec2InstanceId)));
  if (cluster === undefined)
    throw new CliError(
      EXIT.notFound,
      `no instance of group ${group.name} is registered in ${options.cluster.length > 0 ? options.cluster.join(', ') : 'any cluster'}`,
    );
  const current = await currentConfiguration(context, group);
  const instances: PlanInstance[] = group.instances.map((i) => ({
    instanceId: i.instanceId,
    availabilityZone: i.availabilityZone,
    lifecycleState: i.lifecycleState,
    protectedFromScaleIn: i.protectedFromScaleIn,
    usesLaunchConfiguration: i.launchConfigurationName !== undefined,
    ...outdated(i, current),
  }));
  const hosts: PlanHost[] = cluster.instances.map((i) => ({
    containerInstanceArn: i.arn,
    ec2InstanceId: i.ec2InstanceId,
    canReceive: i.status === 'ACTIVE' && i.agentConnected,
    registered: i.registered,
    remaining: i.remaining,
  }));
  const tasks: PlanTask[] = cluster.tasks.map((t) => ({
    containerInstanceArn: t.containerInstanceArn,
    ...(t.group !== undefined && { group: t.group }),
    daemon: t.daemon === true,
    cpu: t.cpu,
    memory: t.memory,
  }));
  const services: PlanService[] = cluster.services;
  const base = { group: group.name, cluster: cluster.name, desiredCapacity: group.desiredCapacity };

  if (options.scaleIn !== undefined) {
    const steps = scaleInOrder(instances, options.scaleIn);
    const impact = impactOf(
      hosts,
      tasks,
      services,
      steps.map((s) => s.instanceId),
    );
    const warnings = [...impact.warnings];
    if (steps.length < options.scaleIn)
      warnings.unshift(
        `only ${steps.length} instance(s) can go: the others are protected from scale-in or not InService`,
      );
    if (group.desiredCapacity - options.scaleIn < group.minSize)
      warnings.unshift(
        `desired ${group.desiredCapacity} - ${options.scaleIn} is below MinSize ${group.minSize}: Auto Scaling refuses it`,
      );
    return { kind: 'scale-in', ...base, steps, services: impact.services, warnings };
  }

  const preferences = {
    desiredCapacity: group.desiredCapacity,
    minHealthyPercentage: options.minHealthy,
    ...(options.maxHealthy !== undefined && { maxHealthyPercentage: options.maxHealthy }),
    skipMatching: options.skipMatching === true,
  };
  const batches = refreshBatches(instances, preferences);
  // Each batch against the cluster as it is now, its instances and the earlier ones gone, as many
  // empty instances of their size come in (launched ahead, or with them).
  const impacts: Impact[] = batches.map((_, n) => {
    const leaving = batches.slice(0, n + 1).flatMap((b) => b.instanceIds);
    return impactOf(hosts, tasks, services, leaving, leaving.length);
  });
  const { size, ahead } = refreshBatchSize(preferences);
  const warnings = [...new Set(impacts.flatMap((i) => i.warnings))];
  warnings.push(
    `${size} instance(s) at a time${ahead > 0 ? `, ${ahead} launched ahead` : ', each terminated as its replacement launches'}`,
  );
  return {
    kind: 'refresh',
    ...base,
    batches,
    preferences: {
      minHealthyPercentage: preferences.minHealthyPercentage,
      ...(options.maxHealthy !== undefined && { maxHealthyPercentage: options.maxHealthy }),
      skipMatching: preferences.skipMatching,
    },
    services: worstPerService(impacts),
    warnings,
  };
}

/** Per service, the batch at which it fares worst. */
function worstPerService(impacts: Impact[]): (ServiceImpact & { batch?: number })[] {
  const rank = (s: ServiceImpact) =>
    s.verdict.kind === 'cannot-move'
      ? -1e9
      : s.verdict.kind === 'below-floor'
        ? -1e6 + s.verdict.lowest
        : s.verdict.kind === 'keeps-floor'
          ? s.verdict.lowest
          : 1e9;
  const worst = new Map<string, ServiceImpact & { batch?: number }>();
  impacts.forEach((impact, n) => {
    for (const service of impact.services) {
      const known = worst.get(service.service);
      if (known === undefined || rank(service) < rank(known))
        worst.set(
          service.service,
          service.verdict.kind === 'unaffected' ? service : { ...service, batch: n + 1 },
        );
    }
  });
  return [...worst.values()];
}

/** The group's current configuration: its launch template id and version number, or its launch configuration. */
async function currentConfiguration(
  context: CommandContext,
  group: GroupRead,
): Promise<{ launchTemplate?: { id: string; version: string }; launchConfigurationName?: string }> {
  if (group.launchConfigurationName !== undefined)
    return { launchConfigurationName: group.launchConfigurationName };
  const template = group.launchTemplate;
  if (template === undefined) return {};
  const [version] = await context
    .adapters()
    .ec2.versions(
      template.id !== undefined ? { launchTemplateId: template.id } : { launchTemplateName: template.name },
      [template.version],
    );
  return version === undefined
    ? {}
    : { launchTemplate: { id: version.launchTemplateId, version: String(version.versionNumber) } };
}

function outdated(
  instance: GroupRead['instances'][number],
  current: Awaited<ReturnType<typeof currentConfiguration>>,
): { outdated?: boolean } {
  if (current.launchTemplate !== undefined) {
    const own = instance.launchTemplate;
    return {
      outdated:
        own === undefined ||
        own.id !== current.launchTemplate.id ||
        own.version !== current.launchTemplate.version,
    };
  }
  if (current.launchConfigurationName !== undefined)
    return { outdated: instance.launchConfigurationName !== current.launchConfigurationName };
  return {};
}

export function planLines(result: PlanResult): string[] {
  const lines: string[] = [];
  if (result.kind === 'scale-in') {
    const steps = result.steps ?? [];
    lines.push(
      `scale-in of ${result.group} (cluster ${result.cluster}) by ${steps.length}: desired ${result.desiredCapacity} -> ${result.desiredCapacity - steps.length}`,
    );
    lines.push(
      ...table(
        ['ORDER', 'INSTANCE', 'AZ', 'WHY'],
        steps.map((step, n) => [
          String(n + 1),
          step.instanceId,
          step.availabilityZone,
          step.because.join('; '),
        ]),
      ),
    );
    if (steps.some((step) => step.alternatives.length > 0))
      lines.push('tie of n: AWS picks among n instances by billing hour, then at random (--json lists them)');
  } else {
    const p = result.preferences;
    lines.push(
      `instance refresh of ${result.group} (cluster ${result.cluster}), desired ${result.desiredCapacity}, ` +
        `min healthy ${p?.minHealthyPercentage} %, max healthy ${p?.maxHealthyPercentage === undefined ? 'none' : `${p.maxHealthyPercentage} %`}` +
        (p?.skipMatching === true ? ', skip matching' : ''),
    );
    lines.push(
      ...table(
        ['BATCH', 'INSTANCES', 'AHEAD'],
        (result.batches ?? []).map((batch, n) => [
          String(n + 1),
          batch.instanceIds.join(' '),
          String(batch.launchedAhead),
        ]),
      ),
    );
  }
  lines.push('');
  lines.push(
    ...table(
      ['SERVICE', 'ON THEM', 'FIT ELSEWHERE', 'FLOOR', 'VERDICT'],
      result.services.map((s) => [
        s.service,
        String(s.tasksOnLeaving),
        String(s.placeable),
        String(s.floor),
        verdictText(s) + (s.batch === undefined ? '' : ` (batch ${s.batch})`),
      ]),
    ),
  );
  if (result.warnings.length > 0) {
    lines.push('');
    for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  }
  return lines;
}
