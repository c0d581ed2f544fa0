import type { ClusterShapeInput } from '../../sim/scenario';

/**
 * A live cluster's shape as the rehearsal's `--config` file (sim/scenario.ts ClusterShape), from what
 * ECS and Auto Scaling said about it. Pure: commands/snapshot.ts observes, this decides every value
 * and says which ones ECS could not tell (the assumptions, printed beside the file, never in it: the
 * schema is strict).
 */

export interface ObservedContainer {
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  stopTimeout?: number;
}

export interface ObservedService {
  name: string;
  daemon: boolean;
  desiredCount: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  circuitBreaker?: { enable: boolean; rollback: boolean };
  healthCheckGracePeriodSeconds?: number;
  /** The service registers its tasks with a load balancer: stopping waits for the deregistration delay. */
  loadBalanced: boolean;
  /** Its task definition (absent when it could not be read). */
  task?: {
    cpu?: number;
    memory?: number;
    containers: ObservedContainer[];
    /** Two of its tasks cannot share an instance (usesStaticHostPort: network mode and port mappings). */
    staticHostPort: boolean;
  };
}

/** A task no service started (RunTask, StartTask), as DescribeTasks shows it. */
export interface ObservedTask {
  family: string;
  cpu?: number;
  memory?: number;
}

export interface ClusterObservation {
  /** The instances to rehearse: the group's desired capacity, or the cluster's ACTIVE container instances. */
  instances: number;
  /** Registered CPU units and MiB of each container instance seen. */
  registered: { cpu?: number; memory?: number }[];
  services: ObservedService[];
  standaloneTasks: ObservedTask[];
}

export interface SnapshotAssumptions {
  /** The target groups' deregistration delay (ELB's default 300 s), added to a load-balanced service's stop. */
  deregistrationDelaySeconds: number;
}

/** The ECS agent's default ECS_CONTAINER_STOP_TIMEOUT: SIGTERM to SIGKILL when a container sets none. */
export const DEFAULT_STOP_TIMEOUT = 30;
/** What the rehearsal's schema fills in when a value is unknown. */
const DEFAULT_STARTUP_SECONDS = 30;
const DEFAULT_TASK_CPU = 256;
const DEFAULT_TASK_MEMORY = 512;

export interface Snapshot {
  shape: ClusterShapeInput;
  /** One line per value that is an assumption rather than what AWS said. */
  assumptions: string[];
}

export function snapshotShape(observation: ClusterObservation, assumptions: SnapshotAssumptions): Snapshot {
  const notes: string[] = [
    'bootSeconds, healthySeconds, shutdownSeconds: the rehearsal defaults (75, 30, 20 s); EC2 does not report them',
  ];
  const services = observation.services.map((service) => serviceShape(service, assumptions, notes));
  const tasks = new Map<string, { family: string; count: number; cpu: number; memory: number }>();
  for (const task of observation.standaloneTasks) {
    const seen = tasks.get(task.family);
    if (seen !== undefined) seen.count += 1;
    else
      tasks.set(task.family, {
        family: task.family,
        count: 1,
        cpu: task.cpu ?? DEFAULT_TASK_CPU,
        memory: task.memory ?? DEFAULT_TASK_MEMORY,
      });
  }
  if (tasks.size > 0)
    notes.push(
      `standalone tasks (${[...tasks.keys()].join(', ')}): run until stopped (no runSeconds); ECS cannot tell when a task will exit`,
    );
  const cpu = mostCommon(observation.registered.flatMap((r) => (r.cpu === undefined ? [] : [r.cpu])));
  const memory = mostCommon(
    observation.registered.flatMap((r) => (r.memory === undefined ? [] : [r.memory])),
  );
  if (cpu === undefined || memory === undefined)
    notes.push(
      'instanceCpu, instanceMemory: no container instance seen; the rehearsal defaults (2048, 8192)',
    );
  else if (new Set(observation.registered.map((r) => `${r.cpu}/${r.memory}`)).size > 1)
    notes.push(
      `instanceCpu ${cpu}, instanceMemory ${memory}: the most common registered size; the instances differ`,
    );
  return {
    shape: {
      instances: observation.instances,
      ...(cpu !== undefined && { instanceCpu: cpu }),
      ...(memory !== undefined && { instanceMemory: memory }),
      services,
      standaloneTasks: [...tasks.values()],
    },
    assumptions: notes,
  };
}

type ServiceInput = ClusterShapeInput['services'][number];

function serviceShape(
  service: ObservedService,
  assumptions: SnapshotAssumptions,
  notes: string[],
): ServiceInput {
  const containers = service.task?.containers ?? [];
  const sum = (values: (number | undefined)[]) => values.reduce<number>((total, v) => total + (v ?? 0), 0);
  // Task-level sizes when the definition has them, else what its containers reserve (ECS does the same).
  const cpu = service.task?.cpu ?? (sum(containers.map((c) => c.cpu)) || undefined);
  const memory =
    service.task?.memory ?? (sum(containers.map((c) => c.memory ?? c.memoryReservation)) || undefined);
  if (cpu === undefined || memory === undefined)
    notes.push(
      `${service.name}: its task reserves no ${cpu === undefined ? 'CPU' : 'memory'}; the rehearsal default`,
    );
  const stopTimeouts = containers.flatMap((c) => (c.stopTimeout === undefined ? [] : [c.stopTimeout]));
  const stopTimeout = stopTimeouts.length > 0 ? Math.max(...stopTimeouts) : DEFAULT_STOP_TIMEOUT;
  const delay = service.loadBalanced ? assumptions.deregistrationDelaySeconds : 0;
  if (service.loadBalanced)
    notes.push(
      `${service.name}: stopSeconds ${delay + stopTimeout} = deregistration delay ${delay} s (assumed: ELB's default unless --deregistration-delay) + stopTimeout ${stopTimeout} s`,
    );
  if (stopTimeouts.length === 0)
    notes.push(
      `${service.name}: stopTimeout ${DEFAULT_STOP_TIMEOUT} s, the agent's default (the task definition sets none)`,
    );
  const grace = service.healthCheckGracePeriodSeconds;
  const startupSeconds = grace !== undefined && grace > 0 ? grace : DEFAULT_STARTUP_SECONDS;
  if (grace === undefined || grace === 0)
    notes.push(
      `${service.name}: startupSeconds ${DEFAULT_STARTUP_SECONDS}, the rehearsal default (no health check grace period tells)`,
    );
  return {
    name: service.name,
    ...(!service.daemon && { desiredCount: service.desiredCount }),
    ...(service.minimumHealthyPercent !== undefined && {
      minimumHealthyPercent: service.minimumHealthyPercent,
    }),
    ...(service.maximumPercent !== undefined && { maximumPercent: service.maximumPercent }),
    cpu: cpu ?? DEFAULT_TASK_CPU,
    memory: memory ?? DEFAULT_TASK_MEMORY,
    startupSeconds,
    stopSeconds: delay + stopTimeout,
    staticHostPort: service.task?.staticHostPort ?? false,
    daemon: service.daemon,
    ...(service.circuitBreaker?.enable === true && { deploymentCircuitBreaker: service.circuitBreaker }),
  };
}

function mostCommon(values: number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best: number | undefined;
  for (const [value, count] of counts)
    if (best === undefined || count > (counts.get(best) ?? 0)) best = value;
  return best;
}
