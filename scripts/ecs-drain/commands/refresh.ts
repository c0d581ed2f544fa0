import { InvalidArgumentError, Option } from 'commander';
import { decideAmiWatch } from '../../../shared/decisions/ami-watch';
import {
  planRefresh,
  REFRESH_DEFAULTS,
  type RefreshSettings,
  refreshSettingsProblems,
} from '../../../shared/decisions/refresh-plan';
import { ROLLOUT_STRATEGIES, type RolloutStrategy } from '../../../shared/decisions/rollout-strategy';
import { AMI_VARIANTS, type AmiVariant } from '../../../shared/rollout/ami-variants';
import { stepBlueGreen } from '../../../shared/rollout/blue-green';
import { observeAmiRollout } from '../../../shared/rollout/observe-ami';
import { type CommandRegistration, ROLLOUT_WAIT, wholeNumber, withWaitOptions } from '../command';
import { CliError, type CommandContext, EXIT } from '../context';
import {
  blueGreenDeps,
  clusterOfGroup,
  findGroup,
  waitForBlueGreen,
  waitForRefresh,
  type WaitOutcome,
} from '../rollout-act';
import { type RefreshCommand, refreshToImage, refreshToVersion } from '../rollout-decisions';

/**
 * `ecs-drain refresh --group G`: the AMI issue's strategies on demand. Observe the group as the AMI
 * watcher does, decide with the watcher's decision (or, for a named version, rollout-decisions.ts),
 * act with the watcher's request builder (rolling) or the first step of its state machine
 * (blue/green); `--wait` polls until the end.
 */

interface RefreshOptions {
  group: string;
  strategy: RolloutStrategy;
  image?: string;
  launchTemplateVersion?: string;
  variant: AmiVariant;
  burnIn?: number;
  checkpoints: number[];
  maxHealthy: number;
  warmup: number;
  alarm: string[];
  cluster?: string;
  dryRun: boolean;
  wait: boolean;
  timeout: number;
  pollInterval: number;
}

const AMI_ID = /^ami-[0-9a-z]{8}(?:[0-9a-z]{9})?$/;

function amiId(value: string): string {
  if (!AMI_ID.test(value)) throw new InvalidArgumentError(`not an AMI id (ami-…): "${value}"`);
  return value;
}

function versionChoice(value: string): string {
  if (value !== 'current' && !/^[1-9]\d{0,9}$/.test(value))
    throw new InvalidArgumentError(`takes a version number or "current", not "${value}" ($Latest moves)`);
  return value;
}

