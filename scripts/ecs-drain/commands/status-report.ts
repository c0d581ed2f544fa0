import { RUNNING_REFRESH_STATUSES } from '../../../shared/decisions/ami-watch';
import {
  type DrainProgress,
  drainStartOf,
  type TaskView,
  tasksStillStopping,
  tasksWantingToRun,
  whyNoProgress,
} from '../../../shared/decisions/host';
import type {
  ClusterRead,
  GroupRead,
  InstanceRead,
  RefreshRead,
  ServiceRead,
  TaskRead,
} from '../aws/fleet-reads';

/**
 * What `status` shows, from one read of the clusters and groups. Pure. A drain's "why not finished"
 * is the functions' own (whyNoProgress, tasksStillStopping, tasksWantingToRun from
 * shared/decisions/host.ts), with what only a whole-cluster read can add: which services' bounds
 * forbid moving their tasks, and which cannot be placed for lack of room or a fixed host port.
 */

export interface InstanceRow {
  ec2InstanceId: string;
  cluster: string;
  group?: string;
  availabilityZone?: string;
  lifecycleState?: string;
  status: string;
  agentConnected: boolean;
  agentVersion?: string;
  amiId?: string;
  /** What its AMI differs from: `recommended` (SSM), `launch-template` (the group's). */
  outdatedAgainst: ('recommended' | 'launch-template')[];
  runningTasks: number;
  pendingTasks: number;
}

export type Holding =
  | { kind: 'tasks-stopping'; count: number; services: Record<string, number> }
  | {
      kind: 'service-bounds';
      service: string;
      tasks: number;
      minimumHealthyPercent: number;
      maximumPercent: number;
    }
  | { kind: 'cannot-place'; service: string; tasks: number; why: string }
  | { kind: 'not-replaced-yet'; service: string; tasks: number }
  | { kind: 'standalone'; tasks: number; families: string[] }
  | { kind: 'daemon-only'; tasks: number }
  | { kind: 'agent-disconnected' };

export interface DrainRow {
  ec2InstanceId: string;
  cluster: string;
  containerInstanceArn: string;
  group?: string;
  lifecycleState?: string;
  /** ISO time from the controller's attribute; absent: drained by hand or by another tool. */
  startedAt?: string;
  ageSeconds?: number;
  /** Seconds left before the deadline (negative: past it). */
  deadlineInSeconds?: number;
  tasksWantingToRun: number;
  tasksStopping: number;
  holding: Holding[];
  /** The functions' own sentence (whyNoProgress). */
  summary: string;
}

export interface RefreshRow extends RefreshRead {
  group: string;
  /** The next checkpoint not reached yet, if any. */
  nextCheckpoint?: number;
}

export interface StatusReport {
  observedAt: string;
  drainDeadlineSeconds: number;
  recommendedAmi?: { variant: string; imageId?: string };
  clusters: string[];
  groups: {
    name: string;
    desiredCapacity: number;
    minSize: number;
    maxSize: number;
    launchTemplateImageId?: string;
  }[];
  instances: InstanceRow[];
  drains: DrainRow[];
  refreshes: RefreshRow[];
}

export interface StatusInput {
  now: number;
  drainDeadlineSeconds: number;
  clusters: ClusterRead[];
  groups: GroupRead[];
  /** The group's launch template image, by group name, when it names one. */
  launchTemplateImages: Map<string, string>;
  recommendedAmi?: { variant: string; imageId?: string };
  refreshes: Map<string, RefreshRead | undefined>;
}

