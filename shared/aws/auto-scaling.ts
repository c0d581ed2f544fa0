import {
  type AutoScalingClient,
  type AutoScalingGroup,
  CompleteLifecycleActionCommand,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  paginateDescribeAutoScalingGroups,
  RecordLifecycleActionHeartbeatCommand,
  RollbackInstanceRefreshCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { HOOK_WAIT_STATES, type LifecycleView } from '../decisions/host';
import { chunks } from './ecs';
import type { Pacer, Priority } from './pacer';
// The AMI watcher's calls (at the end of the class), imported apart from the drain's.
import {
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';

/** DescribeAutoScalingInstances takes at most 50 instance ids per call. */
const DESCRIBE_INSTANCES_MAX = 50;
/** Group names per DescribeAutoScalingGroups call. */
const DESCRIBE_GROUPS_MAX = 50;

/** An instance a lifecycle hook holds (Terminating:Wait, on its way into a warm pool, or Pending:Wait). */
export interface WaitingInstance extends LifecycleView {
  instanceId: string;
}

/** Auto Scaling's view of an instance, with the launch template version it was launched from. */
export interface InstanceView extends LifecycleView {
  launchTemplate?: { id: string; version: string };
}

/** Where a launch hook holds a new instance. */
export const LAUNCH_WAIT_STATE = 'Pending:Wait';

/** Identifies one lifecycle action: by its token when we have it, otherwise by instance id. */
export interface LifecycleActionRef {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  lifecycleActionToken?: string;
}

/** `gone`: the action no longer exists (completed by someone else, timed out, or instance gone). */
export type LifecycleCallOutcome = 'done' | 'gone';

/**
 * The Auto Scaling calls of the controller. It receives its client. Auto Scaling has one API limit
 * for the whole account and Region, so reads are batched and heartbeats are paced by the caller.
 */
export class AutoScalingAdapter {
  /**
   * @param pacer spaces this container's calls (autoScalingPacer: its caller's part of the stack's
   * share): Auto Scaling has one limit for every call of the account and Region. Completions go first;
   * heartbeats, which only keep a drain alive, after them.
   */
  constructor(
    private readonly client: AutoScalingClient,
    private readonly pacer: Pacer,
  ) {}

  /** Calls this container's share still allows by `at` (epoch ms): see Pacer.callsPossibleBy. */
  callsPossibleBy(at: number, options?: { afterWaiting?: boolean }): number {
    return this.pacer.callsPossibleBy(at, options);
  }

  /**
   * Auto Scaling's view of each instance, fifty per call. An instance in no group is absent from
   * the map: "If you specify an ID that does not exist, it is ignored with no error."
   */
  async describeInstances(instanceIds: string[]): Promise<Map<string, InstanceView>> {
    const views = new Map<string, InstanceView>();
    for (const batch of chunks([...new Set(instanceIds)], DESCRIBE_INSTANCES_MAX)) {
      await this.pacer.take();
      const output = await this.client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: batch }));
      for (const instance of output.AutoScalingInstances ?? []) {
        if (instance.InstanceId === undefined) continue;
        const template = instance.LaunchTemplate;
        views.set(instance.InstanceId, {
          autoScalingGroupName: instance.AutoScalingGroupName ?? '',
          lifecycleState: instance.LifecycleState ?? '',
          ...(template?.LaunchTemplateId !== undefined &&
            template.Version !== undefined && {
              launchTemplate: { id: template.LaunchTemplateId, version: template.Version },
            }),
        });
      }
    }
    return views;
  }

  /**
   * Instances of these groups that a terminating hook holds (and, with `launches`, that a launch hook
   * holds in Pending:Wait): one call per fifty groups (a page lists up to 100 groups with all their
   * instances), whatever the number of drains.
   */
  async waitingInstances(groupNames: string[], { launches = false } = {}): Promise<WaitingInstance[]> {
    const waiting: WaitingInstance[] = [];
    for await (const group of this.groupsNamed(groupNames)) {
      for (const instance of group.Instances ?? []) {
        const state = instance.LifecycleState ?? '';
        const held = HOOK_WAIT_STATES.has(state) || (launches && state === LAUNCH_WAIT_STATE);
        if (instance.InstanceId === undefined || !held) continue;
        waiting.push({
          instanceId: instance.InstanceId,
          autoScalingGroupName: group.AutoScalingGroupName ?? '',
          lifecycleState: state,
        });
      }
    }
    return waiting;
  }

  /**
   * The groups named, as DescribeAutoScalingGroups shows them: fifty names per call, a hundred groups
   * (with all their instances) per page, every page paced.
   */
  private async *groupsNamed(groupNames: string[]): AsyncGenerator<AutoScalingGroup> {
    for (const batch of chunks([...new Set(groupNames)], DESCRIBE_GROUPS_MAX)) {
      const pages = paginateDescribeAutoScalingGroups(
        { client: this.client },
        { AutoScalingGroupNames: batch, MaxRecords: 100 },
      );
      for (;;) {
        await this.pacer.take();
        const next = await pages.next();
        if (next.done) break;
        yield* next.value.AutoScalingGroups ?? [];
        if (next.value.NextToken === undefined) break;
      }
    }
  }

  /**
   * Lets the instance go on (CONTINUE), or, for a launch that will never serve, gives it up (ABANDON:
   * Auto Scaling terminates and replaces it). Completing an action that is already gone is success.
   */
  async completeLifecycleAction(
    action: LifecycleActionRef,
    result: 'CONTINUE' | 'ABANDON' = 'CONTINUE',
  ): Promise<LifecycleCallOutcome> {
    await this.pacer.take();
    return tolerateMissingAction(() =>
      this.client.send(
        new CompleteLifecycleActionCommand({ ...identify(action), LifecycleActionResult: result }),
      ),
    );
  }

  /** Restarts the hook's heartbeat timer, so a drain that keeps making progress is not cut off. */
  async recordHeartbeat(action: LifecycleActionRef): Promise<LifecycleCallOutcome> {
    await this.pacer.take('background' satisfies Priority);
    return tolerateMissingAction(() =>
      this.client.send(new RecordLifecycleActionHeartbeatCommand(identify(action))),
    );
  }

  // ---- AMI rollouts (the AMI watcher) ------------------------------------------------------------

  /** The groups named, with what they launch from and their tags; a group that does not exist is absent. */
  async describeGroups(groupNames: string[]): Promise<GroupView[]> {
    const groups: GroupView[] = [];
    for await (const group of this.groupsNamed(groupNames)) {
      if (group.AutoScalingGroupName === undefined) continue;
      const template = group.LaunchTemplate;
      groups.push({
        autoScalingGroupName: group.AutoScalingGroupName,
        desiredCapacity: group.DesiredCapacity ?? 0,
        ...(template !== undefined && {
          launchTemplate: {
            ...(template.LaunchTemplateId !== undefined && {
              launchTemplateId: template.LaunchTemplateId,
            }),
            ...(template.LaunchTemplateName !== undefined && {
              launchTemplateName: template.LaunchTemplateName,
            }),
            // Auto Scaling's own default when a group names no version.
            version: template.Version ?? '$Default',
          },
        }),
        mixedInstancesPolicy: group.MixedInstancesPolicy !== undefined,
        ...(group.LaunchConfigurationName !== undefined && {
          launchConfigurationName: group.LaunchConfigurationName,
        }),
        tags: Object.fromEntries(
          (group.Tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
        ),
      });
    }
    return groups;
  }

  /** The group's most recent instance refresh (Auto Scaling lists the newest first), if any. */
  async latestInstanceRefresh(autoScalingGroupName: string): Promise<InstanceRefreshView | undefined> {
    await this.pacer.take();
    const output = await this.client.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: autoScalingGroupName, MaxRecords: 1 }),
    );
    const refresh = output.InstanceRefreshes?.[0];
    if (refresh?.InstanceRefreshId === undefined) return undefined;
    return {
      instanceRefreshId: refresh.InstanceRefreshId,
      status: refresh.Status ?? 'Unknown',
      ...(refresh.StatusReason !== undefined && { statusReason: refresh.StatusReason }),
      percentageComplete: refresh.PercentageComplete ?? 0,
      ...(refresh.InstancesToUpdate !== undefined && { instancesToUpdate: refresh.InstancesToUpdate }),
      ...(refresh.DesiredConfiguration?.LaunchTemplate?.Version !== undefined && {
        desiredVersion: refresh.DesiredConfiguration.LaunchTemplate.Version,
      }),
    };
  }

  /** StartInstanceRefresh; answers the refresh's id. */
  async startInstanceRefresh(input: StartInstanceRefreshCommandInput): Promise<string> {
    await this.pacer.take();
    const output = await this.client.send(new StartInstanceRefreshCommand(input));
    if (output.InstanceRefreshId === undefined)
      throw new Error(`StartInstanceRefresh on ${input.AutoScalingGroupName} answered no refresh id`);
    return output.InstanceRefreshId;
  }

  /**
   * RollbackInstanceRefresh: Auto Scaling's own way back from the group's refresh in progress (it
   * replaces what the refresh replaced, with the configuration from before). Answers the refresh's id.
   */
  async rollbackInstanceRefresh(autoScalingGroupName: string): Promise<string> {
    await this.pacer.take();
    const output = await this.client.send(
      new RollbackInstanceRefreshCommand({ AutoScalingGroupName: autoScalingGroupName }),
    );
    return output.InstanceRefreshId ?? '';
  }

  // ---- blue/green rollout (shared/rollout/blue-green.ts) ----------------------------------------

  /**
   * One group as DescribeAutoScalingGroups shows it: sizes, launch template, every instance with
   * the version it was launched from and its scale-in protection, and the group's tags. Undefined
   * when the group does not exist (AWS ignores unknown names).
   */
  async describeGroup(groupName: string): Promise<RolloutGroupView | undefined> {
    await this.pacer.take();
    const output = await this.client.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
    );
    const group = output.AutoScalingGroups?.find((each) => each.AutoScalingGroupName === groupName);
    if (group === undefined) return undefined;
    const template = group.LaunchTemplate;
    return {
      name: groupName,
      minSize: group.MinSize ?? 0,
      maxSize: group.MaxSize ?? 0,
      desiredCapacity: group.DesiredCapacity ?? 0,
      ...(template?.LaunchTemplateId !== undefined && {
        launchTemplate: { id: template.LaunchTemplateId, version: template.Version ?? '$Default' },
      }),
      instances: (group.Instances ?? []).flatMap((instance) =>
        instance.InstanceId === undefined
          ? []
          : [
              {
                instanceId: instance.InstanceId,
                lifecycleState: instance.LifecycleState ?? '',
                protectedFromScaleIn: instance.ProtectedFromScaleIn ?? false,
                ...(instance.LaunchTemplate?.Version !== undefined && {
                  launchTemplateVersion: instance.LaunchTemplate.Version,
                }),
              },
            ],
      ),
      tags: new Map(
        (group.Tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
      ),
    };
  }

  /** UpdateAutoScalingGroup with only the fields given. */
  async updateGroup(
    groupName: string,
    update: {
      minSize?: number;
      maxSize?: number;
      desiredCapacity?: number;
      launchTemplate?: { id: string; version: string };
    },
  ): Promise<void> {
    await this.pacer.take();
    await this.client.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: groupName,
        MinSize: update.minSize,
        MaxSize: update.maxSize,
        DesiredCapacity: update.desiredCapacity,
        ...(update.launchTemplate !== undefined && {
          LaunchTemplate: {
            LaunchTemplateId: update.launchTemplate.id,
            Version: update.launchTemplate.version,
          },
        }),
      }),
    );
  }

  /** SetInstanceProtection, fifty instances per call as the API allows. */
  async setInstanceProtection(groupName: string, instanceIds: string[], protect: boolean): Promise<void> {
    for (const batch of chunks([...new Set(instanceIds)], SET_PROTECTION_MAX)) {
      await this.pacer.take();
      await this.client.send(
        new SetInstanceProtectionCommand({
          AutoScalingGroupName: groupName,
          InstanceIds: batch,
          ProtectedFromScaleIn: protect,
        }),
      );
    }
  }

  /**
   * TerminateInstanceInAutoScalingGroup, lowering the desired capacity: the instance goes through
   * the terminate hooks (the drain controller's among them) like any termination.
   */
  async terminateAndDecrement(instanceId: string): Promise<void> {
    await this.pacer.take();
    try {
      await this.client.send(
        new TerminateInstanceInAutoScalingGroupCommand({
          InstanceId: instanceId,
          ShouldDecrementDesiredCapacity: true,
        }),
      );
    } catch (error) {
      // Terminated already (a step that overlapped, or a retry whose first answer was lost): done.
      if (isAlreadyTerminating(error)) return;
      throw error;
    }
  }

  /** CreateOrUpdateTags for one tag of the group, not propagated to instances. */
  async putGroupTag(groupName: string, key: string, value: string): Promise<void> {
    await this.pacer.take();
    await this.client.send(
      new CreateOrUpdateTagsCommand({
        Tags: [
          {
            ResourceId: groupName,
            ResourceType: 'auto-scaling-group',
            Key: key,
            Value: value,
            PropagateAtLaunch: false,
          },
        ],
      }),
    );
  }

  /** DeleteTags for one tag of the group (deleting a tag that is not there is no error). */
  async deleteGroupTag(groupName: string, key: string): Promise<void> {
    await this.pacer.take();
    await this.client.send(
      new DeleteTagsCommand({
        Tags: [{ ResourceId: groupName, ResourceType: 'auto-scaling-group', Key: key }],
      }),
    );
  }
}

