import type { Clock, Random } from './clock';
import { sizeOf, type TaskDefinition, TaskDefinitions } from './task-definitions';

/**
 * A model of the parts of Amazon ECS on EC2 that draining touches, following the ECS developer guide:
 * - replica services replace tasks of DRAINING instances within minimumHealthyPercent / maximumPercent,
 *   on every change that may allow it and in a periodic pass (the scheduler also looks on its own:
 *   a task told to stop on a disconnected agent never reports, yet its service must not wait for it);
 * - daemon services run one task per ACTIVE instance and stop it last, after the replica tasks;
 * - standalone tasks are never moved by draining;
 * - stopping takes time (deregistration delay, stop timeout) and passes through DEACTIVATING and
 *   STOPPING before STOPPED; runningTasksCount counts desired status RUNNING, so stopping tasks
 *   drop out of it before they have stopped;
 * - the read API is eventually consistent: with `readLagSeconds`, DescribeTasks, ListTasks,
 *   DescribeContainerInstances and ListContainerInstances answer from the state as it was that long
 *   ago, while task events leave at the moment of the change and writes act on the current state;
 * - the agent reports what happens on its host: while it is disconnected nothing is placed there and
 *   no task there progresses; a terminated EC2 instance disconnects at once, and ECS notices it
 *   `ec2NoticeSeconds` later (tasks STOPPED with TerminationNotice, container instance INACTIVE);
 * - a service runs the task definition of its PRIMARY deployment; UpdateService with another revision
 *   (or forceNewDeployment) starts a new PRIMARY deployment, and the same scheduler pass that replaces
 *   tasks of DRAINING instances replaces the older deployments' tasks, within minimumHealthyPercent and
 *   maximumPercent. The deployment COMPLETES (the older ones are removed, "reached a steady state")
 *   once desiredCount of its tasks are healthy and no older task is left;
 * - a task whose image crashes (TaskDefinitions.imageCrashes) stops a few seconds after RUNNING with
 *   EssentialContainerExited and counts in its deployment's failedTasks; the deployment circuit
 *   breaker, when enabled, fails the deployment at its threshold and, with rollback, deploys the last
 *   COMPLETED task definition again.
 */

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';

export interface ServiceSpec {
  name: string;
  /** Ignored for daemon services, which run one task per ACTIVE instance. */
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  cpu: number;
  memory: number;
  /** Seconds from RUNNING until the task passes its health checks. */
  startupSeconds: number;
  /** Seconds from the stop request to STOPPED: load balancer deregistration delay plus stop timeout. */
  stopSeconds: number;
  /** A static host port: at most one task of the service per instance. */
  staticHostPort?: boolean;
  daemon?: boolean;
  /**
   * ECS's deployment circuit breaker. Absent: off (enable and rollback false), as CreateService
   * leaves it when the request does not set it (the console turns it on; the API does not).
   */
  deploymentCircuitBreaker?: DeploymentCircuitBreaker;
}

export interface DeploymentCircuitBreaker {
  enable: boolean;
  rollback: boolean;
}

/**
 * Failed tasks at which the circuit breaker fails a deployment (ECS developer guide, deployment
 * circuit breaker): half the desired count, at least 3, at most 200.
 */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

export const CIRCUIT_BREAKER_REASON = 'ECS deployment circuit breaker: tasks failed to start.';

export interface StandaloneTaskSpec {
  family: string;
  cpu: number;
  memory: number;
  count: number;
  /** Seconds until the task exits by itself; absent: it runs until stopped. */
  runSeconds?: number;
}

export type TaskStatus = 'PENDING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';

export interface EcsOptions {
  /**
   * Seconds by which the read API (DescribeTasks, ListTasks, DescribeContainerInstances,
   * ListContainerInstances) lags the real state. Default 0: reads are current.
   */
  readLagSeconds?: number;
  /**
   * Seconds from the termination of an EC2 instance until ECS notices it, stops its tasks and
   * deregisters the container instance. The agent disconnects at once. 0: ECS notices at once.
   */
  ec2NoticeSeconds?: number;
  /** The account's task definitions, shared by its clusters; absent: a registry of this cluster's own. */
  taskDefinitions?: TaskDefinitions;
}

/** Default EcsOptions.ec2NoticeSeconds: ECS learns of a terminated host within about a minute. */
export const DEFAULT_EC2_NOTICE_SECONDS = 45;

/** How often the service scheduler looks at every service on its own (ECS publishes no figure). */
export const SCHEDULER_PASS_SECONDS = 30;

/** The fields of a task that change over its life: what a read returns (TaskState of some moment). */
export interface TaskState {
  readonly version: number;
  readonly lastStatus: TaskStatus;
  readonly desiredStatus: 'RUNNING' | 'STOPPED';
  readonly startedAt?: number;
  readonly stoppingAt?: number;
  readonly stoppedAt?: number;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
}

/** The fields of a container instance that change over its life, as a read returns them. */
export interface ContainerInstanceState {
  readonly version: number;
  readonly status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  readonly agentConnected: boolean;
  /** Custom attributes (PutAttributes), by name. */
  readonly attributes: ReadonlyMap<string, string>;
}

/** Task counts and resources in use on a container instance, as the read API sees them. */
export interface ReadableUsage {
  running: number;
  pending: number;
  cpu: number;
  memory: number;
}

