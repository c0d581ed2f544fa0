import { type Clock, isoTime, type Random } from './clock';
import { Ec2Error, type Ec2Model, type LaunchTemplateSpecification } from './ec2';
import { ACCOUNT } from './ecs';

/**
 * A model of one EC2 Auto Scaling group as the Auto Scaling user guide describes it: desired capacity,
 * launches that take time, lifecycle hooks (launch and terminate) with heartbeat timeout, global
 * timeout and default result, scale-in, instance refresh with min/max healthy percentages and
 * warm-up, and EC2-level termination that the group only notices afterwards.
 */

export interface GroupSpec {
  name: string;
  desiredCapacity: number;
  minSize: number;
  maxSize: number;
  instanceCpu: number;
  instanceMemory: number;
  amiId: string;
  /** Seconds from launch until the ECS agent registers the instance. */
  bootSeconds: number;
  /** Seconds from launch until the instance passes EC2 health checks (Pending -> InService). */
  healthySeconds: number;
  /** Seconds from Terminating:Proceed until the EC2 instance is gone. */
  shutdownSeconds: number;
  /**
   * Seconds before DescribeAutoScalingInstances and DescribeAutoScalingGroups show a change (an
   * instance launched, a lifecycle state entered). Auto Scaling publishes no figure; the scenarios
   * assume 1 s, as for ECS. Writes (CompleteLifecycleAction, heartbeats) act on the state as it is.
   * Default 0.
   */
  readLagSeconds?: number;
}

export type Transition = 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';

export interface HookSpec {
  name: string;
  transition: Transition;
  heartbeatTimeout: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
  /** Publish notifications to the SNS topic (NotificationTargetARN). */
  notify: boolean;
  metadata?: string;
}

/** StartInstanceRefresh: the preferences (aws-semantics §2.1) and the configuration to refresh to. */
export interface RefreshSpec {
  /**
   * The AMI to refresh to, for a group without a launch template: the twin's shorthand for a new
   * launch configuration, which the group launches from at once. A group with a launch template
   * refreshes to `desiredConfiguration`, or to its own launch template when absent.
   */
  amiId?: string;
  minHealthyPercentage: number;
  /** Omitted: terminate and launch at the same time. */
  maxHealthyPercentage?: number;
  instanceWarmup: number;
  /**
   * Leave instances that already run the target configuration. Absent: false (AWS's default: every
   * instance launched before the refresh is replaced), except for an `amiId` refresh, which has
   * always skipped instances of that AMI.
   */
  skipMatching?: boolean;
  /** Ascending, unique, 1-100: the share of the group that must be new before the refresh pauses. */
  checkpointPercentages?: number[];
  /** Seconds to wait at each checkpoint; 3600 when checkpoints are given without it. */
  checkpointDelay?: number;
  /**
   * As given, for DescribeInstanceRefreshes to show; not acted on: the twin replaces scale-in
   * protected instances as `Refresh` does (AWS's default, `Wait`, waits an hour and fails), and has
   * no standby instances.
   */
  scaleInProtectedInstances?: 'Refresh' | 'Ignore' | 'Wait';
  standbyInstances?: 'Terminate' | 'Ignore' | 'Wait';
  /** When the refresh fails, replace the instances it launched with the configuration from before. */
  autoRollback?: boolean;
  /** AlarmSpecification: CloudWatch alarms whose ALARM state fails the refresh (and rolls it back with AutoRollback). */
  alarms?: string[];
  /** The launch template version to refresh to; the group refers to it once the refresh succeeds. */
  desiredConfiguration?: { launchTemplate: LaunchTemplateSpecification };
}

export type RefreshStatus =
  | 'InProgress'
  | 'Successful'
  | 'Failed'
  | 'Cancelling'
  | 'Cancelled'
  | 'RollbackInProgress'
  | 'RollbackFailed'
  | 'RollbackSuccessful';

/** What a launch boots: an AMI, and the launch template version it comes from when there is one. */
export interface LaunchTarget {
  amiId: string;
  launchTemplate?: InstanceLaunchTemplate;
}

/** One instance refresh, as DescribeInstanceRefreshes shows it. */
export interface RefreshState {
  readonly id: string;
  readonly spec: RefreshSpec;
  status: RefreshStatus;
  statusReason?: string;
  readonly startedAt: number;
  endedAt?: number;
  /** What instances are replaced with: the refresh's configuration, the previous one in a rollback. */
  target: LaunchTarget;
  /** What the group launched before the refresh: where a rollback returns. */
  readonly previous: LaunchTarget;
  /** What the refresh replaces instances with (its desired configuration, resolved at its start). */
  readonly desired: LaunchTarget;
  /** When the current phase (the refresh, or its rollback) began. */
  phaseStartedAt: number;
  /** Share of the group's desired capacity that is new and ready (in service and warmed up). */
  percentageComplete: number;
  /** Instances the current phase still has to replace. */
  instancesToUpdate: number;
  /** Checkpoints reached so far. */
  checkpointsReached: number;
  /** Paused at a checkpoint until this second. */
  waitingUntil?: number;
  /** When the share complete last grew (or the refresh started or left a checkpoint). */
  lastProgressAt: number;
  /** Why and when the refresh began to roll back, and how far it had come (RollbackDetails). */
  rollbackDetails?: {
    reason: string;
    startedAt: number;
    percentageCompleteOnRollback: number;
    instancesToUpdateOnRollback: number;
  };
}

export type ActivityStatus = 'InProgress' | 'Successful' | 'Cancelled' | 'Failed';

/**
 * A scaling activity: one launch or one termination, as DescribeScalingActivities and
 * TerminateInstanceInAutoScalingGroup show it. InProgress until the instance is in service (or gone);
 * a launch whose launch hook ended in ABANDON, or that went before it served, is Cancelled.
 */
export interface Activity {
  activityId: string;
  instanceId: string;
  availabilityZone: string;
  description: string;
  cause: string;
  startedAt: number;
  endedAt?: number;
  statusCode: ActivityStatus;
  statusMessage?: string;
  progress: number;
}

export type ActionEnd = 'completed' | 'heartbeat-timeout' | 'global-timeout';

