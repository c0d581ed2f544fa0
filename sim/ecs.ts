import type { Clock, Random } from './clock';

/**
 * A model of the parts of Amazon ECS on EC2 that draining touches, following the ECS developer guide:
 * - replica services replace tasks of DRAINING instances within minimumHealthyPercent / maximumPercent;
 * - daemon services run one task per ACTIVE instance and stop it last, after the replica tasks;
 * - standalone tasks are never moved by draining;
 * - stopping takes time (deregistration delay, stop timeout) and passes through DEACTIVATING and
 *   STOPPING before STOPPED; runningTasksCount counts desired status RUNNING, so stopping tasks
 *   drop out of it before they have stopped.
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
}

export interface StandaloneTaskSpec {
  family: string;
  cpu: number;
  memory: number;
  count: number;
  /** Seconds until the task exits by itself; absent: it runs until stopped. */
  runSeconds?: number;
}

export type TaskStatus = 'PENDING' | 'RUNNING' | 'DEACTIVATING' | 'STOPPING' | 'STOPPED';

export class Task {
  version = 1;
  lastStatus: TaskStatus = 'PENDING';
  desiredStatus: 'RUNNING' | 'STOPPED' = 'RUNNING';
  healthy = false;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;

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

export class ContainerInstance {
  version = 1;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE' = 'ACTIVE';
  agentConnected = true;
  /** Tasks not yet STOPPED. */
  readonly tasks = new Set<Task>();
  /** Every task placed here that ECS still reports, STOPPED ones included (ListTasks). */
  readonly history = new Set<Task>();
  /** Non-STOPPED tasks per service name, for spread placement and static host ports. */
  readonly serviceTasks = new Map<string, number>();
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

export class Service {
  readonly tasks = new Set<Task>();
  healthyCount = 0;
  reconcileQueued = false;
  constructor(
    readonly spec: ServiceSpec,
    readonly arn: string,
    readonly deploymentId: string,
  ) {}

  get floor(): number {
    return this.spec.daemon ? 0 : Math.ceil((this.spec.desiredCount * this.spec.minimumHealthyPercent) / 100);
  }
}

export interface EcsObserver {
  taskChanged(task: Task): void;
  serviceHealthChanged(service: Service): void;
}

/** Seconds a task spends pulling its image before RUNNING. */
const PULL_SECONDS: [number, number] = [4, 12];
/** Share of stopSeconds spent deregistering from the load balancer (DEACTIVATING) before SIGTERM. */
const DEACTIVATING_SHARE = 0.8;
/** How long ECS keeps stopped tasks and deregistered instances visible to Describe*. */
const RETENTION_SECONDS = 3600;

export class EcsModel {
  readonly clusterArn: string;
  readonly instances = new Map<string, ContainerInstance>();
  readonly tasks = new Map<string, Task>();
  readonly services = new Map<string, Service>();
  private readonly byEc2 = new Map<string, ContainerInstance[]>();
  private readonly activeOrder: ContainerInstance[] = [];