export class Task implements TaskState {
  version = 1;
  lastStatus: TaskStatus = 'PENDING';
  desiredStatus: 'RUNNING' | 'STOPPED' = 'RUNNING';
  healthy = false;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  /** The task as the read API sees it: readLagSeconds behind; undefined until its creation is readable. */
  readable?: TaskState;
  /** The task definition it runs (its containers' names and images). */
  definition?: TaskDefinition;
  /** The service deployment that started it. */
  deployment?: Deployment;

  constructor(
    readonly arn: string,
    readonly host: ContainerInstance,
    readonly group: string,
    readonly startedBy: string | undefined,
    readonly taskDefinitionArn: string,
    readonly cpu: number,
    readonly memory: number,
    readonly createdAt: number,
    readonly service: Service | undefined,
  ) {}

  get daemon(): boolean {
    return this.service?.spec.daemon === true;
  }
}

export class ContainerInstance implements ContainerInstanceState {
  version = 1;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE' = 'ACTIVE';
  agentConnected = true;
  readonly attributes = new Map<string, string>();
  /** The instance as the read API sees it; undefined until its registration is readable. */
  readable?: ContainerInstanceState;
  /**
   * Counts and resources in use according to the readable states of its tasks. Resources as ECS
   * advertises them (remainingResources): a task told to stop no longer counts, though it still runs
   * until STOPPED (containers-roadmap#575); placement here goes by what the host really holds
   * (freeCpu, freeMemory), where ECS would place and the agent hold the new task PENDING until then.
   */
  readonly readableUsage: ReadableUsage = { running: 0, pending: 0, cpu: 0, memory: 0 };
  /** When its EC2 instance went away (ECS may not have noticed yet). */
  ec2TerminatedAt?: number;
  /** What the agent would report while disconnected, delivered in order when it reconnects. */
  readonly heldReports: (() => void)[] = [];
  /** Tasks not yet STOPPED. */
  readonly tasks = new Set<Task>();
  /** Every task placed here that ECS still reports, STOPPED ones included (ListTasks). */
  readonly history = new Set<Task>();
  /** Non-STOPPED tasks per service name, for spread placement and static host ports. */
  readonly serviceTasks = new Map<string, number>();
  /**
   * The attributes ECS itself gives the instance when its agent registers it (`ecs.` names, not
   * counted against the ten custom ones): `ecs.ami-id` is the AMI its EC2 instance booted from.
   */
  readonly providedAttributes: ReadonlyMap<string, string>;
  /** What the host really holds free: a task's resources come back when it reaches STOPPED. */
  freeCpu: number;
  freeMemory: number;
  deregisteredAt?: number;

  constructor(
    readonly arn: string,
    readonly ec2InstanceId: string,
    readonly cpu: number,
    readonly memory: number,
    readonly amiId: string,
    readonly registeredAt: number,
  ) {
    this.freeCpu = cpu;
    this.freeMemory = memory;
    this.providedAttributes = new Map([
      ['ecs.ami-id', amiId],
      ['ecs.availability-zone', `${REGION}a`],
    ]);
  }

  /** remainingResources as ECS reports it now: the resources of tasks told to stop are advertised as free. */
  advertisedFree(): { cpu: number; memory: number } {
    let cpu = this.cpu;
    let memory = this.memory;
    for (const task of this.tasks)
      if (task.desiredStatus === 'RUNNING') {
        cpu -= task.cpu;
        memory -= task.memory;
      }
    return { cpu, memory };
  }

  /** Every attribute as `state` shows it: ECS's own, then the custom ones (PutAttributes). */
  attributesAt(state: ContainerInstanceState = this): Map<string, string> {
    return new Map([...this.providedAttributes, ...state.attributes]);
  }

  /** As ECS defines it: tasks whose desired status is RUNNING, whatever their last status. */
  get runningTasksCount(): number {
    let count = 0;
    for (const task of this.tasks) if (task.desiredStatus === 'RUNNING') count++;
    return count;
  }

  /** Tasks whose last status is PENDING. */
  get pendingTasksCount(): number {
    let count = 0;
    for (const task of this.tasks) if (task.lastStatus === 'PENDING') count++;
    return count;
  }
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** A service deployment: one task definition rolled out to the service (DescribeServices deployments[]). */
export class Deployment {
  status: 'PRIMARY' | 'ACTIVE' = 'PRIMARY';
  failedTasks = 0;
  rolloutState: RolloutState = 'IN_PROGRESS';
  rolloutStateReason: string;
  updatedAt: number;
  constructor(
    readonly id: string,
    readonly taskDefinition: TaskDefinition,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
    this.rolloutStateReason = `ECS deployment ${id} in progress.`;
  }
}

/** A service event (DescribeServices events[]); createdAt in simulated seconds. */
export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

/** ECS keeps a service's 100 most recent events. */
const SERVICE_EVENTS_KEPT = 100;

export class Service {
  readonly tasks = new Set<Task>();
  healthyCount = 0;
  reconcileQueued = false;
  /** The PRIMARY deployment first, then the ACTIVE ones whose tasks are being replaced, newest first. */
  deployments: Deployment[];
  /** Newest first. */
  readonly events: ServiceEvent[] = [];
  /** The last deployment that COMPLETED: where the circuit breaker rolls back to. */
  lastCompleted?: Deployment;
  constructor(
    readonly spec: ServiceSpec,
    readonly arn: string,
    first: Deployment,
  ) {
    this.deployments = [first];
  }