export class LifecycleAction {
  heartbeatDeadline: number;
  readonly globalDeadline: number;
  endedAt?: number;
  endedBy?: ActionEnd;
  result?: 'CONTINUE' | 'ABANDON';

  constructor(
    readonly token: string,
    readonly hook: HookSpec,
    readonly instance: AsgInstance,
    readonly startedAt: number,
  ) {
    this.heartbeatDeadline = startedAt + hook.heartbeatTimeout;
    // "The maximum is 172800 seconds (48 hours) or 100 times HeartbeatTimeout, whichever is smaller."
    this.globalDeadline = startedAt + Math.min(172800, 100 * hook.heartbeatTimeout);
  }

  get active(): boolean {
    return this.endedBy === undefined;
  }
}

/** The launch template version an instance was launched from (resolved at its launch). */
export interface InstanceLaunchTemplate {
  id: string;
  name: string;
  version: number;
}

export class AsgInstance {
  state = 'Pending';
  /** The lifecycle state as the describe calls show it (readLagSeconds behind); undefined until then. */
  readableState?: string;
  inServiceAt?: number;
  terminatingAt?: number;
  terminatedAt?: number;
  /** EC2 itself is gone (hard termination) while the group may not know yet. */
  ec2Gone = false;
  actions: LifecycleAction[] = [];
  /** The scaling activities that launched it and that terminate it. */
  launchActivity?: Activity;
  terminationActivity?: Activity;
  /** SetInstanceProtection: scale-in (a lower desired capacity) never picks it; manual termination still may. */
  protectedFromScaleIn = false;

  constructor(
    readonly id: string,
    readonly amiId: string,
    readonly launchedAt: number,
    readonly availabilityZone: string,
    readonly launchTemplate?: InstanceLaunchTemplate,
  ) {}

  get alive(): boolean {
    return this.state.startsWith('Pending') || this.state === 'InService';
  }
}

export interface AutoScalingObserver {
  /** A lifecycle notification for the hook's SNS topic (the JSON Auto Scaling publishes as `Message`). */
  notify(message: Record<string, string>): void;
  instanceChanged(instance: AsgInstance): void;
  actionEnded(action: LifecycleAction): void;
  ec2Booted(instance: AsgInstance): void;
  ec2Terminated(instance: AsgInstance): void;
  /** Whether the CloudWatch alarm of this name is in ALARM now (an alarm the account does not have: never). */
  alarmFiring?(name: string): boolean;
}

export class AutoScalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How a launch activity's StatusMessage says its launch hook ended in ABANDON. */
const ABANDONED_BY: Record<ActionEnd, string> = {
  completed: 'Lifecycle Action Completed with ABANDON Result',
  'heartbeat-timeout': 'Heartbeat Timeout',
  'global-timeout': 'Global Timeout',
};

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const REFRESH_CHECK_SECONDS = 5;
/**
 * A refresh whose new instances stop becoming healthy fails after an hour without progress
 * ("one-hour timeout when stuck on ... unhealthy new instances", aws-semantics §2.1).
 */
export const REFRESH_STALL_SECONDS = 3600;
/** CheckpointDelay when checkpoints are given without one. */
export const DEFAULT_CHECKPOINT_DELAY = 3600;
/** Tags per Auto Scaling group. */
export const MAX_TAGS = 50;
const ACTIVE_REFRESH: RefreshStatus[] = ['InProgress', 'Cancelling', 'RollbackInProgress'];

export class AutoScalingModel {
  readonly instances = new Map<string, AsgInstance>();
  /** Instances gone from the group that the describe calls still show (readLagSeconds). */
  private readonly lingering = new Map<string, AsgInstance>();
  readonly hooks = new Map<string, HookSpec>();
  desired: number;
  /** MinSize and MaxSize as UpdateAutoScalingGroup leaves them (the spec's at first). */
  minSize: number;
  maxSize: number;
  /** The group's tags by key (CreateOrUpdateTags), in the order they were first written. */
  readonly tags = new Map<string, { value: string; propagateAtLaunch: boolean }>();
  amiId: string;
  /** Every instance refresh, newest first (DescribeInstanceRefreshes). */
  readonly refreshes: RefreshState[] = [];

  /** The latest instance refresh, if any (DescribeInstanceRefreshes lists it first). */
  get refresh(): RefreshState | undefined {
    return this.refreshes[0];
  }
  /** Extra instances an instance refresh may launch before terminating (MaxHealthyPercentage > 100). */
  private surge = 0;
  private maintainQueued = false;
  private launched = 0;
  /** Every scaling activity of the group, newest first (DescribeScalingActivities); ids are counted, not drawn. */
  readonly activities: Activity[] = [];
  /** What last changed the desired capacity, for the cause of the launches or terminations it brings. */
  private capacityChange?: string;
  /** The launch template the group launches from, and the EC2 model that resolves it. */
  private template?: { ec2: Ec2Model; spec: LaunchTemplateSpecification };

  constructor(
    readonly spec: GroupSpec,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly observer: AutoScalingObserver,
    /** Tokens and request ids exist only in messages: drawn apart, a hook leaves the group's own randomness as it is. */
    private readonly messageIds: Random = random,
  ) {
    this.desired = spec.desiredCapacity;
    this.minSize = spec.minSize;
    this.maxSize = spec.maxSize;
    this.amiId = spec.amiId;
  }

  /**
   * The group launches from a launch template version (a number, `$Latest` or `$Default`, resolved
   * at each launch) instead of `amiId`.
   */
  useLaunchTemplate(ec2: Ec2Model, spec: LaunchTemplateSpecification): void {
    const template = ec2.findTemplate(spec);
    ec2.resolve(template, spec.version); // refuse a version that does not exist
    this.template = {
      ec2,
      spec: {
        launchTemplateId: template.id,
        launchTemplateName: template.name,
        version: spec.version ?? '$Default',
      },
    };
  }

  /** The launch template the group refers to, as DescribeAutoScalingGroups shows it; absent without one. */
  get launchTemplate(): Required<LaunchTemplateSpecification> | undefined {
    return this.template?.spec as Required<LaunchTemplateSpecification> | undefined;
  }