  constructor(
    readonly clusterName: string,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly observer: EcsObserver,
  ) {
    this.clusterArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${clusterName}`;
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
    for (const service of this.services.values()) {
      if (service.spec.daemon) this.startDaemonTask(service, instance);
    }
    this.reconcileAll();
    return instance;
  }

  /** The EC2 instance is gone: every task on it stops at once, the container instance is deregistered. */
  ec2InstanceTerminated(ec2InstanceId: string): void {
    for (const instance of this.byEc2.get(ec2InstanceId) ?? []) {
      if (instance.status === 'INACTIVE') continue;
      for (const task of [...instance.tasks]) {
        this.markStopped(task, 'TerminationNotice', `Host EC2 (instance ${ec2InstanceId}) terminated.`);
      }
      instance.status = 'INACTIVE';
      instance.agentConnected = false;
      instance.deregisteredAt = this.clock.now;
      instance.version++;
      this.clock.after(RETENTION_SECONDS, () => {
        this.instances.delete(instance.arn);
      });
    }
    this.byEc2.delete(ec2InstanceId);
    const remaining = this.activeOrder.filter((instance) => instance.ec2InstanceId !== ec2InstanceId);
    this.activeOrder.splice(0, this.activeOrder.length, ...remaining);
    this.reconcileAll();
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
        if (status === 'DRAINING') this.startDraining(instance);
        else this.reconcileAll();
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

  // ---- services and tasks --------------------------------------------------------------------

  createService(spec: ServiceSpec): Service {
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${this.clusterName}/${spec.name}`;
    const service = new Service(spec, arn, `ecs-svc/${Math.floor(this.random.next() * 1e18)}`);
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
      const task = this.startTask(
        host,
        `family:${spec.family}`,
        undefined,
        spec.family,
        spec.cpu,
        spec.memory,
      );
      if (spec.runSeconds !== undefined) {
        const runSeconds = spec.runSeconds;
        this.clock.after(runSeconds, () =>
          this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited'),
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
    family: string,
    cpu: number,
    memory: number,
  ): Task {
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${this.clusterName}/${this.random.hex(32)}`;
    const task = new Task(
      arn,
      host,
      group,
      service?.deploymentId,
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:1`,
      cpu,
      memory,
      this.clock.now,
      service,
    );
    this.tasks.set(arn, task);
    host.tasks.add(task);
    host.history.add(task);
    host.freeCpu -= cpu;
    host.freeMemory -= memory;
    if (service) {
      service.tasks.add(task);
      host.serviceTasks.set(service.spec.name, (host.serviceTasks.get(service.spec.name) ?? 0) + 1);
    }
    this.observer.taskChanged(task);
    this.clock.after(this.random.between(...PULL_SECONDS), () => this.taskStarted(task));
    return task;
  }

  private taskStarted(task: Task): void {
    if (task.lastStatus !== 'PENDING' || task.desiredStatus !== 'RUNNING') return;
    task.lastStatus = 'RUNNING';
    task.startedAt = this.clock.now;
    this.changed(task);
    const startup = task.service?.spec.startupSeconds ?? 0;
    this.clock.after(startup, () => this.taskHealthy(task));
  }

  private taskHealthy(task: Task): void {
    if (task.lastStatus !== 'RUNNING' || task.desiredStatus !== 'RUNNING') return;
    task.healthy = true;
    if (task.service) {
      task.service.healthyCount++;
      this.observer.serviceHealthChanged(task.service);
      this.scheduleReconcile(task.service);
    }
  }

  /** StopTask, or the scheduler stopping a task: deregistration, SIGTERM, stop timeout, STOPPED. */
  stopTask(task: Task, stopCode: string, reason: string): void {
    if (task.desiredStatus === 'STOPPED') return;
    this.loseHealth(task);
    task.desiredStatus = 'STOPPED';
    task.stoppingAt = this.clock.now;
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    if (task.lastStatus === 'PENDING') {
      task.version++;
      this.clock.after(1, () => this.markStopped(task, stopCode, reason));
      return;
    }
    const stopSeconds = task.service?.spec.stopSeconds ?? 5;
    task.lastStatus = 'DEACTIVATING';
    this.changed(task);
    this.clock.after(stopSeconds * DEACTIVATING_SHARE, () => {
      if (task.lastStatus !== 'DEACTIVATING') return;
      task.lastStatus = 'STOPPING';
      this.changed(task);
      this.clock.after(stopSeconds * (1 - DEACTIVATING_SHARE), () =>
        this.markStopped(task, stopCode, reason),
      );
    });
  }

  private markStopped(task: Task, stopCode: string, reason: string): void {
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
    this.clock.after(RETENTION_SECONDS, () => {
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

  private changed(task: Task): void {
    task.version++;
    this.observer.taskChanged(task);
  }

  private drainReason(task: Task): string {
    return `Service ${task.service?.spec.name}: container instance is in DRAINING state`;
  }

  // ---- the service scheduler -----------------------------------------------------------------

  private reconcileAll(): void {
    for (const service of this.services.values()) {
      if (!service.spec.daemon) this.scheduleReconcile(service);
    }
  }

  private scheduleReconcile(service: Service): void {
    if (service.reconcileQueued) return;
    service.reconcileQueued = true;
    this.clock.after(1, () => {
      service.reconcileQueued = false;
      this.reconcile(service);
    });
  }

  /**
   * One pass of the replica scheduler: start replacements for tasks on DRAINING instances (and for
   * tasks lost) up to maximumPercent, then stop draining tasks as far as minimumHealthyPercent allows.
   */
  private reconcile(service: Service): void {
    const { spec } = service;
    const live = [...service.tasks].filter((task) => task.desiredStatus === 'RUNNING');
    const onDraining = live.filter((task) => task.host.status === 'DRAINING');
    const elsewhere = live.length - onDraining.length;
    const maxLive = Math.floor((spec.desiredCount * spec.maximumPercent) / 100);

    const toStart = Math.max(0, Math.min(spec.desiredCount - elsewhere, maxLive - live.length));
    for (let n = 0; n < toStart; n++) {
      const host = this.place(spec.cpu, spec.memory, service);
      if (host === undefined) break; // no room: retried when capacity changes
      this.startTask(host, `service:${spec.name}`, service, spec.name, spec.cpu, spec.memory);
    }

    let stoppable = service.healthyCount - service.floor;
    for (const task of onDraining.sort((a, b) => Number(a.healthy) - Number(b.healthy))) {
      if (task.healthy) {
        if (stoppable <= 0) break;
        stoppable--;
      }
      this.stopTask(task, 'ServiceSchedulerInitiated', this.drainReason(task));
    }
  }

  private startDaemonTask(service: Service, host: ContainerInstance): void {
    if (host.status !== 'ACTIVE' || (host.serviceTasks.get(service.spec.name) ?? 0) > 0) return;
    if (host.freeCpu < service.spec.cpu || host.freeMemory < service.spec.memory) return;
    const { spec } = service;
    this.startTask(host, `service:${spec.name}`, service, spec.name, spec.cpu, spec.memory);
  }

  /** Daemon tasks stop last: once no replica service task on the draining instance is left. */
  private stopDaemonsWhenReplicasGone(host: ContainerInstance): void {
    const tasks = [...host.tasks];
    if (tasks.some((task) => task.service !== undefined && !task.daemon)) return;
    for (const task of tasks) {
      if (task.daemon) this.stopTask(task, 'ServiceSchedulerInitiated', this.drainReason(task));
    }
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