  get primary(): Deployment {
    return this.deployments[0] as Deployment;
  }

  /** The PRIMARY deployment's id: the `startedBy` of the tasks it starts. */
  get deploymentId(): string {
    return this.primary.id;
  }

  get floor(): number {
    return this.spec.daemon ? 0 : Math.ceil((this.spec.desiredCount * this.spec.minimumHealthyPercent) / 100);
  }
}

export interface EcsObserver {
  taskChanged(task: Task): void;
  serviceHealthChanged(service: Service): void;
  /**
   * A container instance registered, changed status (ACTIVE, DRAINING, INACTIVE), its agent
   * connected or disconnected, or a task was placed on it, told to stop, or stopped there (resource
   * changes, aws-semantics §4.2): what ECS sends as an "ECS Container Instance State Change" event,
   * at the moment of the change, with the instance's new version.
   */
  containerInstanceChanged?(instance: ContainerInstance): void;
}

/** Seconds a task spends pulling its image before RUNNING. */
const PULL_SECONDS: [number, number] = [4, 12];
/** Seconds a task of a crashing image stays RUNNING before its essential container exits. */
const CRASH_SECONDS: [number, number] = [2, 6];
/** Share of stopSeconds spent deregistering from the load balancer (DEACTIVATING) before SIGTERM. */
const DEACTIVATING_SHARE = 0.8;
/** How long ECS keeps stopped tasks and deregistered instances visible to Describe*. */
const RETENTION_SECONDS = 3600;

/** Custom attributes per resource (ECS service quotas). */
export const CUSTOM_ATTRIBUTES_MAX = 10;

export class AttributeLimitError extends Error {
  override name = 'AttributeLimitExceededException';
}

export class EcsModel {
  readonly clusterArn: string;
  readonly instances = new Map<string, ContainerInstance>();
  readonly tasks = new Map<string, Task>();
  readonly services = new Map<string, Service>();
  /** See EcsOptions. Changing it during a run takes effect for the changes that follow. */
  readLagSeconds: number;
  /** See EcsOptions. */
  ec2NoticeSeconds: number;
  /** See EcsOptions. */
  readonly taskDefinitions: TaskDefinitions;
  private serviceEventCount = 0;
  private readonly byEc2 = new Map<string, ContainerInstance[]>();
  private readonly activeOrder: ContainerInstance[] = [];

  constructor(
    readonly clusterName: string,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly observer: EcsObserver,
    options: EcsOptions = {},
  ) {
    this.clusterArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${clusterName}`;
    this.readLagSeconds = options.readLagSeconds ?? 0;
    this.ec2NoticeSeconds = options.ec2NoticeSeconds ?? DEFAULT_EC2_NOTICE_SECONDS;
    this.taskDefinitions = options.taskDefinitions ?? new TaskDefinitions(() => clock.now);
  }

  // ---- cluster membership -------------------------------------------------------------------

  /** The ECS agent on a booted EC2 instance registers it; daemons start there first. */
  registerContainerInstance(
    ec2InstanceId: string,
    cpu: number,
    memory: number,
    amiId: string,
  ): ContainerInstance {
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${this.clusterName}/${this.random.hex(32)}`;
    const instance = new ContainerInstance(arn, ec2InstanceId, cpu, memory, amiId, this.clock.now);
    this.instances.set(arn, instance);
    this.byEc2.set(ec2InstanceId, [...(this.byEc2.get(ec2InstanceId) ?? []), instance]);
    this.activeOrder.push(instance);
    this.instanceChanged(instance);
    for (const service of this.services.values()) {
      if (service.spec.daemon) this.startDaemonTask(service, instance);
    }
    this.reconcileAll();
    return instance;
  }

  /**
   * The EC2 instance is gone. Its agent disconnects at once and its tasks lose their health checks;
   * ECS notices ec2NoticeSeconds later: every task on it STOPPED (TerminationNotice), the container
   * instance INACTIVE and no longer listed, though still describable for an hour.
   */
  ec2InstanceTerminated(ec2InstanceId: string): void {
    const gone = this.containerInstancesOf(ec2InstanceId).filter(
      (instance) => instance.status !== 'INACTIVE' && instance.ec2TerminatedAt === undefined,
    );
    for (const instance of gone) {
      instance.ec2TerminatedAt = this.clock.now;
      // Nothing the agent held back will ever be reported.
      instance.heldReports.length = 0;
      for (const task of instance.tasks) this.loseHealth(task);
      this.setAgentConnected(instance, false);
    }
    const notice = () => this.noticeTermination(ec2InstanceId, gone);
    if (this.ec2NoticeSeconds > 0) this.clock.after(this.ec2NoticeSeconds, notice);
    else notice();
  }

  private noticeTermination(ec2InstanceId: string, gone: ContainerInstance[]): void {
    for (const instance of gone) {
      if (instance.status === 'INACTIVE') continue;
      instance.status = 'INACTIVE';
      instance.deregisteredAt = this.clock.now;
      instance.version++;
      this.instanceChanged(instance);
      for (const task of [...instance.tasks]) {
        this.markStopped(task, 'TerminationNotice', `Host EC2 (instance ${ec2InstanceId}) terminated.`);
      }
      this.clock.after(RETENTION_SECONDS + this.readLagSeconds, () => {
        this.instances.delete(instance.arn);
      });
    }
    const left = this.containerInstancesOf(ec2InstanceId).filter((instance) => !gone.includes(instance));
    if (left.length > 0) this.byEc2.set(ec2InstanceId, left);
    else this.byEc2.delete(ec2InstanceId);
    const remaining = this.activeOrder.filter((instance) => !gone.includes(instance));
    this.activeOrder.splice(0, this.activeOrder.length, ...remaining);
    this.reconcileAll();
  }