  /** What a launch now boots: the AMI, and the launch template version it comes from. */
  private launchConfiguration(): LaunchTarget {
    // A refresh to a desired configuration launches it; its rollback launches what came before.
    const refresh = this.refresh;
    if (
      refresh?.spec.desiredConfiguration !== undefined &&
      (refresh.status === 'InProgress' || refresh.status === 'RollbackInProgress')
    )
      return refresh.target;
    if (this.template === undefined) return { amiId: this.amiId };
    const { ec2, spec } = this.template;
    const version = ec2.resolveSpecification({
      launchTemplateId: spec.launchTemplateId,
      version: spec.version,
    });
    return {
      amiId: version.data.imageId ?? this.amiId,
      launchTemplate: { id: version.templateId, name: version.templateName, version: version.versionNumber },
    };
  }

  /** The AMI the group launches now: its launch template's, or `amiId` without one. */
  get currentAmiId(): string {
    return this.launchConfiguration().amiId;
  }

  get arn(): string {
    return `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:7d2a4f5e-8f3b-4c1a-9e6d-0b1c2d3e4f5a:autoScalingGroupName/${this.spec.name}`;
  }

  /** Instances already running when the story starts: booted and in service. */
  startWithRunningInstances(): void {
    const at = isoTime(this.clock.now);
    for (let n = 0; n < this.desired; n++) {
      const instance = this.newInstance();
      this.recordLaunch(
        instance,
        `At ${at} a user request created an AutoScalingGroup changing the desired capacity from 0 to ${this.desired}.  ` +
          `At ${at} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to ${this.desired}.`,
      );
      this.activityEnded(instance.launchActivity, 'Successful');
      instance.state = 'InService';
      instance.inServiceAt = this.clock.now;
      this.changed(instance);
      instance.readableState = instance.state; // there before the story starts
      this.observer.ec2Booted(instance);
    }
  }

  /** The instances as DescribeAutoScalingInstances and DescribeAutoScalingGroups show them, with their readable state. */
  describable(ids?: string[]): { instance: AsgInstance; state: string }[] {
    const all =
      ids === undefined
        ? [...this.instances.values(), ...this.lingering.values()]
        : ids.flatMap((id) => this.instances.get(id) ?? this.lingering.get(id) ?? []);
    return all.flatMap((instance) =>
      instance.readableState === undefined ? [] : [{ instance, state: instance.readableState }],
    );
  }

  /** An instance changed: observers hear of it now, the describe calls show it readLagSeconds later. */
  private changed(instance: AsgInstance): void {
    const state = instance.state;
    const lag = this.spec.readLagSeconds ?? 0;
    if (lag > 0) {
      this.clock.after(lag, () => {
        instance.readableState = state;
      });
    } else instance.readableState = state;
    this.observer.instanceChanged(instance);
  }

  putLifecycleHook(hook: HookSpec): void {
    this.hooks.set(hook.name, hook);
    if (hook.notify) {
      this.observer.notify({
        AccountId: ACCOUNT,
        RequestId: this.messageIds.uuid(),
        AutoScalingGroupARN: this.arn,
        AutoScalingGroupName: this.spec.name,
        Service: 'AWS Auto Scaling',
        Event: 'autoscaling:TEST_NOTIFICATION',
        Time: isoTime(this.clock.now),
      });
    }
  }

  setDesiredCapacity(desired: number): void {
    const before = this.desired;
    this.desired = Math.max(this.minSize, Math.min(this.maxSize, desired));
    this.noteCapacityChange(
      before,
      `a user request explicitly set group desired capacity changing the desired capacity from ${before} to ${this.desired}`,
    );
    this.maintain();
  }

  /** StartInstanceRefresh: validated as Auto Scaling does; answers the refresh. */
  startInstanceRefresh(spec: RefreshSpec): RefreshState {
    if (this.refresh !== undefined && ACTIVE_REFRESH.includes(this.refresh.status)) {
      throw new AutoScalingError(
        'InstanceRefreshInProgress',
        `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`,
      );
    }
    this.validateRefresh(spec);
    const previous = this.launchConfiguration();
    let target = previous;
    const desired = spec.desiredConfiguration?.launchTemplate;
    if (desired !== undefined) {
      const version = (this.template?.ec2 as Ec2Model).resolveSpecification(desired);
      target = {
        amiId: version.data.imageId ?? this.amiId,
        launchTemplate: {
          id: version.templateId,
          name: version.templateName,
          version: version.versionNumber,
        },
      };
    } else if (spec.amiId !== undefined) {
      this.amiId = spec.amiId;
      target = { amiId: spec.amiId };
    }
    const now = this.clock.now;
    const refresh: RefreshState = {
      // Counted, not drawn: starting a refresh leaves the group's randomness as it is.
      id: `${hash8(this.spec.name)}-0000-4000-8000-${(this.refreshes.length + 1).toString(16).padStart(12, '0')}`,
      spec,
      status: 'InProgress',
      startedAt: now,
      target,
      previous,
      desired: target,
      phaseStartedAt: now,
      percentageComplete: 0,
      instancesToUpdate: 0,
      checkpointsReached: 0,
      lastProgressAt: now,
    };
    this.refreshes.unshift(refresh);
    this.refreshStep();
    return refresh;
  }

  /** CancelInstanceRefresh: no more replacements; Cancelled once launches and terminations in flight end. */
  cancelInstanceRefresh(): RefreshState {
    const refresh = this.refresh;
    if (
      refresh === undefined ||
      (refresh.status !== 'InProgress' && refresh.status !== 'RollbackInProgress')
    ) {
      throw new AutoScalingError(
        'ActiveInstanceRefreshNotFound',
        'No in progress or pending Instance Refresh found',
      );
    }
    refresh.status = 'Cancelling';
    refresh.waitingUntil = undefined;
    this.surge = 0;
    return refresh;
  }

