import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingAdapter, GroupView } from '../../shared/aws/auto-scaling';
import type { Ec2Adapter } from '../../shared/aws/ec2';
import type { EcsAdapter } from '../../shared/aws/ecs';
import { realTiming, type Timing } from '../../shared/aws/pacer';
import type { AlertPublisher } from '../../shared/aws/sns';
import type { RecommendedAmi, SsmAdapter } from '../../shared/aws/ssm';
import {
  type AmiWatchDecision,
  type AmiWatchSnapshot,
  decideAmiWatch,
  versionDescription,
} from '../../shared/decisions/ami-watch';
import type { BlueGreenPhase, BlueGreenRequest } from '../../shared/decisions/blue-green';
import { planRefresh } from '../../shared/decisions/refresh-plan';
import { planRollback, planSteps, type RolloutStrategy } from '../../shared/decisions/rollout-strategy';
import { WATCH_AMI_INPUTS, WatchAmiInput } from '../../shared/events/watch-ami-input';
import { type BlueGreenDeps, stepBlueGreen } from '../../shared/rollout/blue-green';
import { observeAmiRollout } from '../../shared/rollout/observe-ami';
import type { WatcherConfig } from '../../shared/rollout/config';

/** What the watcher is built from: its configuration, adapters over its clients, and a logger. */
export interface WatchAmiDependencies {
  config: WatcherConfig;
  ssm: SsmAdapter;
  ec2: Ec2Adapter;
  autoScaling: AutoScalingAdapter;
  alerts: AlertPublisher;
  logger: Logger;
  /** The container instances a blue/green rollout drains and restores; required with strategy blue-green. */
  ecs?: EcsAdapter;
  /** The clock of the blue/green state machine (burn-in, timeouts); real time by default. */
  timing?: Pick<Timing, 'now'>;
}

/** One group's outcome in a run's report. */
export interface GroupReport {
  autoScalingGroupName: string;
  cluster: string;
  decision: AmiWatchDecision['kind'] | 'not-found';
  reason: string;
  fix?: string;
  currentImage?: string;
  /** The launch template version a rollout refreshes to. */
  launchTemplateVersion?: number;
  instanceRefreshId?: string;
  /** With strategy blue-green: the phase the rollout's first step reached, and why. */
  blueGreen?: { phase: BlueGreenPhase; reason: string };
}

/** One blue/green rollout a run stepped (or left alone, and why). */
export interface RolloutReport {
  autoScalingGroupName: string;
  cluster: string;
  /** `left`: not stepped (rolled back, or the strategy is rolling); `failed`: the step threw (logged). */
  phase: BlueGreenPhase | 'left' | 'failed';
  reason: string;
}

/** What one run saw and did. */
export interface WatchAmiReport {
  /** What the run was asked to do; `refused`: an input it does not know (logged), nothing done. */
  action: WatchAmiInput['action'] | 'refused';
  variant: string;
  strategy: RolloutStrategy;
  /** Watch runs only. */
  recommended?: { imageId?: string; imageName?: string; parameter: string };
  dryRun: boolean;
  /** The AMI watch decision for each served group (watch runs only). */
  groups: GroupReport[];
  /** The blue/green rollouts this run stepped (or rolled back). */
  rollouts: RolloutReport[];
  /** Why an input was refused. */
  reason?: string;
}