  /**
   * The agent loses its connection (as it does several times an hour, or when the host is stopped):
   * the instance keeps its status, nothing is placed on it, and its tasks do not progress.
   */
  disconnectAgent(ec2InstanceId: string): void {
    for (const instance of this.containerInstancesOf(ec2InstanceId)) {
      if (instance.status !== 'INACTIVE') this.setAgentConnected(instance, false);
    }
  }

  /** The agent connects again and reports what it held back; nothing happens if the host is gone. */
  reconnectAgent(ec2InstanceId: string): void {
    for (const instance of this.containerInstancesOf(ec2InstanceId)) {
      if (instance.status === 'INACTIVE' || instance.ec2TerminatedAt !== undefined) continue;
      if (instance.agentConnected) continue;
      this.setAgentConnected(instance, true);
      for (const report of instance.heldReports.splice(0)) report();
      for (const service of this.services.values()) {
        if (service.spec.daemon) this.startDaemonTask(service, instance);
      }
    }
    this.reconcileAll();
  }

  private setAgentConnected(instance: ContainerInstance, connected: boolean): void {
    if (instance.agentConnected === connected) return;
    instance.agentConnected = connected;
    instance.version++;
    this.instanceChanged(instance);
  }

  /** A change only the agent can report: carried out now, or held until the agent reconnects. */
  private byAgent(task: Task, report: () => void): void {
    const host = task.host;
    if (host.agentConnected) report();
    else if (host.ec2TerminatedAt === undefined) host.heldReports.push(report);
  }

  containerInstancesOf(ec2InstanceId: string): ContainerInstance[] {
    return this.byEc2.get(ec2InstanceId) ?? [];
  }

  /** UpdateContainerInstancesState: only ACTIVE <-> DRAINING; others come back in failures. */
  updateContainerInstancesState(
    refs: string[],
    status: 'ACTIVE' | 'DRAINING',
  ): { updated: ContainerInstance[]; failures: { arn: string; reason: string }[] } {
    const updated: ContainerInstance[] = [];
    const failures: { arn: string; reason: string }[] = [];
    for (const ref of refs) {
      const instance = this.findInstance(ref);
      if (instance === undefined || instance.status === 'INACTIVE') {
        failures.push({ arn: this.qualify(ref), reason: 'MISSING' });
        continue;
      }
      if (instance.status !== status) {
        instance.status = status;
        instance.version++;
        this.instanceChanged(instance);
        if (status === 'DRAINING') this.startDraining(instance);
        else {
          // The daemon scheduler places one task on every ACTIVE instance, one set ACTIVE again too.
          for (const service of this.services.values())
            if (service.spec.daemon) this.startDaemonTask(service, instance);
          this.reconcileAll();
        }
      }
      updated.push(instance);
    }
    return { updated, failures };
  }

  private startDraining(instance: ContainerInstance): void {
    for (const task of [...instance.tasks]) {
      // Service tasks that have not started yet are stopped at once.
      if (task.service && !task.daemon && task.lastStatus === 'PENDING') {
        this.stopTask(task, 'ServiceSchedulerInitiated', this.drainReason(task));
      }
    }
    for (const service of this.services.values()) {
      if (!service.spec.daemon && service.tasks.size > 0) this.scheduleReconcile(service);
    }
    this.stopDaemonsWhenReplicasGone(instance);
  }

  /**
   * PutAttributes on a container instance: a custom attribute, readable after the read lag. ECS
   * allows ten custom attributes per resource: an eleventh throws AttributeLimitExceededException.
   */
  putAttribute(ref: string, name: string, value: string): ContainerInstance | undefined {
    const instance = this.findInstance(ref);
    if (instance === undefined) return undefined;
    if (!instance.attributes.has(name) && instance.attributes.size >= CUSTOM_ATTRIBUTES_MAX) {
      throw new AttributeLimitError(`${instance.arn} already has ${CUSTOM_ATTRIBUTES_MAX} custom attributes`);
    }
    instance.attributes.set(name, value);
    this.publishInstance(instance);
    return instance;
  }

  /** The container instance as writes see it: the current state. */
  findInstance(ref: string): ContainerInstance | undefined {
    return this.instances.get(this.qualify(ref));
  }

  private qualify(ref: string): string {
    return ref.startsWith('arn:')
      ? ref
      : `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${this.clusterName}/${ref}`;
  }

  findTask(ref: string): Task | undefined {
    return this.tasks.get(
      ref.startsWith('arn:') ? ref : `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${this.clusterName}/${ref}`,
    );
  }

  // ---- what reads see ------------------------------------------------------------------------

