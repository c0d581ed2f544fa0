import { stepBlueGreen } from '../../../shared/rollout/blue-green';
import { type CommandRegistration, ROLLOUT_WAIT, withWaitOptions } from '../command';
import { CliError, type CommandContext, EXIT } from '../context';
import {
  blueGreenDeps,
  clusterOfGroup,
  findGroup,
  greenVersionOf,
  waitForBlueGreen,
  waitForRefresh,
} from '../rollout-act';
import { decideRollback } from '../rollout-decisions';
import { finish } from './refresh';

/**
 * `ecs-drain rollback --group G`: back from what is replacing the group's instances. A rolling
 * refresh in progress: RollbackInstanceRefresh, Auto Scaling's own way back. A blue/green rollout:
 * the state machine's rollback, as the AMI watcher's `{"action":"rollback"}` input asks it (the old
 * fleet is set ACTIVE again before the new one drains). Nothing in progress: one line, exit 1.
 */

interface RollbackOptions {
  group: string;
  cluster?: string;
  wait: boolean;
  timeout: number;
  pollInterval: number;
}

const HELP = `
A rolling refresh in progress (Pending, InProgress, Baking): RollbackInstanceRefresh; Auto Scaling
replaces what it replaced with the configuration from before (its own rules: the refresh must have
been started with a launch template version it can return to).
A blue/green rollout: the rollback the AMI watcher's {"action":"rollback"} input asks for. This
command takes that step; the stack's Step schedule takes the next ones (draining the new fleet).
Once the old fleet is being retired it is too late, and the line says so.
Nothing in progress: one line, exit 1, nothing changed.
--wait: exit 0 once rolled back (RollbackSuccessful; blue/green: rolled-back), 1 otherwise, 6 at --timeout.
`;

export const registerRollback: CommandRegistration = (program, run) => {
  const command = program
    .command('rollback')
    .description("roll back the group's refresh or blue/green rollout in progress")
    .requiredOption('--group <name>', 'the Auto Scaling group')
    .option('--cluster <name>', 'blue/green: the cluster the instances join (default: found from them)')
    .option('--wait', 'wait until it is rolled back, with progress', false);
  withWaitOptions(command, ROLLOUT_WAIT).addHelpText('after', HELP).action(run(rollback));
};

async function rollback(context: CommandContext, options: RollbackOptions): Promise<number> {
  const adapters = context.adapters();
  const group = await findGroup(adapters, options.group);
  const latest = await adapters.autoScaling.latestInstanceRefresh(options.group);
  const command = decideRollback(group, latest);
  const flags = { timeout: options.timeout, pollInterval: options.pollInterval };
  const base = { group: options.group };

  switch (command.kind) {
    case 'nothing':
      throw new CliError(EXIT.failed, command.reason);
    case 'rollback-refresh':
    case 'already': {
      if (command.kind === 'already' && command.what === 'blue-green')
        return blueGreen(context, options, command.reason, false);
      const id =
        command.kind === 'rollback-refresh' ? command.instanceRefreshId : (latest?.instanceRefreshId ?? '');
      if (command.kind === 'rollback-refresh')
        await adapters.autoScaling.rollbackInstanceRefresh(options.group);
      const result = { ...base, instanceRefreshId: id, action: command.kind, reason: command.reason };
      const line = `${options.group}: ${command.kind === 'rollback-refresh' ? 'rollback started' : 'nothing to start'}: ${command.reason}`;
      if (!options.wait) {
        context.result(result, () => [line]);
        return EXIT.ok;
      }
      context.note(line);
      const outcome = await waitForRefresh(context, options.group, id, 'rollback', flags);
      return finish(context, { ...result, ...outcome }, outcome);
    }
    case 'rollback-blue-green':
      return blueGreen(context, options, command.reason, true);
  }
}

/** A blue/green rollout: the rollback step (unless it is rolling back already), then --wait. */
async function blueGreen(
  context: CommandContext,
  options: RollbackOptions,
  reason: string,
  step: boolean,
): Promise<number> {
  const adapters = context.adapters();
  const target = greenVersionOf(await findGroup(adapters, options.group));
  let result: Record<string, unknown> = { group: options.group, strategy: 'blue-green', reason };
  if (step) {
    const cluster = await clusterOfGroup(context.clients().ecs, adapters, options.group, options.cluster);
    const report = await stepBlueGreen(options.group, cluster, blueGreenDeps(adapters), {
      action: 'rollback',
    });
    if (report.phase !== 'rolling-back' && report.phase !== 'rolled-back')
      throw new CliError(EXIT.failed, `not rolled back (${report.phase}): ${report.reason}`);
    result = { ...result, cluster, phase: report.phase, reason: report.reason };
  }
  const line = `${options.group}: blue/green rollback: ${String(result.reason)}`;
  if (!options.wait) {
    context.result(result, () => [line]);
    return EXIT.ok;
  }
  context.note(line);
  const outcome = await waitForBlueGreen(context, options.group, target, 'rollback', {
    timeout: options.timeout,
    pollInterval: options.pollInterval,
  });
  return finish(context, { ...result, ...outcome }, outcome);
}
