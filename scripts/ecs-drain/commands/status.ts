import { type Command, Option } from 'commander';
import { DRAIN_POLICY_DEFAULTS } from '../../../shared/config';
import { AMI_VARIANTS, type AmiVariant } from '../../../shared/rollout/ami-variants';
import { type ClusterRead, FleetReads, type GroupRead } from '../aws/fleet-reads';
import { type CommandRegistration, wholeNumber } from '../command';
import { CliError, type CommandContext, EXIT } from '../context';
import { holdingText, type StatusReport, statusReport } from './status-report';

/**
 * `ecs-drain status`: every instance of the clusters and groups asked for (all of the account's by
 * default), the drains in progress with why each is not finished, and refreshes under way.
 * Observe (fleet-reads and the functions' adapters), decide (status-report.ts), print.
 */

export interface Selection {
  cluster: string[];
  group: string[];
}

export interface Fleet {
  clusters: ClusterRead[];
  groups: GroupRead[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** --cluster and --group, repeatable; shared by status and plan. */
export function selectionOptions(command: Command, groupHelp: string): Command {
  return command
    .option(
      '--cluster <name>',
      'an ECS cluster (repeatable; default: every cluster of the account)',
      collect,
      [],
    )
    .option('--group <name>', groupHelp, collect, []);
}

/**
 * The clusters named (or all), and the groups named (or those with an instance in these clusters).
 * A name AWS does not know: exit 3, one line.
 */
export async function observeFleet(reads: FleetReads, selection: Selection): Promise<Fleet> {
  let names = [...new Set(selection.cluster)];
  if (names.length > 0) {
    const unknown = await reads.unknownClusters(names);
    if (unknown.length > 0) throw new CliError(EXIT.notFound, `no cluster named ${unknown.join(', ')}`);
  } else names = await reads.clusterNames();
  const wantedGroups = [...new Set(selection.group)];
  const groups = await reads.groups(wantedGroups.length > 0 ? wantedGroups : undefined);
  if (wantedGroups.length > 0) {
    const found = new Set(groups.map((g) => g.name));
    const unknown = wantedGroups.filter((name) => !found.has(name));
    if (unknown.length > 0)
      throw new CliError(EXIT.notFound, `no Auto Scaling group named ${unknown.join(', ')}`);
  }
  const clusters: ClusterRead[] = [];
  for (const name of names) clusters.push(await reads.cluster(name));
  if (wantedGroups.length > 0) return { clusters, groups };
  const inClusters = new Set(clusters.flatMap((c) => c.instances.map((i) => i.ec2InstanceId)));
  return { clusters, groups: groups.filter((g) => g.instances.some((i) => inClusters.has(i.instanceId))) };
}

/** The image each group's launch template names (an AMI id, or resolve:ssm:...), by group name. */
export async function launchTemplateImages(
  context: CommandContext,
  groups: GroupRead[],
): Promise<Map<string, string>> {
  const images = new Map<string, string>();
  for (const group of groups) {
    const template = group.launchTemplate;
    if (template === undefined) continue;
    const [version] = await context
      .adapters()
      .ec2.versions(
        template.id !== undefined ? { launchTemplateId: template.id } : { launchTemplateName: template.name },
        [template.version],
      );
    if (version?.imageId !== undefined) images.set(group.name, version.imageId);
  }
  return images;
}

interface StatusOptions extends Selection {
  drainDeadline: number;
  amiVariant: AmiVariant;
}

export const status: CommandRegistration = (program, run) => {
  selectionOptions(
    program
      .command('status')
      .description('instances, drains in progress and why they are not finished, refreshes under way'),
    'an Auto Scaling group (repeatable; default: the groups with instances in those clusters)',
  )
    .addOption(
      new Option('--drain-deadline <seconds>', "the stack's DrainDeadline, for each drain's time left")
        .argParser(wholeNumber(1, 172_800))
        .default(DRAIN_POLICY_DEFAULTS.drainDeadlineSeconds),
    )
    .addOption(
      new Option('--ami-variant <variant>', 'the recommended AMI to compare with (the AMI watcher’s)')
        .choices(AMI_VARIANTS)
        // The watcher's default, AmiVariant's first (shared/rollout/config.ts).
        .default(AMI_VARIANTS[0]),
    )
    .action(
      run(async (context, options: StatusOptions) => {
        const reads = new FleetReads(context.clients().ecs, context.clients().autoScaling, context.readPacer);
        const fleet = await observeFleet(reads, options);
        const refreshes = new Map(
          await Promise.all(
            fleet.groups.map(async (g) => [g.name, await reads.latestRefresh(g.name)] as const),
          ),
        );
        const recommended = await context.adapters().ssm.recommendedAmi(options.amiVariant);
        const report = statusReport({
          now: Date.now(),
          drainDeadlineSeconds: options.drainDeadline,
          clusters: fleet.clusters,
          groups: fleet.groups,
          launchTemplateImages: await launchTemplateImages(context, fleet.groups),
          recommendedAmi: {
            variant: recommended.variant,
            ...(recommended.imageId !== undefined && { imageId: recommended.imageId }),
          },
          refreshes,
        });
        context.result(report, () => statusLines(report));
      }),
    );
};

/** The text output: compact tables within 100 columns. */
export function statusLines(report: StatusReport): string[] {
  const lines: string[] = [];
  const ami = report.recommendedAmi;
  lines.push(
    `clusters ${report.clusters.join(', ') || '(none)'}; recommended AMI ${ami?.imageId ?? 'unknown'} (${ami?.variant ?? '?'})`,
  );
  for (const group of report.groups)
    lines.push(
      `group ${group.name}: desired ${group.desiredCapacity} (min ${group.minSize}, max ${group.maxSize})` +
        (group.launchTemplateImageId === undefined
          ? ''
          : `, launch template image ${group.launchTemplateImageId}`),
    );
  lines.push('');
  const header = ['INSTANCE', 'CLUSTER', 'AZ', 'LIFECYCLE', 'ECS', 'AGENT', 'AMI', 'TASKS'];
  const rows = report.instances.map((i) => [
    i.ec2InstanceId,
    i.cluster,
    i.availabilityZone?.replace(/^[a-z]+-[a-z]+-/, '') ?? '-',
    i.lifecycleState ?? '(no group)',
    i.status,
    i.agentConnected ? (i.agentVersion ?? 'ok') : 'DISCONN',
    (i.amiId ?? '?') + (i.outdatedAgainst.length > 0 ? ' *' : ''),
    `${i.runningTasks}${i.pendingTasks > 0 ? `+${i.pendingTasks}p` : ''}`,
  ]);
  lines.push(...table(header, rows));
  if (report.instances.some((i) => i.outdatedAgainst.length > 0))
    lines.push('* outdated: differs from the recommended AMI or the launch template image');
  lines.push('');
  if (report.drains.length === 0) lines.push('no drain in progress');
  for (const drain of report.drains) {
    const age =
      drain.ageSeconds === undefined
        ? 'no ecs-drain.started-at: drained by hand or another tool'
        : `draining for ${duration(drain.ageSeconds)}, ${
            (drain.deadlineInSeconds ?? 0) >= 0
              ? `deadline in ${duration(drain.deadlineInSeconds ?? 0)}`
              : `deadline passed ${duration(-(drain.deadlineInSeconds ?? 0))} ago`
          }`;
    lines.push(
      `drain ${drain.ec2InstanceId} (${drain.cluster}, ${drain.lifecycleState ?? 'no group'}): ${age}; ` +
        `${drain.tasksWantingToRun} to move, ${drain.tasksStopping} stopping`,
    );
    for (const reason of drain.holding) lines.push(`  - ${holdingText(reason)}`);
    if (drain.holding.length === 0) lines.push(`  - ${drain.summary}`);
  }
  for (const refresh of report.refreshes)
    lines.push(
      `refresh ${refresh.group}: ${refresh.status} ${refresh.percentageComplete} %, ${refresh.instancesToUpdate} to update` +
        (refresh.checkpoints.length > 0
          ? `, checkpoints ${refresh.checkpoints.join('/')}${refresh.nextCheckpoint === undefined ? '' : ` (next ${refresh.nextCheckpoint})`}`
          : '') +
        (refresh.statusReason === undefined ? '' : `: ${refresh.statusReason}`),
    );
  if (report.refreshes.length === 0) lines.push('no instance refresh in progress');
  return lines;
}

/** Columns padded to their widest cell, two spaces apart. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, n) =>
    Math.max(title.length, ...rows.map((row) => (row[n] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, n) => (n === cells.length - 1 ? cell : cell.padEnd(widths[n] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