  /**
   * Every change to a task or container instance publishes its new state, which reads see
   * readLagSeconds later. States become readable in the order of the changes; the usage counts of
   * the host follow the readable task states, so a lagged DescribeContainerInstances agrees with
   * a lagged DescribeTasks. O(1) per change.
   */
  private publishTask(task: Task): void {
    const state: TaskState = {
      version: task.version,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      startedAt: task.startedAt,
      stoppingAt: task.stoppingAt,
      stoppedAt: task.stoppedAt,
      stopCode: task.stopCode,
      stoppedReason: task.stoppedReason,
    };
    this.whenReadable(() => this.applyTaskState(task, state));
  }

  private applyTaskState(task: Task, state: TaskState): void {
    const previous = task.readable;
    // A lag shortened during a run must not let an older state overwrite a newer one.
    if (previous !== undefined && previous.version > state.version) return;
    const usage = task.host.readableUsage;
    if (previous !== undefined) countUsage(usage, task, previous, -1);
    countUsage(usage, task, state, 1);
    task.readable = state;
  }

  /** A change ECS reports as an event: sent now, readable readLagSeconds later. */
  private instanceChanged(instance: ContainerInstance): void {
    this.publishInstance(instance);
    this.observer.containerInstanceChanged?.(instance);
  }

  /** A task placed, told to stop or stopped: the host's counts and resources changed, and ECS says so. */
  private resourcesChanged(host: ContainerInstance): void {
    host.version++;
    this.instanceChanged(host);
  }

  private publishInstance(instance: ContainerInstance): void {
    const state: ContainerInstanceState = {
      version: instance.version,
      status: instance.status,
      agentConnected: instance.agentConnected,
      attributes: new Map(instance.attributes),
    };
    this.whenReadable(() => {
      if ((instance.readable?.version ?? 0) <= state.version) instance.readable = state;
    });
  }

  private whenReadable(apply: () => void): void {
    if (this.readLagSeconds > 0) this.clock.after(this.readLagSeconds, apply);
    else apply();
  }

  // ---- services and tasks --------------------------------------------------------------------

  createService(spec: ServiceSpec): Service {
    this.startPeriodicPass();
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${this.clusterName}/${spec.name}`;
    const definition = this.taskDefinitions.ensure(spec.name, spec.cpu, spec.memory, spec.staticHostPort);
    // A copy: UpdateService changes the service's settings, not the scenario's.
    const service = new Service({ ...spec }, arn, this.newDeployment(definition));
    this.services.set(spec.name, service);
    if (spec.daemon) {
      for (const instance of this.activeOrder) this.startDaemonTask(service, instance);
    } else {
      this.scheduleReconcile(service);
    }
    return service;
  }

  /** RunTask: standalone tasks, placed by binpacking; draining never moves them. */
  runStandaloneTasks(spec: StandaloneTaskSpec): Task[] {
    const started: Task[] = [];
    for (let n = 0; n < spec.count; n++) {
      const host = this.place(spec.cpu, spec.memory, undefined);
      if (host === undefined) break;
      const definition = this.taskDefinitions.ensure(spec.family, spec.cpu, spec.memory);
      const task = this.startTask(
        host,
        `family:${spec.family}`,
        undefined,
        definition,
        spec.cpu,
        spec.memory,
      );
      if (spec.runSeconds !== undefined) {
        const runSeconds = spec.runSeconds;
        this.clock.after(runSeconds, () =>
          this.byAgent(task, () =>
            this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited'),
          ),
        );
      }
      started.push(task);
    }
    return started;
  }

  private startTask(
    host: ContainerInstance,
    group: string,
    service: Service | undefined,
    definition: TaskDefinition,
    cpu: number,
    memory: number,
  ): Task {
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${this.clusterName}/${this.random.hex(32)}`;
    const task = new Task(
      arn,
      host,
      group,
      service?.deploymentId,
      definition.taskDefinitionArn,
      cpu,
      memory,
      this.clock.now,
      service,
    );
    task.definition = definition;
    task.deployment = service?.primary;
    this.tasks.set(arn, task);
    host.tasks.add(task);
    host.history.add(task);
    host.freeCpu -= cpu;
    host.freeMemory -= memory;
    if (service) {
      service.tasks.add(task);
      host.serviceTasks.set(service.spec.name, (host.serviceTasks.get(service.spec.name) ?? 0) + 1);
    }
    this.publishTask(task);
    this.observer.taskChanged(task);
    this.resourcesChanged(host);
    this.clock.after(this.random.between(...PULL_SECONDS), () =>
      this.byAgent(task, () => this.taskStarted(task)),
    );
    return task;
  }

  private taskStarted(task: Task): void {
    if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
    task.lastStatus = 'RUNNING';
    task.startedAt = this.clock.now;
    this.changed(task);
    if (task.definition !== undefined && this.taskDefinitions.crashes(task.definition)) {
      this.clock.after(this.random.between(...CRASH_SECONDS), () =>
        this.byAgent(task, () => this.taskCrashed(task)),
      );
      return; // it never passes its health checks
    }
    const startup = task.service?.spec.startupSeconds ?? 0;
    this.clock.after(startup, () => this.taskHealthy(task));
  }

  private taskHealthy(task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    if (task.host.ec2TerminatedAt !== undefined) return;
    task.healthy = true;
    if (task.service) {
      task.service.healthyCount++;
      this.observer.serviceHealthChanged(task.service);
      this.scheduleReconcile(task.service);
      if (task.daemon) this.settleRollout(task.service);
    }
  }