/**
 * The AMI watcher and the engine of its blue/green rollouts, invoked with one of three inputs
 * (shared/events/watch-ami-input.ts):
 *
 * - `{"action":"watch"}` (hourly by default; `{}` too): follows the recommended ECS-optimized AMI. For
 *   each served group it observes (the group, its launch template version's AMI, its latest instance
 *   refresh), decides (shared/decisions/ami-watch.ts), and acts: a new launch template version pinning
 *   the new AMI, then, with RolloutStrategy `rolling`, an ECS-safe rolling refresh to it
 *   (shared/decisions/refresh-plan.ts), whose terminations the drain controller drains; with
 *   `blue-green`, the first step of a blue/green rollout to it (shared/rollout/blue-green.ts: the
 *   group's tag records it, the group launches the new version beside the old). It never starts a
 *   rollout over a running refresh or rollout. Then it steps the rollouts in progress, as below.
 * - `{"action":"step"}` (every minute): steps the blue/green rollout of every served group that
 *   carries the tag `ecs-drain:blue-green` (one DescribeAutoScalingGroups per 50 groups finds them),
 *   and does nothing else. Dry run holds back new rollouts only: a rollout in progress is a fleet of
 *   twice the size with the old half protected, and is taken to its end as a refresh would be.
 * - `{"action":"rollback","autoScalingGroupName":"..."}` (a person): asks the group's rollout to come
 *   back to the old version. Before the old fleet is terminated, it is set ACTIVE again, and the new
 *   one drained and terminated over the next steps; once the old fleet is being terminated it is too
 *   late, and the report says so. The tag then records the rollback, and the watcher starts no
 *   rollout of the group until a person deletes it.
 *
 * Level-triggered: every run recomputes from what it sees (tags, launch template versions, the
 * instances), so a run that failed halfway is finished by the next, whichever it is.
 */