export function statusReport(input: StatusInput): StatusReport {
  const where = new Map<string, { group: string; zone: string; state: string }>();
  for (const group of input.groups)
    for (const instance of group.instances)
      where.set(instance.instanceId, {
        group: group.name,
        zone: instance.availabilityZone,
        state: instance.lifecycleState,
      });
  const recommended = input.recommendedAmi?.imageId;
  const instances: InstanceRow[] = [];
  const drains: DrainRow[] = [];
  for (const cluster of input.clusters) {
    for (const instance of cluster.instances) {
      const at = where.get(instance.ec2InstanceId);
      const templateImage = at === undefined ? undefined : input.launchTemplateImages.get(at.group);
      const outdatedAgainst: InstanceRow['outdatedAgainst'] = [];
      if (instance.amiId !== undefined && recommended !== undefined && instance.amiId !== recommended)
        outdatedAgainst.push('recommended');
      if (
        instance.amiId !== undefined &&
        templateImage !== undefined &&
        templateImage.startsWith('ami-') &&
        instance.amiId !== templateImage
      )
        outdatedAgainst.push('launch-template');
      instances.push({
        ec2InstanceId: instance.ec2InstanceId,
        cluster: cluster.name,
        ...(at !== undefined && { group: at.group, availabilityZone: at.zone, lifecycleState: at.state }),
        status: instance.status,
        agentConnected: instance.agentConnected,
        ...(instance.agentVersion !== undefined && { agentVersion: instance.agentVersion }),
        ...(instance.amiId !== undefined && { amiId: instance.amiId }),
        outdatedAgainst,
        runningTasks: instance.runningTasksCount,
        pendingTasks: instance.pendingTasksCount,
      });
      if (instance.status === 'DRAINING') drains.push(drainRow(input, cluster, instance, at));
    }
  }
  const refreshes: RefreshRow[] = [];
  for (const [group, refresh] of input.refreshes) {
    if (refresh === undefined || !RUNNING_REFRESH_STATUSES.has(refresh.status)) continue;
    const next = refresh.checkpoints.find((c) => c > refresh.percentageComplete);
    refreshes.push({ ...refresh, group, ...(next !== undefined && { nextCheckpoint: next }) });
  }
  return {
    observedAt: new Date(input.now).toISOString(),
    drainDeadlineSeconds: input.drainDeadlineSeconds,
    ...(input.recommendedAmi !== undefined && { recommendedAmi: input.recommendedAmi }),
    clusters: input.clusters.map((c) => c.name),
    groups: input.groups.map((g) => ({
      name: g.name,
      desiredCapacity: g.desiredCapacity,
      minSize: g.minSize,
      maxSize: g.maxSize,
      ...(input.launchTemplateImages.has(g.name) && {
        launchTemplateImageId: input.launchTemplateImages.get(g.name),
      }),
    })),
    instances,
    drains,
    refreshes,
  };
}

function drainRow(
  input: StatusInput,
  cluster: ClusterRead,
  instance: InstanceRead,
  at: { group: string; state: string } | undefined,
): DrainRow {
  const startedAt = drainStartOf([instance]);
  const age = startedAt === undefined ? undefined : Math.round((input.now - startedAt) / 1000);
  const running = cluster.tasks.filter((task) => task.containerInstanceArn === instance.arn);
  const stopping = tasksStillStopping(
    cluster.stopping.filter((task) => task.containerInstanceArn === instance.arn),
  );
  const progress: DrainProgress = {
    tasksWantingToRun: tasksWantingToRun(instance),
    tasksStopping: stopping,
    agentDisconnected: instance.agentConnected ? [] : [instance.arn],
  };
  return {
    ec2InstanceId: instance.ec2InstanceId,
    cluster: cluster.name,
    containerInstanceArn: instance.arn,
    ...(at !== undefined && { group: at.group, lifecycleState: at.state }),
    ...(startedAt !== undefined && {
      startedAt: new Date(startedAt).toISOString(),
      ageSeconds: age,
      deadlineInSeconds: input.drainDeadlineSeconds - (age ?? 0),
    }),
    tasksWantingToRun: progress.tasksWantingToRun,
    tasksStopping: stopping.length,
    holding: holding(cluster, instance, running, stopping),
    summary: whyNoProgress(running as TaskView[], progress),
  };
}

