import { type Clock, isoTime, type Random } from './clock';
import type { Ec2Model, LaunchTemplateSpecification } from './ec2';
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

export interface RefreshSpec {
  amiId: string;
  minHealthyPercentage: number;
  /** Omitted: terminate and launch at the same time. */
  maxHealthyPercentage?: number;
  instanceWarmup: number;
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
}

export class AutoScalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface RefreshState {
  spec: RefreshSpec;
  status: 'InProgress' | 'Successful';
  startedAt: number;
  endedAt?: number;
}

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const REFRESH_CHECK_SECONDS = 5;

export class AutoScalingModel {
  readonly instances = new Map<string, AsgInstance>();
  /** Instances gone from the group that the describe calls still show (readLagSeconds). */
  private readonly lingering = new Map<string, AsgInstance>();
  readonly hooks = new Map<string, HookSpec>();
  desired: number;
  amiId: string;
  refresh?: RefreshState;
  /** Extra instances an instance refresh may launch before terminating (MaxHealthyPercentage > 100). */
  private surge = 0;
  private maintainQueued = false;
  private launched = 0;
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
  private launchConfiguration(): { amiId: string; launchTemplate?: InstanceLaunchTemplate } {
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
    for (let n = 0; n < this.desired; n++) {
      const instance = this.newInstance();
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
    this.desired = Math.max(this.spec.minSize, Math.min(this.spec.maxSize, desired));
    this.maintain();
  }

  startInstanceRefresh(spec: RefreshSpec): void {
    this.amiId = spec.amiId;
    this.refresh = { spec, status: 'InProgress', startedAt: this.clock.now };
    this.refreshStep();
  }

  /** EC2 terminates the instance first (console, Spot); the group notices later and runs its hooks. */
  terminateEc2Instance(instanceId: string, noticedAfter: number): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.ec2Gone) return;
    instance.ec2Gone = true;
    this.observer.ec2Terminated(instance);
    this.clock.after(noticedAfter, () => {
      if (instance.state === 'InService' || instance.state.startsWith('Pending')) this.terminate(instance);
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

  // ---- capacity ------------------------------------------------------------------------------

  private maintain(): void {
    if (this.maintainQueued) return;
    this.maintainQueued = true;
    this.clock.after(1, () => {
      this.maintainQueued = false;
      const alive = [...this.instances.values()].filter((instance) => instance.alive);
      const target = this.desired + this.surge;
      for (let n = alive.length; n < target; n++) this.launch();
      if (alive.length > target) {
        // Default termination policy, simplified: instances of an old AMI first, then the oldest.
        const current = this.currentAmiId;
        const victims = alive
          .filter((instance) => instance.state === 'InService')
          .sort(
            (a, b) =>
              Number(a.amiId === current) - Number(b.amiId === current) || a.launchedAt - b.launchedAt,
          )
          .slice(0, alive.length - target);
        for (const victim of victims) this.terminate(victim);
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

  private launch(): void {
    const instance = this.newInstance();
    this.changed(instance);
    this.clock.after(this.spec.bootSeconds, () => {
      if (!instance.ec2Gone && instance.state !== 'Terminated') this.observer.ec2Booted(instance);
    });
    this.clock.after(this.spec.healthySeconds, () => {
      if (instance.state === 'Pending') this.beginTransition(instance, 'autoscaling:EC2_INSTANCE_LAUNCHING');
    });
  }

  private terminate(instance: AsgInstance): void {
    if (!instance.alive) return;
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
      if (result === 'ABANDON') return this.terminate(instance);
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

  /**
   * One look at the refresh: launch ahead within MaxHealthyPercentage, terminate old instances as far
   * as MinHealthyPercentage allows; when neither bound can be met, replace one at a time. Instances
   * still waiting on a terminate hook are not healthy capacity, so the refresh never waits for drains.
   */
  private refreshStep(): void {
    const refresh = this.refresh;
    if (refresh === undefined || refresh.status !== 'InProgress') return;
    const { spec } = refresh;
    const alive = [...this.instances.values()].filter((instance) => instance.alive);
    const old = alive.filter((instance) => instance.amiId !== spec.amiId);
    const ready = (instance: AsgInstance) =>
      instance.state === 'InService' && this.clock.now >= (instance.inServiceAt ?? 0) + spec.instanceWarmup;

    if (old.length === 0) {
      this.surge = 0;
      if (alive.every(ready)) {
        refresh.status = 'Successful';
        refresh.endedAt = this.clock.now;
        return;
      }
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
      const victims = old
        .filter((instance) => instance.state === 'InService')
        .sort((a, b) => a.launchedAt - b.launchedAt)
        .slice(0, Math.max(0, terminations));
      // Launch ahead only for old instances that remain: no extra instance once the last one goes.
      this.surge = Math.min(headroom, old.length - victims.length);
      for (const victim of victims) this.terminate(victim);
      this.maintain();
    }
    this.clock.after(REFRESH_CHECK_SECONDS, () => this.refreshStep());
  }
}
