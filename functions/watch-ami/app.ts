import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingAdapter, GroupView } from '../../shared/aws/auto-scaling';
import type { Ec2Adapter } from '../../shared/aws/ec2';
import type { AlertPublisher } from '../../shared/aws/sns';
import type { RecommendedAmi, SsmAdapter } from '../../shared/aws/ssm';
import {
  type AmiWatchDecision,
  type AmiWatchSnapshot,
  decideAmiWatch,
  versionDescription,
} from '../../shared/decisions/ami-watch';
import { planRefresh } from '../../shared/decisions/refresh-plan';
import type { WatcherConfig } from '../../shared/rollout/config';

/** What the watcher is built from: its configuration, adapters over its clients, and a logger. */
export interface WatchAmiDependencies {
  config: WatcherConfig;
  ssm: SsmAdapter;
  ec2: Ec2Adapter;
  autoScaling: AutoScalingAdapter;
  alerts: AlertPublisher;
  logger: Logger;
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
}

/** What one run saw and did. */
export interface WatchAmiReport {
  variant: string;
  recommended: { imageId?: string; imageName?: string; parameter: string };
  dryRun: boolean;
  groups: GroupReport[];
}

/**
 * Scheduled (hourly by default, when the stack enables it): follows the recommended ECS-optimized AMI.
 * For each served group it observes (the group, its launch template version's AMI, its latest
 * instance refresh), decides (shared/decisions/ami-watch.ts), and acts: a new launch template
 * version pinning the new AMI, then an ECS-safe rolling refresh to it (shared/decisions/refresh-plan.ts),
 * whose terminations the drain controller drains. It never starts a refresh over a running one.
 * Level-triggered: every run recomputes from what it sees, so a run that failed halfway is finished
 * by the next.
 */
export function createWatchAmiHandler(dependencies: WatchAmiDependencies) {
  const { config, ssm, ec2, autoScaling, alerts, logger } = dependencies;

  return async (): Promise<WatchAmiReport> => {
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
    const report: WatchAmiReport = {
      variant: config.variant,
      recommended: {
        parameter: recommended.parameter,
        ...(recommended.imageId !== undefined && { imageId: recommended.imageId }),
        ...(recommended.imageName !== undefined && { imageName: recommended.imageName }),
      },
      dryRun: config.dryRun,
      groups,
    };
    logger.info('ami watch done', {
      variant: report.variant,
      recommended: report.recommended,
      dryRun: report.dryRun,
      decisions: Object.fromEntries(
        [...new Set(groups.map((group) => group.decision))].map((kind) => [
          kind,
          groups.filter((group) => group.decision === kind).length,
        ]),
      ),
    });
    if (failed.length > 0) throw new Error(`AMI watch failed for ${failed.join(', ')} (logged above)`);
    return report;
  };

  /** One group as the decision needs it: its version's AMI only when the recommendation is worth comparing. */
  async function observe(view: GroupView, recommended: RecommendedAmi): Promise<AmiWatchSnapshot> {
    const template = view.launchTemplate;
    const snapshot: AmiWatchSnapshot = {
      autoScalingGroupName: view.autoScalingGroupName,
      recommendedImageId: recommended.imageId,
      parameter: recommended.parameter,
      mixedInstancesPolicy: view.mixedInstancesPolicy,
      ...(view.launchConfigurationName !== undefined && {
        launchConfigurationName: view.launchConfigurationName,
      }),
      ...(template !== undefined && { launchTemplate: template }),
      tags: view.tags,
      dryRun: config.dryRun,
    };
    if (template === undefined || view.mixedInstancesPolicy || !/^[1-9]\d*$/.test(template.version))
      return snapshot;
    const refresh = await autoScaling.latestInstanceRefresh(view.autoScalingGroupName);
    const refreshedTo = /^\d+$/.test(refresh?.desiredVersion ?? '') ? refresh?.desiredVersion : undefined;
    // The group's version, the template's latest and the latest refresh's, in one call (numbered
    // versions are cached: they never change).
    const versions = await ec2.versions(template, [
      template.version,
      '$Latest',
      ...(refreshedTo !== undefined ? [refreshedTo] : []),
    ]);
    const refreshImage = versions.find((version) => String(version.versionNumber) === refreshedTo)?.imageId;
    const current = versions.find((version) => String(version.versionNumber) === template.version);
    const latest = versions.reduce<(typeof versions)[number] | undefined>(
      (newest, version) =>
        newest === undefined || version.versionNumber > newest.versionNumber ? version : newest,
      undefined,
    );
    return {
      ...snapshot,
      ...(current !== undefined && { current }),
      ...(latest !== undefined && { latest }),
      ...(refresh !== undefined && {
        latestRefresh: {
          instanceRefreshId: refresh.instanceRefreshId,
          status: refresh.status,
          ...(refresh.desiredVersion !== undefined && { desiredVersion: refresh.desiredVersion }),
          ...(refreshImage !== undefined && { desiredImageId: refreshImage }),
        },
      }),
    };
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