function holding(
  cluster: ClusterRead,
  instance: InstanceRead,
  running: TaskRead[],
  stopping: TaskView[],
): Holding[] {
  const reasons: Holding[] = [];
  if (stopping.length > 0)
    reasons.push({ kind: 'tasks-stopping', count: stopping.length, services: countBy(stopping, groupName) });
  const services = new Map(cluster.services.map((s) => [s.name, s]));
  const byService = new Map<string, TaskRead[]>();
  const standalone: TaskRead[] = [];
  const daemons = running.filter((t) => t.daemon === true);
  for (const task of running.filter((t) => t.daemon !== true)) {
    if ((task.group ?? '').startsWith('service:')) {
      const name = (task.group as string).slice('service:'.length);
      byService.set(name, [...(byService.get(name) ?? []), task]);
    } else standalone.push(task);
  }
  for (const [name, tasks] of byService) {
    const service = services.get(name);
    if (service !== undefined && service.minimumHealthyPercent >= 100 && service.maximumPercent <= 100) {
      reasons.push({
        kind: 'service-bounds',
        service: name,
        tasks: tasks.length,
        minimumHealthyPercent: service.minimumHealthyPercent,
        maximumPercent: service.maximumPercent,
      });
      continue;
    }
    const cannot = service === undefined ? undefined : whyCannotPlace(cluster, service, tasks);
    reasons.push(
      cannot === undefined
        ? { kind: 'not-replaced-yet', service: name, tasks: tasks.length }
        : { kind: 'cannot-place', service: name, tasks: tasks.length, why: cannot },
    );
  }
  if (standalone.length > 0)
    reasons.push({
      kind: 'standalone',
      tasks: standalone.length,
      families: [...new Set(standalone.map((t) => groupName(t)))].sort(),
    });
  if (daemons.length > 0 && byService.size === 0 && standalone.length === 0 && stopping.length === 0)
    reasons.push({ kind: 'daemon-only', tasks: daemons.length });
  if (!instance.agentConnected) reasons.push({ kind: 'agent-disconnected' });
  return reasons;
}

/** Why a replacement task of the service fits on no ACTIVE instance with a connected agent, if it does not. */
function whyCannotPlace(cluster: ClusterRead, service: ServiceRead, tasks: TaskRead[]): string | undefined {
  const size = tasks[0];
  if (size === undefined) return undefined;
  const active = cluster.instances.filter((i) => i.status === 'ACTIVE' && i.agentConnected);
  if (active.length === 0) return 'no ACTIVE instance with a connected agent in the cluster';
  const roomy = active.filter((i) => i.remaining.cpu >= size.cpu && i.remaining.memory >= size.memory);
  if (roomy.length === 0) return `no ACTIVE instance has ${size.cpu} CPU units and ${size.memory} MiB left`;
  if (service.staticHostPort === true) {
    const hasOne = new Set(
      cluster.tasks.filter((t) => t.group === `service:${service.name}`).map((t) => t.containerInstanceArn),
    );
    if (roomy.every((i) => hasOne.has(i.arn)))
      return 'fixed host port: every ACTIVE instance with room already runs one of its tasks';
  }
  return undefined;
}

function groupName(task: TaskView): string {
  const group = task.group ?? 'unknown';
  return group.replace(/^(service|family):/, '');
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** One line for a reason, for the text output. */
export function holdingText(reason: Holding): string {
  switch (reason.kind) {
    case 'tasks-stopping':
      return `${reason.count} task(s) still stopping (${Object.entries(reason.services)
        .map(([name, n]) => `${name}: ${n}`)
        .join(', ')})`;
    case 'service-bounds':
      return `service ${reason.service} (${reason.tasks} task(s)): min ${reason.minimumHealthyPercent} % / max ${reason.maximumPercent} % forbids replacing them; lower min or raise max`;
    case 'cannot-place':
      return `service ${reason.service} (${reason.tasks} task(s)) cannot be placed: ${reason.why}`;
    case 'not-replaced-yet':
      return `service ${reason.service}: ${reason.tasks} task(s) not replaced yet`;
    case 'standalone':
      return `${reason.tasks} standalone task(s) (${reason.families.join(', ')}): draining never moves them`;
    case 'daemon-only':
      return `only ${reason.tasks} daemon task(s) left: ECS stops them last`;
    case 'agent-disconnected':
      return 'ECS agent disconnected';
  }
}