  /** The essential container exited: the task stops, and counts against its deployment. */
  private taskCrashed(task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    const { service, deployment } = task;
    if (deployment !== undefined) {
      deployment.failedTasks++;
      deployment.updatedAt = this.clock.now;
    }
    this.markStopped(task, 'EssentialContainerExited', 'Essential container in task exited');
    if (service !== undefined && deployment !== undefined) this.tripCircuitBreaker(service, deployment);
  }

  /**
   * StopTask, or the scheduler stopping a task: ECS records the desired status at once; the agent
   * then deregisters it, sends SIGTERM, waits the stop timeout and reports STOPPED. An agent that
   * is disconnected learns of the stop only when it reconnects.
   */
  stopTask(task: Task, stopCode: string, reason: string): void {
    if (task.desiredStatus === 'STOPPED') return;
    this.loseHealth(task);
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = this.clock.now;
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    // ECS emits a task state change at once (desired STOPPED, last status unchanged), before the agent
    // acts, and the host's: runningTasksCount counts desired status RUNNING, so the task leaves it now.
    this.changed(task);
    this.resourcesChanged(task.host);
    this.byAgent(task, () => this.agentStops(task));
  }

  /** The agent carries out a stop: PENDING tasks stop within a second, others pass DEACTIVATING and STOPPING. */
  private agentStops(task: Task): void {
    if (task.lastStatus === 'PENDING') {
      this.clock.after(1, () => this.byAgent(task, () => this.markStopped(task)));
      return;
    }
    if (task.lastStatus !== 'RUNNING') return;
    const stopSeconds = task.service?.spec.stopSeconds ?? 5;
    task.lastStatus = 'DEACTIVATING';
    this.changed(task);
    this.clock.after(stopSeconds * DEACTIVATING_SHARE, () =>
      this.byAgent(task, () => {
        if (task.lastStatus !== 'DEACTIVATING') return;
        task.lastStatus = 'STOPPING';
        this.changed(task);
        this.clock.after(stopSeconds * (1 - DEACTIVATING_SHARE), () =>
          this.byAgent(task, () => this.markStopped(task)),
        );
      }),
    );
  }

  /** The task has stopped; the codes given apply only if it was not stopped with codes of its own. */
  private markStopped(task: Task, stopCode?: string, reason?: string): void {
    if (task.lastStatus === 'STOPPED') return;
    this.loseHealth(task);
    const host = task.host;
    if (task.desiredStatus === 'RUNNING') {
      task.desiredStatus = 'STOPPED';
      task.stoppingAt = this.clock.now;
    }
    task.lastStatus = 'STOPPED';
    task.stoppedAt = this.clock.now;
    task.stopCode ??= stopCode;
    task.stoppedReason ??= reason;
    host.tasks.delete(task);
    host.freeCpu += task.cpu;
    host.freeMemory += task.memory;
    if (task.service) {
      const name = task.service.spec.name;
      host.serviceTasks.set(name, (host.serviceTasks.get(name) ?? 1) - 1);
      task.service.tasks.delete(task);
    }
    this.changed(task);
    this.resourcesChanged(host);
    this.clock.after(RETENTION_SECONDS + this.readLagSeconds, () => {
      this.tasks.delete(task.arn);
      host.history.delete(task);
    });
    if (host.status === 'DRAINING') this.stopDaemonsWhenReplicasGone(host);
    if (task.service && !task.daemon) this.scheduleReconcile(task.service);
    else if (host.status === 'ACTIVE') this.reconcileAll(); // freed capacity may place waiting tasks
  }

  private loseHealth(task: Task): void {
    if (!task.healthy) return;
    task.healthy = false;
    if (task.service) {
      task.service.healthyCount--;
      this.observer.serviceHealthChanged(task.service);
    }
  }

  /** A task changed: its version grows, the event leaves now, reads see it readLagSeconds later. */
  private changed(task: Task): void {
    task.version++;
    this.publishTask(task);
    this.observer.taskChanged(task);
  }

  private drainReason(task: Task): string {
    return `Service ${task.service?.spec.name}: container instance is in DRAINING state`;
  }

  // ---- the service scheduler -----------------------------------------------------------------

  private passing = false;

  /** The service scheduler's own pass over every replica service, whatever happened meanwhile. */
  private startPeriodicPass(): void {
    if (this.passing) return;
    this.passing = true;
    const pass = (): void => {
      // A service below its floor is looked at again: room may have come (an instance registered,
      // capacity freed) without its health changing, and whoever measures it should know.
      for (const service of this.services.values()) {
        if (!service.spec.daemon && service.healthyCount < service.floor)
          this.observer.serviceHealthChanged(service);
      }
      this.reconcileAll();
      this.clock.after(SCHEDULER_PASS_SECONDS, pass);
    };
    this.clock.after(SCHEDULER_PASS_SECONDS, pass);
  }

  private reconcileAll(): void {
    for (const service of this.services.values()) {
      if (!service.spec.daemon) this.scheduleReconcile(service);
    }
  }

  private scheduleReconcile(service: Service): void {
    // The daemon scheduler places one task per ACTIVE instance and stops them last, on its own.
    if (service.spec.daemon || service.reconcileQueued) return;
    service.reconcileQueued = true;
    this.clock.after(1, () => {
      service.reconcileQueued = false;
      this.reconcile(service);
    });
  }