  /**
   * RollbackInstanceRefresh: the refresh stops and the instances it launched are replaced with the
   * configuration from before, as the refresh replaced them. Only a refresh to a desired
   * configuration, from and to numbered launch template versions, can be rolled back.
   */
  rollbackInstanceRefresh(reason = 'Rollback requested by user'): RefreshState {
    const refresh = this.refresh;
    if (refresh === undefined || refresh.status !== 'InProgress') {
      throw new AutoScalingError(
        'ActiveInstanceRefreshNotFound',
        'No in progress or pending Instance Refresh found',
      );
    }
    const irreversible = this.irreversible(refresh.spec);
    if (irreversible !== undefined) throw new AutoScalingError('IrreversibleInstanceRefresh', irreversible);
    this.startRollback(refresh, reason);
    return refresh;
  }

  /** Why a refresh to `spec` could not be rolled back; undefined when it could. */
  private irreversible(spec: RefreshSpec): string | undefined {
    const desired = spec.desiredConfiguration?.launchTemplate;
    if (desired === undefined) return 'The instance refresh has no desired configuration to roll back from.';
    if (!/^\d+$/.test(desired.version ?? '$Default'))
      return 'The desired configuration uses the $Latest or $Default version of its launch template.';
    if (!/^\d+$/.test(this.template?.spec.version ?? ''))
      return 'The Auto Scaling group uses the $Latest or $Default version of its launch template.';
    return undefined;
  }

  private validateRefresh(spec: RefreshSpec): void {
    const invalid = (message: string) => new AutoScalingError('ValidationError', message);
    const { minHealthyPercentage: min, maxHealthyPercentage: max } = spec;
    if (min < 0 || min > 100) throw invalid('MinHealthyPercentage must be between 0 and 100.');
    if (max !== undefined && (max < 100 || max > 200 || max - min > 100))
      throw invalid(
        'MaxHealthyPercentage must be between 100 and 200, and at most 100 above MinHealthyPercentage.',
      );
    const checkpoints = spec.checkpointPercentages;
    if (checkpoints !== undefined) {
      if (
        checkpoints.length === 0 ||
        checkpoints.some((c, n) => c < 1 || c > 100 || (n > 0 && c <= (checkpoints[n - 1] ?? 0)))
      )
        throw invalid('CheckpointPercentages must be unique values between 1 and 100 in ascending order.');
    } else if (spec.checkpointDelay !== undefined) {
      throw invalid('CheckpointDelay requires CheckpointPercentages.');
    }
    if (spec.desiredConfiguration !== undefined && this.template === undefined)
      throw invalid(
        'The Auto Scaling group has no launch template: a desired configuration cannot be resolved.',
      );
    if (spec.amiId !== undefined && this.template !== undefined)
      throw invalid('The Auto Scaling group uses a launch template: refresh to a desired configuration.');
    if (spec.desiredConfiguration !== undefined) {
      // Refuse a template or version that does not exist before anything changes.
      try {
        (this.template?.ec2 as Ec2Model).resolveSpecification(spec.desiredConfiguration.launchTemplate);
      } catch (error) {
        if (error instanceof Ec2Error) throw invalid(error.message);
        throw error;
      }
    }
    if (spec.autoRollback) {
      const irreversible = this.irreversible(spec);
      if (irreversible !== undefined) throw invalid(`AutoRollback is not supported: ${irreversible}`);
    }
  }

