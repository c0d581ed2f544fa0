import type { AutoScalingAdapter, GroupView } from '../aws/auto-scaling';
import type { Ec2Adapter } from '../aws/ec2';
import type { RecommendedAmi } from '../aws/ssm';
import type { AmiWatchSnapshot } from '../decisions/ami-watch';
import type { RolloutStrategy } from '../decisions/rollout-strategy';

/**
 * The observe step of an AMI rollout of one group (shared/decisions/ami-watch.ts decides from it):
 * the group as read, its latest instance refresh, and its launch template's versions (the group's,
 * `$Latest`, the latest refresh's), read only when the image is worth comparing. The AMI watcher
 * and `ecs-drain refresh` both observe a group this way, so they decide alike.
 */
export interface AmiObserveDeps {
  autoScaling: Pick<AutoScalingAdapter, 'latestInstanceRefresh'>;
  ec2: Pick<Ec2Adapter, 'versions'>;
}

export async function observeAmiRollout(
  view: GroupView,
  /** The image to roll out and where it came from (an SSM parameter, or a person's choice). */
  image: Pick<RecommendedAmi, 'imageId' | 'parameter'>,
  deps: AmiObserveDeps,
  how: { dryRun: boolean; strategy: RolloutStrategy },
): Promise<AmiWatchSnapshot> {
  const template = view.launchTemplate;
  const snapshot: AmiWatchSnapshot = {
    autoScalingGroupName: view.autoScalingGroupName,
    recommendedImageId: image.imageId,
    parameter: image.parameter,
    mixedInstancesPolicy: view.mixedInstancesPolicy,
    ...(view.launchConfigurationName !== undefined && {
      launchConfigurationName: view.launchConfigurationName,
    }),
    ...(template !== undefined && { launchTemplate: template }),
    tags: view.tags,
    dryRun: how.dryRun,
    strategy: how.strategy,
  };
  if (template === undefined || view.mixedInstancesPolicy || !/^[1-9]\d*$/.test(template.version))
    return snapshot;
  const refresh = await deps.autoScaling.latestInstanceRefresh(view.autoScalingGroupName);
  const refreshedTo = /^\d+$/.test(refresh?.desiredVersion ?? '') ? refresh?.desiredVersion : undefined;
  // The group's version, the template's latest and the latest refresh's, in one call (numbered
  // versions are cached: they never change).
  const versions = await deps.ec2.versions(template, [
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