  /**
   * One pass of the replica scheduler. A task is replaced when it runs on a DRAINING instance or
   * belongs to an older deployment: replacements of the PRIMARY deployment start up to
   * maximumPercent, then replaced tasks stop as far as minimumHealthyPercent allows (unhealthy ones
   * first). A deployment the circuit breaker failed starts nothing and replaces nothing more.
   */
  private reconcile(service: Service): void {
    const { spec } = service;
    const primary = service.primary;
    const failed = primary.rolloutState === 'FAILED';
    const live = [...service.tasks].filter((task) => task.desiredStatus === 'RUNNING');
    const isReplaced = (task: Task) =>
      task.host.status === 'DRAINING' || (task.deployment !== primary && !failed);
    const replaced = live.filter(isReplaced);
    const kept = live.filter((task) => !isReplaced(task));
    const maxLive = Math.floor((spec.desiredCount * spec.maximumPercent) / 100);

    const toStart = failed
      ? 0
      : Math.max(0, Math.min(spec.desiredCount - kept.length, maxLive - live.length));
    const { cpu, memory } = this.taskSize(service);
    const started: Task[] = [];
    for (let n = 0; n < toStart; n++) {
      const host = this.place(cpu, memory, service);
      if (host === undefined) break; // no room: retried when capacity changes
      started.push(
        this.startTask(host, `service:${spec.name}`, service, primary.taskDefinition, cpu, memory),
      );
    }
    if (started.length > 0)
      this.serviceEvent(
        service,
        `(service ${spec.name}) has started ${started.length} tasks: ${started.map(taskLabel).join(' ')}.`,
      );

    // Fewer desired than kept (UpdateService lowered desiredCount): the surplus stops, minimum or not.
    const surplus = kept
      .sort((a, b) => Number(a.healthy) - Number(b.healthy))
      .slice(0, Math.max(0, kept.length - spec.desiredCount));
    for (const task of surplus) this.stopTask(task, 'ServiceSchedulerInitiated', this.deploymentReason(task));

    let stoppable = service.healthyCount - service.floor;
    const stopped: Task[] = [];
    for (const task of replaced.sort((a, b) => Number(a.healthy) - Number(b.healthy))) {
      if (task.healthy) {
        if (stoppable <= 0) break;
        stoppable--;
      }
      const draining = task.host.status === 'DRAINING';
      this.stopTask(
        task,
        'ServiceSchedulerInitiated',
        draining ? this.drainReason(task) : this.deploymentReason(task),
      );
      stopped.push(task);
    }
    if (stopped.length > 0)
      this.serviceEvent(
        service,
        `(service ${spec.name}) has stopped ${stopped.length} running tasks: ${stopped.map(taskLabel).join(' ')}.`,
      );
    this.settleRollout(service);
  }

  /** The size of the service's next task: its PRIMARY task definition's, else the service's own. */
  private taskSize(service: Service): { cpu: number; memory: number } {
    const definition = service.primary.taskDefinition;
    return {
      cpu: sizeOf(definition.cpu) ?? service.spec.cpu,
      memory: sizeOf(definition.memory) ?? service.spec.memory,
    };
  }

  private deploymentReason(task: Task): string {
    return `Scaling activity initiated by (deployment ${task.service?.deploymentId})`;
  }

  // ---- deployments ---------------------------------------------------------------------------

  private newDeployment(definition: TaskDefinition): Deployment {
    return new Deployment(`ecs-svc/${Math.floor(this.random.next() * 1e18)}`, definition, this.clock.now);
  }

  /**
   * UpdateService: the settings given change at once; another task definition, or
   * forceNewDeployment, starts a new PRIMARY deployment (the previous one becomes ACTIVE and its
   * tasks are replaced). Returns the new deployment, if any.
   */
  updateService(
    service: Service,
    update: {
      taskDefinition?: TaskDefinition;
      desiredCount?: number;
      forceNewDeployment?: boolean;
      minimumHealthyPercent?: number;
      maximumPercent?: number;
      deploymentCircuitBreaker?: DeploymentCircuitBreaker;
    },
  ): Deployment | undefined {
    const { spec } = service;
    if (update.desiredCount !== undefined) spec.desiredCount = update.desiredCount;
    if (update.minimumHealthyPercent !== undefined) spec.minimumHealthyPercent = update.minimumHealthyPercent;
    if (update.maximumPercent !== undefined) spec.maximumPercent = update.maximumPercent;
    if (update.deploymentCircuitBreaker !== undefined)
      spec.deploymentCircuitBreaker = { ...update.deploymentCircuitBreaker };
    const definition = update.taskDefinition ?? service.primary.taskDefinition;
    const deployment =
      definition !== service.primary.taskDefinition || update.forceNewDeployment === true
        ? this.deploy(service, definition)
        : undefined;
    this.scheduleReconcile(service);
    return deployment;
  }

  private deploy(service: Service, definition: TaskDefinition): Deployment {
    const deployment = this.newDeployment(definition);
    for (const previous of service.deployments) {
      previous.status = 'ACTIVE';
      previous.updatedAt = this.clock.now;
    }
    service.deployments = [deployment, ...service.deployments];
    return deployment;
  }