/** A group as the AMI watcher sees it: what it launches from, its tags, its size. */
export interface GroupView {
  autoScalingGroupName: string;
  desiredCapacity: number;
  /** The group's own launch template, when it has one (not inside a mixed instances policy). */
  launchTemplate?: { launchTemplateId?: string; launchTemplateName?: string; version: string };
  mixedInstancesPolicy: boolean;
  launchConfigurationName?: string;
  tags: Record<string, string>;
}

export interface InstanceRefreshView {
  instanceRefreshId: string;
  /** Pending, InProgress, Successful, Failed, Cancelling, Cancelled, RollbackInProgress, ... */
  status: string;
  statusReason?: string;
  /** How far it got (0..100), as Auto Scaling reports it. */
  percentageComplete: number;
  /** Instances still to replace, when Auto Scaling says. */
  instancesToUpdate?: number;
  /** The launch template version it refreshes to (its DesiredConfiguration), if it has one. */
  desiredVersion?: string;
}

/** SetInstanceProtection takes at most 50 instance ids per call. */
const SET_PROTECTION_MAX = 50;

/** A group as a blue/green rollout reads it (AutoScalingAdapter.describeGroup). */
export interface RolloutGroupView {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  launchTemplate?: { id: string; version: string };
  instances: {
    instanceId: string;
    lifecycleState: string;
    protectedFromScaleIn: boolean;
    launchTemplateVersion?: string;
  }[];
  tags: Map<string, string>;
}

function identify(action: LifecycleActionRef) {
  const target =
    action.lifecycleActionToken === undefined
      ? { InstanceId: action.instanceId }
      : { LifecycleActionToken: action.lifecycleActionToken };
  return {
    AutoScalingGroupName: action.autoScalingGroupName,
    LifecycleHookName: action.lifecycleHookName,
    ...target,
  };
}

async function tolerateMissingAction(call: () => Promise<unknown>): Promise<LifecycleCallOutcome> {
  try {
    await call();
    return 'done';
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return 'gone';
    throw error;
  }
}

/** A ValidationError saying the instance is terminating or gone already ("Instance Id not found"). */
export function isAlreadyTerminating(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationError' &&
    /already (Terminating|Terminated)|Instance Id not found/.test(error.message)
  );
}

/** HTTP 400 ValidationError "No active Lifecycle Action found with instance ID …" / "… with token …". */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'ValidationError' &&
    error.message.includes('No active Lifecycle Action found')
  );
}