export function createWatchAmiHandler(dependencies: WatchAmiDependencies) {
  const { config, ssm, ec2, autoScaling, alerts, logger } = dependencies;
  const { ecs, timing = realTiming } = dependencies;
  if (config.strategy === 'blue-green' && ecs === undefined)
    throw new Error('the blue-green strategy needs an ECS adapter (WatchAmiDependencies.ecs)');
  const base = { variant: config.variant, strategy: config.strategy, dryRun: config.dryRun };

  return async (event?: unknown): Promise<WatchAmiReport> => {
    const input = WatchAmiInput.safeParse(event ?? {});
    if (!input.success) {
      const reason = `unknown input: expected ${WATCH_AMI_INPUTS}`;
      logger.warn('ami watch input refused', {
        reason,
        input: JSON.stringify(event)?.slice(0, 500),
        issues: input.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      });
      return { ...base, action: 'refused', groups: [], rollouts: [], reason };
    }
    switch (input.data.action) {
      case 'watch':
        return watch();
      case 'step':
        return step();
      case 'rollback':
        return rollback(input.data.autoScalingGroupName);
    }
  };

  async function watch(): Promise<WatchAmiReport> {
    const recommended = await ssm.recommendedAmi(config.variant);
    const served = config.groups.map((group) => group.autoScalingGroupName);
    const views = new Map(
      (await autoScaling.describeGroups(served)).map((view) => [view.autoScalingGroupName, view]),
    );
    const groups: GroupReport[] = [];
    const failed: string[] = [];
    for (const { autoScalingGroupName, cluster } of config.groups) {
      const view = views.get(autoScalingGroupName);
      if (view === undefined) {
        const report = {
          autoScalingGroupName,
          cluster,
          decision: 'not-found' as const,
          reason: 'no such Auto Scaling group in this account and Region',
        };
        logger.warn('ami watch', { ...report });
        groups.push(report);
        continue;
      }
      // One group's failure (throttling, a refresh another tool just started) leaves the others to run;
      // the run fails at the end so that Lambda counts the error, and the next run tries again.
      try {
        const snapshot = await observe(view, recommended);
        const decision = decideAmiWatch(snapshot);
        groups.push(await act(decision, { autoScalingGroupName, cluster }, recommended));
      } catch (error) {
        logger.error('ami watch failed', { autoScalingGroupName, cluster, error });
        failed.push(autoScalingGroupName);
      }
    }
    // The rollouts in progress when the groups were read; one started above had its first step.
    const rollouts = await stepTagged([...views.values()], failed);
    const report: WatchAmiReport = {
      ...base,
      action: 'watch',
      recommended: {
        parameter: recommended.parameter,
        ...(recommended.imageId !== undefined && { imageId: recommended.imageId }),
        ...(recommended.imageName !== undefined && { imageName: recommended.imageName }),
      },
      groups,
      rollouts,
    };
    logger.info('ami watch done', {
      variant: report.variant,
      strategy: report.strategy,
      recommended: report.recommended,
      dryRun: report.dryRun,
      decisions: countBy(groups.map((group) => group.decision)),
      ...(rollouts.length > 0 && { rollouts: countBy(rollouts.map((rollout) => rollout.phase)) }),
    });
    if (failed.length > 0) throw new Error(`AMI watch failed for ${failed.join(', ')} (logged above)`);
    return report;
  }

  /** Steps the rollouts in progress, and nothing else. */
  async function step(): Promise<WatchAmiReport> {
    const served = config.groups.map((group) => group.autoScalingGroupName);
    const views = await autoScaling.describeGroups(served);
    const failed: string[] = [];
    const rollouts = await stepTagged(views, failed);
    const summary = { strategy: config.strategy, rollouts: countBy(rollouts.map((each) => each.phase)) };
    // Once a minute: a line only when there was something to step.
    if (rollouts.length > 0) logger.info('rollout step done', summary);
    else logger.debug('rollout step done', summary);
    if (failed.length > 0) throw new Error(`Rollout step failed for ${failed.join(', ')} (logged above)`);
    return { ...base, action: 'step', groups: [], rollouts };
  }

  /** A person's request to roll a group's blue/green rollout back. */
  async function rollback(autoScalingGroupName: string): Promise<WatchAmiReport> {
    const plan = planRollback(autoScalingGroupName, config.groups, config.strategy);
    if (plan.kind === 'refused') {
      logger.warn('rollback refused', { autoScalingGroupName, reason: plan.reason });
      return { ...base, action: 'rollback', groups: [], rollouts: [], reason: plan.reason };
    }
    const { cluster } = plan.group;
    const report = await stepBlueGreen(autoScalingGroupName, cluster, blueGreenDeps(), {
      action: 'rollback',
    });
    return {
      ...base,
      action: 'rollback',
      groups: [],
      rollouts: [{ autoScalingGroupName, cluster, phase: report.phase, reason: report.reason }],
    };
  }

  /**
   * One step of each rollout in progress among these groups (their tags as read). One group's failure
   * (throttling, a group changed meanwhile) leaves the others to step; the caller fails the run.
   */
  async function stepTagged(views: GroupView[], failed: string[]): Promise<RolloutReport[]> {
    const clusters = new Map(config.groups.map((group) => [group.autoScalingGroupName, group.cluster]));
    const plans = planSteps(
      views.flatMap((view) => {
        const cluster = clusters.get(view.autoScalingGroupName);
        return cluster === undefined
          ? []
          : [{ autoScalingGroupName: view.autoScalingGroupName, cluster, tags: view.tags }];
      }),
      config.strategy,
    );
    const reports: RolloutReport[] = [];
    for (const plan of plans) {
      const { autoScalingGroupName, cluster } = plan;
      if (plan.kind === 'leave') {
        logger.info('rollout not stepped', { autoScalingGroupName, cluster, reason: plan.reason });
        reports.push({ autoScalingGroupName, cluster, phase: 'left', reason: plan.reason });
        continue;
      }
      try {
        // stepBlueGreen logs the step it took (what it saw, the commands, the reason).
        const report = await stepBlueGreen(autoScalingGroupName, cluster, blueGreenDeps());
        reports.push({ autoScalingGroupName, cluster, phase: report.phase, reason: report.reason });
      } catch (error) {
        logger.error('rollout step failed', { autoScalingGroupName, cluster, error });
        failed.push(autoScalingGroupName);
        reports.push({ autoScalingGroupName, cluster, phase: 'failed', reason: String(error) });
      }
    }
    return reports;
  }

  /** What the blue/green state machine acts through; an alert it cannot send is logged, the step goes on. */
  function blueGreenDeps(): BlueGreenDeps {
    if (ecs === undefined) throw new Error('no ECS adapter: RolloutStrategy blue-green was not configured');
    return {
      autoScaling,
      ecs,
      timing,
      logger,
      settings: config.blueGreen,
      alerts: {
        publish: async (message) => {
          try {
            await alerts.publish(message);
          } catch (error) {
            logger.error('alert not sent', { autoScalingGroupName: message.autoScalingGroupName, error });
          }
        },
      },
    };
  }

  /** One group as the decision needs it (shared/rollout/observe-ami.ts, as `ecs-drain refresh` observes it). */
  function observe(view: GroupView, recommended: RecommendedAmi): Promise<AmiWatchSnapshot> {
    return observeAmiRollout(
      view,
      recommended,
      { autoScaling, ec2 },
      { dryRun: config.dryRun, strategy: config.strategy },
    );
  }

  /** Carries the decision out and logs it once; alerts when a rollout starts or is refused. */
  async function act(
    decision: AmiWatchDecision,
    group: { autoScalingGroupName: string; cluster: string },
    recommended: RecommendedAmi,
  ): Promise<GroupReport> {
    const report: GroupReport = {
      ...group,
      decision: decision.kind,
      reason: decision.reason,
      ...(decision.kind === 'cannot' && { fix: decision.fix }),
      ...('currentImage' in decision && { currentImage: decision.currentImage }),
    };
    switch (decision.kind) {
      case 'up-to-date':
      case 'dry-run':
        logger.info('ami watch', { ...report });
        return report;
      case 'cannot':
        logger.warn('ami watch', { ...report });
        return report;
      case 'refresh-running':
        logger.info('ami watch', { ...report });
        // Our own rollout of this AMI, still running, is no news: only another refresh holding it back is.
        if (!decision.ownRollout)
          await alert(report, `AMI rollout of ${group.autoScalingGroupName} waits: ${decision.newImage}`);
        return report;
      case 'roll-out': {
        const version =
          decision.existingVersion ??
          (await ec2.createVersionWithImage(
            decision.launchTemplateId,
            decision.fromVersion,
            decision.newImage,
            versionDescription(decision.newImage, decision.fromVersion, recommended.imageName),
          ));
        if (decision.strategy === 'blue-green') return startBlueGreen(report, version, decision.newImage);
        const input = planRefresh(
          {
            autoScalingGroupName: group.autoScalingGroupName,
            launchTemplateId: decision.launchTemplateId,
            version,
          },
          config.refresh,
        );
        const instanceRefreshId = await autoScaling.startInstanceRefresh(input);
        const started = { ...report, launchTemplateVersion: version, instanceRefreshId };
        logger.info('ami watch', { ...started, preferences: input.Preferences });
        await alert(started, `AMI rollout of ${group.autoScalingGroupName} started: ${decision.newImage}`);
        return started;
      }
    }
  }

  /**
   * The first step of a blue/green rollout to the version: the group's tag records it, the group
   * launches the version beside the current fleet, which is protected from scale-in. The step
   * schedule takes it on from there.
   */
  async function startBlueGreen(
    report: GroupReport,
    version: number,
    newImage: string,
  ): Promise<GroupReport> {
    const request: BlueGreenRequest = { action: 'none', target: String(version) };
    const first = await stepBlueGreen(report.autoScalingGroupName, report.cluster, blueGreenDeps(), request);
    const started = {
      ...report,
      reason: `${report.reason}; blue/green: ${first.reason}`,
      launchTemplateVersion: version,
      blueGreen: { phase: first.phase, reason: first.reason },
    };
    if (first.phase === 'refused') {
      logger.warn('ami watch', { ...started });
      await alert(started, `AMI rollout of ${report.autoScalingGroupName} not started: ${newImage}`);
      return started;
    }
    logger.info('ami watch', { ...started });
    await alert(started, `AMI rollout of ${report.autoScalingGroupName} started (blue/green): ${newImage}`);
    return started;
  }

  /** An alert that could not be sent is logged: the rollout itself went on. */
  async function alert(report: GroupReport, subject: string): Promise<void> {
    try {
      await alerts.publish({
        subject,
        key: `ami-watch-${report.decision}`,
        cluster: report.cluster,
        autoScalingGroupName: report.autoScalingGroupName,
        summary: report.reason,
      });
    } catch (error) {
      logger.error('alert not sent', { autoScalingGroupName: report.autoScalingGroupName, error });
    }
  }
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}