  /**
   * The circuit breaker: once the PRIMARY deployment's failed tasks reach the threshold, it FAILS;
   * with rollback, the last COMPLETED deployment's task definition is deployed again.
   */
  private tripCircuitBreaker(service: Service, deployment: Deployment): void {
    const breaker = service.spec.deploymentCircuitBreaker;
    if (breaker?.enable !== true || deployment !== service.primary) return;
    if (deployment.rolloutState !== 'IN_PROGRESS') return;
    if (deployment.failedTasks < circuitBreakerThreshold(service.spec.desiredCount)) return;
    const name = service.spec.name;
    deployment.rolloutState = 'FAILED';
    deployment.rolloutStateReason = CIRCUIT_BREAKER_REASON;
    deployment.updatedAt = this.clock.now;
    this.serviceEvent(
      service,
      `(service ${name}) (deployment ${deployment.id}) deployment failed: tasks failed to start.`,
    );
    const back = service.lastCompleted;
    if (breaker.rollback && back !== undefined) {
      const rollback = this.deploy(service, back.taskDefinition);
      rollback.rolloutStateReason = `ECS deployment circuit breaker: rolling back to deploymentId ${back.id}.`;
      this.serviceEvent(
        service,
        `(service ${name}) rolling back to deployment ${back.id} (${back.taskDefinition.family}:${back.taskDefinition.revision}).`,
      );
    }
    this.scheduleReconcile(service);
  }

  /**
   * The PRIMARY deployment completes once desiredCount of its tasks are healthy and no task of an
   * older deployment is left: the older deployments are removed, and the service reaches a steady state.
   */
  private settleRollout(service: Service): void {
    const primary = service.primary;
    if (primary.rolloutState !== 'IN_PROGRESS') return;
    let healthy = 0;
    for (const task of service.tasks) {
      if (task.deployment !== primary) return;
      if (task.healthy) healthy++;
    }
    const desired = service.spec.daemon ? Math.max(1, service.tasks.size) : service.spec.desiredCount;
    if (healthy < desired) return;
    primary.rolloutState = 'COMPLETED';
    primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
    primary.updatedAt = this.clock.now;
    service.deployments = [primary];
    service.lastCompleted = primary;
    this.serviceEvent(service, `(service ${service.spec.name}) has reached a steady state.`);
  }

  /** A service event, newest first; ids are counted, not drawn, so that events change no run. */
  private serviceEvent(service: Service, message: string): void {
    const n = ++this.serviceEventCount;
    const id = `${this.clusterName.length.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    service.events.unshift({ id, createdAt: this.clock.now, message });
    service.events.length = Math.min(service.events.length, SERVICE_EVENTS_KEPT);
  }

  private startDaemonTask(service: Service, host: ContainerInstance): void {
    if (host.status !== 'ACTIVE' || !host.agentConnected) return;
    if ((host.serviceTasks.get(service.spec.name) ?? 0) > 0) return;
    const { cpu, memory } = this.taskSize(service);
    if (host.freeCpu < cpu || host.freeMemory < memory) return;
    this.startTask(
      host,
      `service:${service.spec.name}`,
      service,
      service.primary.taskDefinition,
      cpu,
      memory,
    );
  }

  /** Daemon tasks stop last: once no replica service task on the draining instance is left. */
  private stopDaemonsWhenReplicasGone(host: ContainerInstance): void {
    const tasks = [...host.tasks];
    if (tasks.some((task) => task.service !== undefined && !task.daemon)) return;
    for (const task of tasks) {
      if (task.daemon) this.stopTask(task, 'ServiceSchedulerInitiated', this.drainReason(task));
    }
  }

  /** Whether an ACTIVE instance has room for one more task of the service right now. */
  hasRoomFor(service: Service): boolean {
    const { cpu, memory } = this.taskSize(service);
    return this.place(cpu, memory, service) !== undefined;
  }

  /** Spread by service over ACTIVE instances with room; a static host port allows one task per instance. */
  private place(cpu: number, memory: number, service: Service | undefined): ContainerInstance | undefined {
    let best: ContainerInstance | undefined;
    let bestCount = Number.POSITIVE_INFINITY;
    const name = service?.spec.name;
    for (const host of this.activeOrder) {
      if (host.status !== 'ACTIVE' || !host.agentConnected) continue;
      if (host.freeCpu < cpu || host.freeMemory < memory) continue;
      const count = name === undefined ? 0 : (host.serviceTasks.get(name) ?? 0);
      if (service?.spec.staticHostPort && count > 0) continue;
      if (
        count < bestCount ||
        (count === bestCount && best !== undefined && host.freeMemory > best.freeMemory)
      ) {
        best = host;
        bestCount = count;
      }
    }
    return best;
  }
}

/** Adds (sign 1) or removes (sign -1) what a task in `state` counts for on its host. */
function countUsage(usage: ReadableUsage, task: Task, state: TaskState, sign: 1 | -1): void {
  if (state.desiredStatus === 'RUNNING') usage.running += sign;
  if (state.lastStatus === 'PENDING') usage.pending += sign;
  // Advertised use: a task told to stop frees its resources at once (see ContainerInstance.readableUsage).
  if (state.desiredStatus === 'RUNNING' && state.lastStatus !== 'STOPPED') {
    usage.cpu += sign * task.cpu;
    usage.memory += sign * task.memory;
  }
}

/** `(task <id>)`, as service events name tasks. */
function taskLabel(task: Task): string {
  return `(task ${task.arn.slice(task.arn.lastIndexOf('/') + 1)})`;
}