function percentList(value: string): number[] {
  const list = value.split(',').map((item) => Number(item.trim()));
  if (list.some((item) => !Number.isInteger(item)))
    throw new InvalidArgumentError(`takes percentages such as 10,50,100, not "${value}"`);
  return list;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export const HELP = `
Which image:
  default                      the recommended ECS-optimized AMI of --variant (SSM), pinned in a new
                               launch template version made from the group's version, as the AMI
                               watcher does (a version the watcher already made for it is reused);
                               nothing to do when the group launches it already
  --image AMI                  that AMI instead, pinned the same way
  --launch-template-version N  that version as it is; "current": the group's own version, every
                               instance replaced (SkipMatching off)

Rolling is an ECS-safe instance refresh (launch before terminate, checkpoints with a burn-in,
AutoRollback, the alarms, protected instances refreshed); the drain controller drains what it
terminates. Blue/green starts the rollout the stack's AMI watcher runs (tag ecs-drain:blue-green):
this command takes its first step only; the stack's Step schedule (RolloutStrategy blue-green)
takes the others, and --wait watches them. Its burn-in is the stack's BlueGreenBurnIn.

Refuses (exit 1, nothing changed) while a refresh or a blue/green rollout of the group is running.
--wait: exit 0 once Successful (blue/green: done); 1 when it failed, was cancelled or rolled back;
6 at --timeout (the refresh goes on).
`;

export const registerRefresh: CommandRegistration = (program, run) => {
  const command = program
    .command('refresh')
    .description("replace a group's instances with a new image, rolling or blue/green, drained safely")
    .requiredOption('--group <name>', 'the Auto Scaling group')
    .addOption(
      new Option('--strategy <strategy>', 'how to replace').choices(ROLLOUT_STRATEGIES).default('rolling'),
    )
    .addOption(new Option('--image <ami>', 'pin this AMI (default: the recommended one)').argParser(amiId))
    .addOption(
      new Option('--launch-template-version <n|current>', 'refresh to this version as it is')
        .argParser(versionChoice)
        .conflicts(['image', 'variant']),
    )
    .addOption(
      new Option('--variant <variant>', 'whose recommended AMI')
        .choices(AMI_VARIANTS)
        .default(AMI_VARIANTS[0]),
    )
    .addOption(
      new Option(
        '--burn-in <seconds>',
        `rolling: seconds at each checkpoint (default ${REFRESH_DEFAULTS.checkpointDelaySeconds})`,
      ).argParser(wholeNumber(0, 172_800)),
    )
    .addOption(
      new Option('--checkpoints <percentages>', 'rolling: where it pauses, ascending, ending at 100')
        .argParser(percentList)
        .default(
          [...REFRESH_DEFAULTS.checkpointPercentages],
          REFRESH_DEFAULTS.checkpointPercentages.join(','),
        ),
    )
    .addOption(
      new Option('--max-healthy <percent>', 'rolling: MaxHealthyPercentage, 100..200')
        .argParser(wholeNumber(100, 200))
        .default(REFRESH_DEFAULTS.maxHealthyPercentage),
    )
    .addOption(
      new Option('--warmup <seconds>', 'rolling: InstanceWarmup')
        .argParser(wholeNumber(0, 172_800))
        .default(REFRESH_DEFAULTS.instanceWarmupSeconds),
    )
    .addOption(
      new Option(
        '--alarm <name>',
        "rolling: an alarm that rolls it back (repeat; give the stack's DeadlineReachedAlarm)",
      )
        .argParser(collect)
        .default([]),
    )
    .option('--cluster <name>', 'blue/green: the cluster the instances join (default: found from them)')
    .option('--dry-run', 'print what would be started (the request as JSON), change nothing', false)
    .option('--wait', 'wait until it ends, with progress', false);
  withWaitOptions(command, ROLLOUT_WAIT).addHelpText('after', HELP).action(run(refresh));
};

async function refresh(context: CommandContext, options: RefreshOptions): Promise<number> {
  const settings = refreshSettingsOf(options);
  const adapters = context.adapters();

  // Observe and decide.
  const group = await findGroup(adapters, options.group);
  let command: RefreshCommand;
  let imageName: string | undefined;
  if (options.launchTemplateVersion !== undefined) {
    const latest = await adapters.autoScaling.latestInstanceRefresh(options.group);
    command = refreshToVersion(group, latest, options.launchTemplateVersion, options.strategy);
  } else {
    const image =
      options.image !== undefined
        ? { imageId: options.image, parameter: '--image' }
        : await adapters.ssm.recommendedAmi(options.variant);
    imageName = 'imageName' in image ? image.imageName : undefined;
    const snapshot = await observeAmiRollout(group, image, adapters, {
      dryRun: false,
      strategy: options.strategy,
    });
    command = refreshToImage(snapshot, decideAmiWatch(snapshot), imageName);
  }
  if (command.kind === 'refuse')
    throw new CliError(
      EXIT.failed,
      `not started: ${command.reason}${command.fix === undefined ? '' : ` (${command.fix})`}`,
    );
  if (command.kind === 'nothing') {
    context.result({ group: options.group, started: false, reason: command.reason }, () => [
      `${options.group}: ${command.reason}`,
    ]);
    return EXIT.ok;
  }

  // The version a new one would get: EC2 numbers a template's versions one after the other.
  const version = command.version ?? (await nextVersion(context, command.launchTemplateId));
  const request =
    command.strategy === 'rolling'
      ? planRefresh(
          { autoScalingGroupName: options.group, launchTemplateId: command.launchTemplateId, version },
          settings,
          { replaceMatching: command.replaceMatching },
        )
      : { action: 'none' as const, target: String(version) };
  if (options.strategy === 'rolling' && settings.alarmNames.length === 0)
    context.note(
      "note: no --alarm: only a failed refresh rolls back; give the stack's DeadlineReachedAlarm so that a drain past its deadline does too",
    );
  if (options.dryRun) {
    const plan = {
      dryRun: true,
      group: options.group,
      strategy: command.strategy,
      reason: command.reason,
      ...(command.create !== undefined && {
        createLaunchTemplateVersion: {
          LaunchTemplateId: command.launchTemplateId,
          SourceVersion: String(command.create.fromVersion),
          LaunchTemplateData: { ImageId: command.create.imageId },
          VersionDescription: command.create.description,
          expectedVersion: version,
        },
      }),
      [command.strategy === 'rolling' ? 'startInstanceRefresh' : 'blueGreenRequest']: request,
    };
    // The request is the result, in JSON with or without --json: it is what an operator reviews.
    context.io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
    context.note(`dry run: nothing was changed (${command.reason})`);
    return EXIT.ok;
  }

  // Act.
  let target = version;
  if (command.create !== undefined) {
    target = await adapters.ec2.createVersionWithImage(
      command.launchTemplateId,
      command.create.fromVersion,
      command.create.imageId,
      command.create.description,
    );
  }
  const flags = { timeout: options.timeout, pollInterval: options.pollInterval };
  if (command.strategy === 'rolling') {
    const input = planRefresh(
      { autoScalingGroupName: options.group, launchTemplateId: command.launchTemplateId, version: target },
      settings,
      { replaceMatching: command.replaceMatching },
    );
    const instanceRefreshId = await adapters.autoScaling.startInstanceRefresh(input);
    const started = {
      group: options.group,
      strategy: 'rolling',
      instanceRefreshId,
      launchTemplateId: command.launchTemplateId,
      version: target,
      reason: command.reason,
    };
    const startedLine = `${options.group}: instance refresh ${instanceRefreshId} started to ${command.launchTemplateId} version ${target} (${command.reason}); checkpoints ${settings.checkpointPercentages.join(',')} %, burn-in ${settings.checkpointDelaySeconds} s, AutoRollback on`;
    if (!options.wait) {
      context.result(started, () => [startedLine]);
      return EXIT.ok;
    }
    context.note(startedLine);
    const outcome = await waitForRefresh(context, options.group, instanceRefreshId, 'refresh', flags);
    return finish(context, { ...started, ...outcome }, outcome);
  }

  const cluster = await clusterOfGroup(context.clients().ecs, adapters, options.group, options.cluster);
  const first = await stepBlueGreen(options.group, cluster, blueGreenDeps(adapters), {
    action: 'none',
    target: String(target),
  });
  if (first.phase === 'refused' || first.phase === 'idle' || first.phase === 'done')
    throw new CliError(EXIT.failed, `blue/green rollout not started: ${first.reason}`);
  const started = {
    group: options.group,
    strategy: 'blue-green',
    cluster,
    launchTemplateId: command.launchTemplateId,
    version: target,
    phase: first.phase,
    reason: first.reason,
  };
  const startedLine = `${options.group}: blue/green rollout to version ${target} started (${first.phase}: ${first.reason}); the stack's Step schedule takes it on`;
  if (!options.wait) {
    context.result(started, () => [startedLine]);
    return EXIT.ok;
  }
  context.note(startedLine);
  const outcome = await waitForBlueGreen(context, options.group, String(target), 'refresh', flags);
  return finish(context, { ...started, ...outcome }, outcome);
}

/** The end of a wait: the result, and exit 1 with its reason when it did not succeed. */
export function finish(context: CommandContext, result: object, outcome: WaitOutcome): number {
  context.result(result, () => [outcome.reason]);
  return outcome.succeeded ? EXIT.ok : EXIT.failed;
}

/** The settings a rolling refresh is planned with; refused as a usage error before any call. */
function refreshSettingsOf(options: RefreshOptions): RefreshSettings {
  if (options.strategy === 'blue-green' && options.burnIn !== undefined)
    throw new CliError(
      EXIT.usage,
      "--burn-in is for rolling refreshes: a blue/green rollout's burn-in is the stack's BlueGreenBurnIn (its Step schedule takes the rollout on)",
    );
  const settings: RefreshSettings = {
    maxHealthyPercentage: options.maxHealthy,
    instanceWarmupSeconds: options.warmup,
    checkpointPercentages: options.checkpoints,
    checkpointDelaySeconds: options.burnIn ?? REFRESH_DEFAULTS.checkpointDelaySeconds,
    alarmNames: options.alarm,
  };
  const problems = refreshSettingsProblems(settings);
  if (problems.length > 0) throw new CliError(EXIT.usage, problems.join('; '));
  return settings;
}

async function nextVersion(context: CommandContext, launchTemplateId: string): Promise<number> {
  const versions = await context.adapters().ec2.versions({ launchTemplateId }, ['$Latest']);
  return Math.max(0, ...versions.map((version) => version.versionNumber)) + 1;
}