  /** EC2 terminates the instance first (console, Spot); the group notices later and runs its hooks. */
  terminateEc2Instance(instanceId: string, noticedAfter: number): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.ec2Gone) return;
    instance.ec2Gone = true;
    this.observer.ec2Terminated(instance);
    this.clock.after(noticedAfter, () => {
      if (instance.state === 'InService' || instance.state.startsWith('Pending'))
        this.terminate(
          instance,
          `At ${isoTime(this.clock.now)} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`,
        );
    });
  }

  // ---- API -----------------------------------------------------------------------------------

  completeLifecycleAction(input: {
    groupName: string;
    hookName: string;
    result: string;
    token?: string;
    instanceId?: string;
  }): void {
    const action = this.findAction(input);
    if (input.result !== 'CONTINUE' && input.result !== 'ABANDON') {
      throw new AutoScalingError('ValidationError', `Invalid LifecycleActionResult ${input.result}`);
    }
    this.endAction(action, input.result, 'completed');
  }

  recordHeartbeat(input: { groupName: string; hookName: string; token?: string; instanceId?: string }): void {
    const action = this.findAction(input);
    action.heartbeatDeadline = Math.min(this.clock.now + action.hook.heartbeatTimeout, action.globalDeadline);
    this.scheduleTimeoutCheck(action);
  }

  private findAction(input: {
    groupName: string;
    hookName: string;
    token?: string;
    instanceId?: string;
  }): LifecycleAction {
    if (input.groupName !== this.spec.name) {
      throw new AutoScalingError('ValidationError', `AutoScalingGroup name not found - ${input.groupName}`);
    }
    const candidates =
      input.token !== undefined
        ? [...this.instances.values()].flatMap((i) => i.actions).filter((a) => a.token === input.token)
        : (this.instances.get(input.instanceId ?? '')?.actions ?? []);
    const action = candidates.find((a) => a.active && a.hook.name === input.hookName);
    if (action === undefined) {
      const by = input.token !== undefined ? `token ${input.token}` : `instance ID ${input.instanceId}`;
      throw new AutoScalingError('ValidationError', `No active Lifecycle Action found with ${by}`);
    }
    return action;
  }

  // ---- group settings: tags, scale-in protection, sizes, launch template, manual termination ----

  /**
   * CreateOrUpdateTags for this group: a key already there gets the new value. Keys of 1-128
   * characters, not starting with `aws:`; values of at most 256; at most 50 tags per group
   * (LimitExceeded), checked before anything changes.
   */
  createOrUpdateTags(tags: { key: string; value: string; propagateAtLaunch: boolean }[]): void {
    for (const { key, value } of tags) {
      if (key.length < 1 || key.length > 128)
        throw new AutoScalingError('ValidationError', `Tag key must be 1 to 128 characters: ${key}`);
      if (key.toLowerCase().startsWith('aws:'))
        throw new AutoScalingError('ValidationError', `Tag keys starting with aws: are reserved: ${key}`);
      if (value.length > 256)
        throw new AutoScalingError(
          'ValidationError',
          `Tag value must be at most 256 characters (${value.length} given) for key ${key}`,
        );
    }
    const keys = new Set([...this.tags.keys(), ...tags.map((tag) => tag.key)]);
    if (keys.size > MAX_TAGS)
      throw new AutoScalingError(
        'LimitExceeded',
        `The quota of ${MAX_TAGS} tags per Auto Scaling group would be exceeded (${keys.size}).`,
      );
    for (const { key, value, propagateAtLaunch } of tags) this.tags.set(key, { value, propagateAtLaunch });
  }

  /** DeleteTags: a key the group does not have is no error. */
  deleteTags(keys: string[]): void {
    for (const key of keys) this.tags.delete(key);
  }

  /**
   * SetInstanceProtection: at most 50 instances per call; each must be the group's and launching or
   * in service. Removing protection lets a desired capacity already lowered take effect.
   */
  setInstanceProtection(instanceIds: string[], protectedFromScaleIn: boolean): void {
    if (instanceIds.length === 0 || instanceIds.length > 50)
      throw new AutoScalingError(
        'LimitExceeded',
        `SetInstanceProtection takes 1 to 50 instance ids (${instanceIds.length} given).`,
      );
    const instances = instanceIds.map((id) => {
      const instance = this.instances.get(id);
      if (instance === undefined)
        throw new AutoScalingError(
          'ValidationError',
          `The instance ${id} is not part of Auto Scaling group ${this.spec.name}.`,
        );
      if (!instance.alive)
        throw new AutoScalingError(
          'ValidationError',
          `The instance ${id} is in ${instance.state} state: its protection cannot be changed.`,
        );
      return instance;
    });
    for (const instance of instances) instance.protectedFromScaleIn = protectedFromScaleIn;
    if (!protectedFromScaleIn) this.maintain();
  }

  /**
   * UpdateAutoScalingGroup: sizes and the launch template, validated as a whole before anything
   * changes (min <= desired <= max). Without a desired capacity, a new MinSize above it raises it and
   * a new MaxSize below it lowers it. Changing the launch template while an instance refresh to a
   * desired configuration is in progress is a ValidationError (aws-semantics §2.1).
   */
  updateGroup(update: {
    minSize?: number;
    maxSize?: number;
    desiredCapacity?: number;
    launchTemplate?: LaunchTemplateSpecification;
  }): void {
    const invalid = (message: string) => new AutoScalingError('ValidationError', message);
    const min = update.minSize ?? this.minSize;
    const max = update.maxSize ?? this.maxSize;
    if ([min, max, update.desiredCapacity].some((n) => n !== undefined && (!Number.isInteger(n) || n < 0)))
      throw invalid('MinSize, MaxSize and DesiredCapacity must be whole numbers of at least 0.');
    if (min > max) throw invalid(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
    const desired = update.desiredCapacity ?? Math.max(min, Math.min(max, this.desired));
    if (desired < min || desired > max)
      throw invalid(
        `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
      );
    let template = this.template;
    if (update.launchTemplate !== undefined) {
      const refresh = this.refresh;
      if (refresh?.spec.desiredConfiguration !== undefined && ACTIVE_REFRESH.includes(refresh.status))
        throw invalid(
          'An instance refresh with a desired configuration is in progress: the launch template cannot be updated until it ends.',
        );
      if (this.template === undefined)
        throw invalid(
          'The simulated group launches from an AMI, not a launch template: it cannot switch to one.',
        );
      const { ec2 } = this.template;
      let version;
      try {
        version = ec2.resolveSpecification(update.launchTemplate);
      } catch (error) {
        if (error instanceof Ec2Error) throw invalid(error.message);
        throw error;
      }
      template = {
        ec2,
        spec: {
          launchTemplateId: version.templateId,
          launchTemplateName: version.templateName,
          version: update.launchTemplate.version ?? '$Default',
        },
      };
    }
    this.minSize = min;
    this.maxSize = max;
    const before = this.desired;
    this.desired = desired;
    this.template = template;
    this.noteCapacityChange(
      before,
      `a user request update of AutoScalingGroup constraints to min: ${min}, max: ${max}, desired: ${desired} changing the desired capacity from ${before} to ${desired}`,
    );
    this.maintain();
  }

  /**
   * TerminateInstanceInAutoScalingGroup: the instance goes through the terminate hooks like any
   * termination (scale-in protection does not stop it). With `decrement` the desired capacity drops
   * by one, refused when that would go below MinSize; without, the group launches a replacement.
   */
  terminateInstance(instanceId: string, decrement: boolean): Activity {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.state === 'Terminated')
      throw new AutoScalingError(
        'ValidationError',
        `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
      );
    if (!instance.alive)
      throw new AutoScalingError(
        'ValidationError',
        `The instance ${instanceId} is already ${instance.state}: it cannot be terminated again.`,
      );
    const before = this.desired;
    if (decrement && this.desired <= this.minSize)
      throw new AutoScalingError(
        'ValidationError',
        `Currently, desiredSize equals minSize (${this.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
      );
    if (decrement) this.desired--;
    this.terminate(
      instance,
      `At ${isoTime(this.clock.now)} instance ${instanceId} was taken out of service in response to a user request` +
        (decrement ? `, shrinking the capacity from ${before} to ${this.desired}.` : '.'),
    );
    return { ...(instance.terminationActivity as Activity) };
  }

  // ---- scaling activities --------------------------------------------------------------------

  /** The desired capacity changed: the launches or terminations it brings name it in their cause. */
  private noteCapacityChange(before: number, what: string): void {
    if (before !== this.desired) this.capacityChange = `At ${isoTime(this.clock.now)} ${what}.`;
  }

  private newActivity(instance: AsgInstance, description: string, cause: string): Activity {
    const activity: Activity = {
      activityId: `${hash8(this.spec.name)}-0000-4000-9000-${(this.activities.length + 1).toString(16).padStart(12, '0')}`,
      instanceId: instance.id,
      availabilityZone: instance.availabilityZone,
      description,
      cause,
      startedAt: this.clock.now,
      statusCode: 'InProgress',
      progress: 0,
    };
    this.activities.unshift(activity);
    return activity;
  }

  private recordLaunch(instance: AsgInstance, cause: string): void {
    instance.launchActivity = this.newActivity(
      instance,
      `Launching a new EC2 instance: ${instance.id}`,
      cause,
    );
  }

  private activityEnded(activity: Activity | undefined, status: ActivityStatus, message?: string): void {
    if (activity === undefined || activity.statusCode !== 'InProgress') return;
    activity.statusCode = status;
    activity.endedAt = this.clock.now;
    activity.progress = 100;
    if (message !== undefined) activity.statusMessage = message;
  }

  // ---- capacity ------------------------------------------------------------------------------

  private maintain(): void {
    if (this.maintainQueued) return;
    this.maintainQueued = true;
    this.clock.after(1, () => {
      this.maintainQueued = false;
      const alive = [...this.instances.values()].filter((instance) => instance.alive);
      const target = this.desired + this.surge;
      const now = isoTime(this.clock.now);
      const change = this.capacityChange === undefined ? '' : `${this.capacityChange}  `;
      this.capacityChange = undefined;
      for (let n = alive.length; n < target; n++)
        this.launch(
          `${change}At ${now} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${alive.length} to ${target}.`,
        );
      if (alive.length > target) {
        // Default termination policy, simplified: instances of an old AMI first, then the oldest.
        const current = this.currentAmiId;
        // Protected instances are never picked: the group stays above its desired capacity instead.
        const victims = alive
          // A launch still pending (a rollback's, a cancelled refresh's) goes too: it runs another configuration.
          .filter(
            (instance) =>
              (instance.state === 'InService' || instance.state.startsWith('Pending')) &&
              !instance.protectedFromScaleIn,
          )
          .sort(
            (a, b) =>
              Number(a.amiId === current) - Number(b.amiId === current) || a.launchedAt - b.launchedAt,
          )
          .slice(0, alive.length - target);
        for (const victim of victims)
          this.terminate(
            victim,
            `${change}At ${now} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${alive.length} to ${target}.  ` +
              `At ${now} instance ${victim.id} was selected for termination.`,
          );
      }
    });
  }

  private newInstance(): AsgInstance {
    const id = `i-${this.random.hex(17)}`;
    const zone = ZONES[this.launched++ % ZONES.length] as string;
    const { amiId, launchTemplate } = this.launchConfiguration();
    const instance = new AsgInstance(id, amiId, this.clock.now, zone, launchTemplate);
    this.instances.set(id, instance);
    return instance;
  }

  private launch(cause: string): void {
    const instance = this.newInstance();
    this.recordLaunch(instance, cause);
    this.changed(instance);
    this.clock.after(this.spec.bootSeconds, () => {
      if (!instance.ec2Gone && instance.state !== 'Terminated') this.observer.ec2Booted(instance);
    });
    this.clock.after(this.spec.healthySeconds, () => {
      if (instance.state === 'Pending') this.beginTransition(instance, 'autoscaling:EC2_INSTANCE_LAUNCHING');
    });
  }

  /** Terminates the instance; `cause` starts its termination activity (none when its launch was abandoned). */
  private terminate(instance: AsgInstance, cause?: string): void {
    if (!instance.alive) return;
    if (cause !== undefined)
      instance.terminationActivity = this.newActivity(
        instance,
        `Terminating EC2 instance: ${instance.id}`,
        cause,
      );
    // A launch that goes before it served never completes.
    this.activityEnded(instance.launchActivity, 'Cancelled');
    instance.state = 'Terminating';
    instance.terminatingAt = this.clock.now;
    this.changed(instance);
    this.beginTransition(instance, 'autoscaling:EC2_INSTANCE_TERMINATING');
    this.maintain();
  }

  // ---- lifecycle hooks -----------------------------------------------------------------------

  private beginTransition(instance: AsgInstance, transition: Transition): void {
    const hooks = [...this.hooks.values()].filter((hook) => hook.transition === transition);
    if (hooks.length === 0) return this.finishTransition(instance, transition, 'CONTINUE');
    instance.state =
      transition === 'autoscaling:EC2_INSTANCE_LAUNCHING' ? 'Pending:Wait' : 'Terminating:Wait';
    this.changed(instance);
    for (const hook of hooks) {
      const action = new LifecycleAction(this.messageIds.uuid(), hook, instance, this.clock.now);
      instance.actions.push(action);
      this.scheduleTimeoutCheck(action);
      if (hook.notify) this.observer.notify(this.notification(action, transition));
    }
  }

  private notification(action: LifecycleAction, transition: Transition): Record<string, string> {
    const launching = transition === 'autoscaling:EC2_INSTANCE_LAUNCHING';
    return {
      Origin: launching ? 'EC2' : 'AutoScalingGroup',
      LifecycleHookName: action.hook.name,
      Destination: launching ? 'AutoScalingGroup' : 'EC2',
      AccountId: ACCOUNT,
      RequestId: this.messageIds.uuid(),
      LifecycleTransition: transition,
      AutoScalingGroupName: this.spec.name,
      Service: 'AWS Auto Scaling',
      Time: isoTime(this.clock.now),
      EC2InstanceId: action.instance.id,
      ...(action.hook.metadata !== undefined && { NotificationMetadata: action.hook.metadata }),
      LifecycleActionToken: action.token,
    };
  }

  private scheduleTimeoutCheck(action: LifecycleAction): void {
    const at = Math.min(action.heartbeatDeadline, action.globalDeadline);
    this.clock.at(at, () => {
      if (!action.active) return;
      if (this.clock.now >= action.globalDeadline) {
        this.endAction(action, action.hook.defaultResult, 'global-timeout');
      } else if (this.clock.now >= action.heartbeatDeadline) {
        this.endAction(action, action.hook.defaultResult, 'heartbeat-timeout');
      }
      // Otherwise a heartbeat moved the deadline; its own check is scheduled.
    });
  }

  private endAction(action: LifecycleAction, result: 'CONTINUE' | 'ABANDON', by: ActionEnd): void {
    action.result = result;
    action.endedBy = by;
    action.endedAt = this.clock.now;
    this.observer.actionEnded(action);
    const instance = action.instance;
    const transition = action.hook.transition;
    const pending = instance.actions.filter((a) => a.hook.transition === transition);
    if (pending.some((a) => a.active)) return;
    const abandoned = pending.some((a) => a.result === 'ABANDON');
    this.finishTransition(instance, transition, abandoned ? 'ABANDON' : 'CONTINUE');
  }

  private finishTransition(
    instance: AsgInstance,
    transition: Transition,
    result: 'CONTINUE' | 'ABANDON',
  ): void {
    if (transition === 'autoscaling:EC2_INSTANCE_LAUNCHING') {
      if (result === 'ABANDON') {
        const abandoned = instance.actions.find(
          (a) => a.hook.transition === transition && a.result === 'ABANDON',
        );
        this.activityEnded(
          instance.launchActivity,
          'Cancelled',
          `Instance failed to complete user's Lifecycle Action: Lifecycle Action with token ${abandoned?.token ?? ''} was abandoned: ` +
            ABANDONED_BY[abandoned?.endedBy ?? 'completed'],
        );
        return this.terminate(instance);
      }
      this.activityEnded(instance.launchActivity, 'Successful');
      instance.state = 'InService';
      instance.inServiceAt = this.clock.now;
      this.changed(instance);
      return;
    }
    // On termination both results terminate; ABANDON only skips the remaining hooks.
    instance.state = 'Terminating:Proceed';
    this.changed(instance);
    this.clock.after(this.spec.shutdownSeconds, () => {
      if (!instance.ec2Gone) {
        instance.ec2Gone = true;
        this.observer.ec2Terminated(instance);
      }
      instance.state = 'Terminated';
      instance.terminatedAt = this.clock.now;
      this.activityEnded(instance.terminationActivity, 'Successful');
      this.changed(instance);
      this.instances.delete(instance.id);
      // The describe calls show it until its Terminated state is readable, then no more.
      const lag = this.spec.readLagSeconds ?? 0;
      if (lag > 0) {
        this.lingering.set(instance.id, instance);
        this.clock.after(lag, () => {
          this.lingering.delete(instance.id);
        });
      }
      this.maintain();
    });
  }

  // ---- instance refresh ----------------------------------------------------------------------

  /** Whether an instance runs the configuration `target` describes. */
  private static matches(instance: AsgInstance, target: LaunchTarget): boolean {
    if (target.launchTemplate === undefined) return instance.amiId === target.amiId;
    return (
      instance.launchTemplate?.id === target.launchTemplate.id &&
      instance.launchTemplate.version === target.launchTemplate.version
    );
  }

  /**
   * Whether the current phase replaces the instance: one that does not run its target, or, unless
   * the refresh skips matching instances, any launched before it began. A rollback replaces only
   * the instances that do not run the previous configuration.
   */
  private needsReplacement(refresh: RefreshState, instance: AsgInstance): boolean {
    if (!AutoScalingModel.matches(instance, refresh.target)) return true;
    if (refresh.status === 'RollbackInProgress') return false;
    const skipMatching = refresh.spec.skipMatching ?? refresh.spec.amiId !== undefined;
    return !skipMatching && instance.launchedAt < refresh.phaseStartedAt;
  }

  /**
   * One look at the refresh: launch ahead within MaxHealthyPercentage, terminate old instances as far
   * as MinHealthyPercentage allows; when neither bound can be met, replace one at a time. Instances
   * still waiting on a terminate hook are not healthy capacity, so the refresh never waits for drains.
   * It pauses at each checkpoint, and fails (or rolls back) after an hour without progress.
   */
  private refreshStep(): void {
    const refresh = this.refresh;
    if (refresh === undefined) return;
    if (refresh.status === 'Cancelling') return this.cancelStep(refresh);
    if (refresh.status !== 'InProgress' && refresh.status !== 'RollbackInProgress') return;
    const { spec } = refresh;
    const alive = [...this.instances.values()].filter((instance) => instance.alive);
    const old = alive.filter((instance) => this.needsReplacement(refresh, instance));
    const ready = (instance: AsgInstance) =>
      instance.state === 'InService' && this.clock.now >= (instance.inServiceAt ?? 0) + spec.instanceWarmup;
    this.measureProgress(refresh, alive, old, ready);

    if (old.length === 0 && alive.every(ready)) return this.finishRefresh(refresh);
    // AlarmSpecification: an alarm in ALARM fails the refresh (rolled back with AutoRollback).
    const firing =
      refresh.status === 'InProgress'
        ? refresh.spec.alarms?.find((name) => this.observer.alarmFiring?.(name) === true)
        : undefined;
    if (firing !== undefined) {
      this.refreshFailed(refresh, `Alarm ${firing} is in ALARM state.`);
      // A rollback looks at the group afresh, with its own target.
      this.clock.after(REFRESH_CHECK_SECONDS, () => this.refreshStep());
      return;
    }
    // A pause at a checkpoint is not a stall.
    const paused = refresh.waitingUntil !== undefined;
    if (!paused && this.clock.now - refresh.lastProgressAt >= REFRESH_STALL_SECONDS) {
      this.refreshFailed(refresh, `No new instance became healthy for ${REFRESH_STALL_SECONDS} seconds.`);
      if (refresh.status !== 'RollbackInProgress') return;
    } else if (old.length === 0) {
      // Nothing left to replace; an instance launched ahead keeps its place until every launch is ready
      // (launch before terminate: no healthy instance goes for one that may never serve).
      if (alive.every(ready)) this.surge = 0;
    } else if (this.atCheckpoint(refresh)) {
      // The replacement that reached the checkpoint ends: an instance launched ahead has its old one go.
      this.surge = 0;
      this.maintain();
    } else {
      const healthy = alive.filter(ready).length;
      const floor = Math.ceil((this.desired * spec.minHealthyPercentage) / 100);
      const ceiling =
        spec.maxHealthyPercentage === undefined
          ? this.desired
          : Math.floor((this.desired * spec.maxHealthyPercentage) / 100);
      const launchFirst =
        spec.maxHealthyPercentage !== undefined && ceiling === this.desired && floor === this.desired ? 1 : 0;
      const headroom = Math.max(ceiling - this.desired, launchFirst);
      const settling = alive.some((instance) => !ready(instance));
      let terminations = healthy - floor;
      if (terminations <= 0 && !settling && headroom === 0) terminations = 1;
      // Never more replacements, nor new instances, than the next checkpoint asks for. An instance is
      // replaced once its old one is gone; launched ahead (MaxHealthyPercentage), it is new already.
      const checkpoint = this.nextCheckpoint(refresh);
      const allowed = checkpoint === undefined ? undefined : Math.ceil((this.desired * checkpoint) / 100);
      if (allowed !== undefined) terminations = Math.min(terminations, allowed - (this.desired - old.length));
      const victims = old
        .filter((instance) => instance.state === 'InService')
        .sort((a, b) => a.launchedAt - b.launchedAt)
        .slice(0, Math.max(0, terminations));
      // Launch ahead only for old instances that remain: no extra instance once the last one goes.
      let surge = Math.min(headroom, old.length - victims.length);
      if (allowed !== undefined) {
        const moreNew = allowed - (alive.length - old.length);
        surge = Math.min(surge, Math.max(0, alive.length - victims.length + moreNew - this.desired));
      }
      this.surge = surge;
      const now = isoTime(this.clock.now);
      for (const victim of victims)
        this.terminate(
          victim,
          `At ${now} an instance was taken out of service in response to an instance refresh.  At ${now} instance ${victim.id} was selected for termination.`,
        );
      this.maintain();
    }
    this.clock.after(REFRESH_CHECK_SECONDS, () => this.refreshStep());
  }

  /** PercentageComplete and InstancesToUpdate; progress is a growing share of new, ready instances. */
  private measureProgress(
    refresh: RefreshState,
    alive: AsgInstance[],
    old: AsgInstance[],
    ready: (instance: AsgInstance) => boolean,
  ): void {
    const fresh = alive.filter((instance) => ready(instance) && !old.includes(instance)).length;
    const percentage = this.desired === 0 ? 100 : Math.min(100, Math.floor((100 * fresh) / this.desired));
    if (percentage > refresh.percentageComplete) refresh.lastProgressAt = this.clock.now;
    refresh.percentageComplete = percentage;
    refresh.instancesToUpdate = old.length;
  }

  /** The checkpoint the refresh works towards; none in a rollback, or past the last one. */
  private nextCheckpoint(refresh: RefreshState): number | undefined {
    if (refresh.status !== 'InProgress') return undefined;
    return refresh.spec.checkpointPercentages?.[refresh.checkpointsReached];
  }

  /** Whether the refresh holds still at a checkpoint: reached now, or its delay not yet over. */
  private atCheckpoint(refresh: RefreshState): boolean {
    const now = this.clock.now;
    if (refresh.waitingUntil !== undefined) {
      if (now < refresh.waitingUntil) return true;
      refresh.waitingUntil = undefined;
      refresh.statusReason = undefined;
      refresh.lastProgressAt = now; // the stall clock starts again after the pause
      const checkpoints = refresh.spec.checkpointPercentages ?? [];
      // After the last checkpoint below 100, the refresh is over: the rest keep their configuration.
      if (refresh.checkpointsReached >= checkpoints.length) {
        this.finishRefresh(refresh);
        return true;
      }
    }
    const checkpoint = this.nextCheckpoint(refresh);
    if (checkpoint === undefined || checkpoint === 100 || refresh.percentageComplete < checkpoint)
      return false;
    refresh.checkpointsReached++;
    refresh.waitingUntil = now + (refresh.spec.checkpointDelay ?? DEFAULT_CHECKPOINT_DELAY);
    refresh.statusReason = `Waiting at checkpoint ${checkpoint}% until ${isoTime(refresh.waitingUntil)}.`;
    return true;
  }

  private finishRefresh(refresh: RefreshState): void {
    this.surge = 0;
    refresh.endedAt = this.clock.now;
    if (refresh.status === 'RollbackInProgress') {
      refresh.status = 'RollbackSuccessful';
      return;
    }
    refresh.status = 'Successful';
    const desired = refresh.spec.desiredConfiguration?.launchTemplate;
    // The group refers to the desired configuration from now on.
    if (desired !== undefined && this.template !== undefined) {
      this.template = {
        ec2: this.template.ec2,
        spec: {
          launchTemplateId: refresh.desired.launchTemplate?.id,
          launchTemplateName: refresh.desired.launchTemplate?.name,
          version: desired.version ?? '$Default',
        },
      };
    }
  }

  /** The refresh fails; with AutoRollback it rolls back instead. A failed rollback is RollbackFailed. */
  private refreshFailed(refresh: RefreshState, reason: string): void {
    this.surge = 0;
    if (refresh.status === 'InProgress' && refresh.spec.autoRollback) {
      this.startRollback(refresh, `${reason} Rolling back.`);
      return;
    }
    refresh.status = refresh.status === 'RollbackInProgress' ? 'RollbackFailed' : 'Failed';
    refresh.statusReason = reason;
    refresh.endedAt = this.clock.now;
  }

  private startRollback(refresh: RefreshState, reason: string): void {
    const now = this.clock.now;
    refresh.rollbackDetails = {
      reason,
      startedAt: now,
      percentageCompleteOnRollback: refresh.percentageComplete,
      instancesToUpdateOnRollback: refresh.instancesToUpdate,
    };
    refresh.status = 'RollbackInProgress';
    refresh.statusReason = reason;
    refresh.target = refresh.previous;
    refresh.phaseStartedAt = now;
    refresh.lastProgressAt = now;
    refresh.percentageComplete = 0;
    refresh.waitingUntil = undefined;
    this.surge = 0;
  }

  /** A cancelled refresh ends once no launch or termination it started is still in flight. */
  private cancelStep(refresh: RefreshState): void {
    const inFlight = [...this.instances.values()].some(
      (instance) => instance.state.startsWith('Pending') || instance.state.startsWith('Terminating'),
    );
    if (!inFlight) {
      refresh.status = 'Cancelled';
      refresh.endedAt = this.clock.now;
      return;
    }
    this.clock.after(REFRESH_CHECK_SECONDS, () => this.refreshStep());
  }
}

/** Eight hex digits from a name (FNV-1a): refresh ids of different groups differ. */
function hash8(text: string): string {
  let hash = 0x811c9dc5;
  for (let n = 0; n < text.length; n++) hash = Math.imul(hash ^ text.charCodeAt(n), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
