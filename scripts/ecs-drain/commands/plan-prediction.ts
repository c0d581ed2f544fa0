/**
 * What a scale-in or an instance refresh would do to a group and to the services on it. Pure: the
 * `plan` command reads, this predicts, the command prints.
 *
 * Which instances go, in which order, follows Auto Scaling's documented default termination policy
 * ([ASG-UG] ec2-auto-scaling-termination-policies): keep the Availability Zones balanced first (pick
 * in a zone with the most instances and one not protected from scale-in); then instances launched
 * from a launch configuration before those from a launch template; then those not on the group's
 * current configuration; then the one closest to its next billing hour, then at random. The tool
 * cannot see launch times (no ec2:DescribeInstances), so the last two come out as ties: the
 * prediction names the first in Auto Scaling's listing and the others it could equally pick.
 *
 * A refresh replaces in batches its MinHealthyPercentage / MaxHealthyPercentage allow (aws-semantics
 * §2.1): with room above the desired capacity it launches that many ahead, and terminates as many
 * as leave the healthy floor intact, at least one. Each instance that goes has its service tasks
 * placed elsewhere as ECS would have to (CPU and memory left, one task per instance for a fixed host
 * port), which says, per service, whether it keeps its floor.
 */

export interface PlanInstance {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  usesLaunchConfiguration: boolean;
  /** Launched from a configuration other than the group's current one; undefined: cannot tell. */
  outdated?: boolean;
}

export interface PlanHost {
  containerInstanceArn: string;
  ec2InstanceId: string;
  /** Only ACTIVE hosts with a connected agent receive tasks. */
  canReceive: boolean;
  registered: { cpu: number; memory: number };
  remaining: { cpu: number; memory: number };
}

export interface PlanTask {
  containerInstanceArn: string;
  /** `service:<name>` or `family:<name>`. */
  group?: string;
  daemon?: boolean;
  cpu: number;
  memory: number;
}

export interface PlanService {
  name: string;
  daemon: boolean;
  desiredCount: number;
  runningCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  staticHostPort?: boolean;
}

export interface ScaleInStep {
  instanceId: string;
  availabilityZone: string;
  /** Why this one, in the policy's order. */
  because: string[];
  /** Others Auto Scaling could pick at this step just as well (billing hour, then random). */
  alternatives: string[];
}

/** The order in which a scale-in by `count` takes instances out, step by step. */
export function scaleInOrder(instances: readonly PlanInstance[], count: number): ScaleInStep[] {
  const inGroup = instances.filter(
    (i) => i.lifecycleState === 'InService' || i.lifecycleState.startsWith('Pending'),
  );
  const left = [...inGroup];
  const steps: ScaleInStep[] = [];
  for (let step = 0; step < count; step++) {
    const eligible = left.filter((i) => i.lifecycleState === 'InService' && !i.protectedFromScaleIn);
    if (eligible.length === 0) break;
    const perZone = new Map<string, number>();
    for (const instance of left)
      perZone.set(instance.availabilityZone, (perZone.get(instance.availabilityZone) ?? 0) + 1);
    const zonesWithEligible = new Set(eligible.map((i) => i.availabilityZone));
    const most = Math.max(...[...zonesWithEligible].map((zone) => perZone.get(zone) ?? 0));
    const zones = [...zonesWithEligible].filter((zone) => perZone.get(zone) === most);
    const because: string[] = [];
    let candidates = eligible.filter((i) => zones.includes(i.availabilityZone));
    because.push(
      zonesWithEligible.size > zones.length
        ? `most instances in ${zones.map(shortZone).join(', ')} (${most})`
        : 'zones balanced',
    );
    const configuration = narrow(candidates, (i) => i.usesLaunchConfiguration);
    if (configuration.length < candidates.length) because.push('launch configuration first');
    candidates = configuration;
    const outdated = narrow(candidates, (i) => i.outdated === true);
    if (outdated.length < candidates.length) because.push('outdated configuration');
    candidates = outdated;
    const [chosen, ...others] = candidates as [PlanInstance, ...PlanInstance[]];
    if (others.length > 0) because.push(`tie of ${others.length + 1}`);
    steps.push({
      instanceId: chosen.instanceId,
      availabilityZone: chosen.availabilityZone,
      because,
      alternatives: others.map((i) => i.instanceId),
    });
    left.splice(left.indexOf(chosen), 1);
  }
  return steps;
}

/** `us-east-1b` as `1b`, for the table. */
function shortZone(zone: string): string {
  return zone.replace(/^[a-z]+-[a-z]+-/, '');
}

/** Those matching, when some do; all of them when none does (the criterion does not decide). */
function narrow<T>(items: T[], matches: (item: T) => boolean): T[] {
  const matching = items.filter(matches);
  return matching.length > 0 ? matching : items;
}

export interface RefreshPreferences {
  desiredCapacity: number;
  minHealthyPercentage: number;
  /** Absent: terminate and launch at the same time (AWS's default). */
  maxHealthyPercentage?: number;
  /** Replace only instances not on the desired configuration. */
  skipMatching: boolean;
}

export interface RefreshBatch {
  /** Instances terminated together, in the order they are chosen. */
  instanceIds: string[];
  /** New instances launched before these go (MaxHealthyPercentage above 100). */
  launchedAhead: number;
}

/** How many instances a refresh terminates at once, and how many it launches ahead of them. */
export function refreshBatchSize(preferences: RefreshPreferences): { size: number; ahead: number } {
  const { desiredCapacity: desired, minHealthyPercentage: min, maxHealthyPercentage: max } = preferences;
  const floor = Math.ceil((desired * min) / 100);
  const ceiling = max === undefined ? desired : Math.floor((desired * max) / 100);
  // Both bounds at 100 explicitly: launch one first, then terminate one (aws-semantics §2.1).
  const launchFirst = max !== undefined && ceiling === desired && floor === desired ? 1 : 0;
  const ahead = Math.max(ceiling - desired, launchFirst);
  return { size: Math.max(1, desired + ahead - floor), ahead };
}

/** The refresh's batches: the instances to replace in the termination policy's order, cut by batch size. */
export function refreshBatches(
  instances: readonly PlanInstance[],
  preferences: RefreshPreferences,
): RefreshBatch[] {
  const toReplace = instances.filter(
    (i) => i.lifecycleState === 'InService' && (!preferences.skipMatching || i.outdated !== false),
  );
  const order = scaleInOrder(
    toReplace.map((i) => ({ ...i, protectedFromScaleIn: false })),
    toReplace.length,
  ).map((step) => step.instanceId);
  const { size, ahead } = refreshBatchSize(preferences);
  const batches: RefreshBatch[] = [];
  for (let start = 0; start < order.length; start += size) {
    const instanceIds = order.slice(start, start + size);
    batches.push({ instanceIds, launchedAhead: Math.min(ahead, instanceIds.length) });
  }
  return batches;
}

export type ServiceVerdict =
  | { kind: 'unaffected' }
  | { kind: 'keeps-floor'; floor: number; lowest: number }
  | { kind: 'below-floor'; floor: number; lowest: number; unplaced: number; why: string }
  | { kind: 'cannot-move'; floor: number; why: string };

export interface ServiceImpact {
  service: string;
  /** Its tasks on the instances that go. */
  tasksOnLeaving: number;
  /** How many of them fit elsewhere. */
  placeable: number;
  floor: number;
  verdict: ServiceVerdict;
}

export interface Impact {
  services: ServiceImpact[];
  /** Standalone tasks on the instances that go: draining never moves them. */
  standalone: number;
  warnings: string[];
}

/**
 * What taking `leaving` out does to each service, with `newHosts` empty instances of the leaving
 * ones' size joining first (a refresh's replacements; none for a scale-in). Tasks are placed one by
 * one on the host with the most memory left that fits them, as long as a fixed host port allows.
 */
export function impactOf(
  hosts: readonly PlanHost[],
  tasks: readonly PlanTask[],
  services: readonly PlanService[],
  leaving: readonly string[],
  newHosts = 0,
): Impact {
  const gone = new Set(leaving);
  const leavingHosts = hosts.filter((h) => gone.has(h.ec2InstanceId));
  const leavingArns = new Set(leavingHosts.map((h) => h.containerInstanceArn));
  const template = leavingHosts[0]?.registered;
  const room = hosts
    .filter((h) => !gone.has(h.ec2InstanceId) && h.canReceive)
    .map((h) => ({ arn: h.containerInstanceArn, cpu: h.remaining.cpu, memory: h.remaining.memory }));
  for (let n = 0; n < newHosts && template !== undefined; n++)
    room.push({ arn: `new-${n}`, cpu: template.cpu, memory: template.memory });
  const perHost = new Map<string, Set<string>>();
  for (const task of tasks) {
    if (task.group === undefined) continue;
    const set = perHost.get(task.containerInstanceArn) ?? new Set<string>();
    set.add(task.group);
    perHost.set(task.containerInstanceArn, set);
  }
  const moving = tasks.filter((t) => leavingArns.has(t.containerInstanceArn) && t.daemon !== true);
  const byService = new Map<string, PlanTask[]>();
  for (const task of moving) {
    if (!(task.group ?? '').startsWith('service:')) continue;
    const name = (task.group as string).slice('service:'.length);
    byService.set(name, [...(byService.get(name) ?? []), task]);
  }
  const impacts: ServiceImpact[] = [];
  const warnings: string[] = [];
  for (const service of [...services].filter((s) => !s.daemon).sort((a, b) => a.name.localeCompare(b.name))) {
    const own = byService.get(service.name) ?? [];
    const floor = Math.ceil((service.desiredCount * service.minimumHealthyPercent) / 100);
    const base = { service: service.name, tasksOnLeaving: own.length, floor };
    if (own.length === 0) {
      impacts.push({ ...base, placeable: 0, verdict: { kind: 'unaffected' } });
      continue;
    }
    if (service.minimumHealthyPercent >= 100 && service.maximumPercent <= 100) {
      const why = `min ${service.minimumHealthyPercent} % / max ${service.maximumPercent} %: ECS may neither stop a task before its replacement runs nor start one before it stops`;
      warnings.push(
        `${service.name} cannot move (${why}): the drain of its instances never finishes by itself`,
      );
      impacts.push({ ...base, placeable: 0, verdict: { kind: 'cannot-move', floor, why } });
      continue;
    }
    const group = `service:${service.name}`;
    let placed = 0;
    for (const task of own) {
      const fits = room
        .filter((h) => h.cpu >= task.cpu && h.memory >= task.memory)
        .filter((h) => service.staticHostPort !== true || !(perHost.get(h.arn)?.has(group) ?? false))
        .sort((a, b) => b.memory - a.memory || b.cpu - a.cpu)[0];
      if (fits === undefined) continue;
      fits.cpu -= task.cpu;
      fits.memory -= task.memory;
      const set = perHost.get(fits.arn) ?? new Set<string>();
      set.add(group);
      perHost.set(fits.arn, set);
      placed++;
    }
    const unplaced = own.length - placed;
    const lowest = Math.min(service.runningCount, service.desiredCount) - unplaced;
    if (unplaced === 0 || lowest >= floor) {
      impacts.push({ ...base, placeable: placed, verdict: { kind: 'keeps-floor', floor, lowest } });
      continue;
    }
    const why =
      service.staticHostPort === true
        ? `fixed host port: every instance left already runs one of its tasks (${unplaced} without an instance)`
        : `no CPU or memory left for ${unplaced} of its tasks`;
    if (service.staticHostPort === true)
      warnings.push(`${service.name}: static host port and no spare instance for ${unplaced} task(s)`);
    else warnings.push(`${service.name}: no room for ${unplaced} task(s) on the instances that stay`);
    impacts.push({
      ...base,
      placeable: placed,
      verdict: { kind: 'below-floor', floor, lowest, unplaced, why },
    });
  }
  const standalone = moving.filter((t) => !(t.group ?? '').startsWith('service:')).length;
  if (standalone > 0)
    warnings.push(`${standalone} standalone task(s) on the instances that go: draining never moves them`);
  return { services: impacts, standalone, warnings };
}

/** A verdict in a few words for the table. */
export function verdictText(impact: ServiceImpact): string {
  const { verdict } = impact;
  switch (verdict.kind) {
    case 'unaffected':
      return 'no task on them';
    case 'keeps-floor':
      return `keeps its floor (${verdict.lowest} >= ${verdict.floor})`;
    case 'below-floor':
      return `drops below floor to ${verdict.lowest} (floor ${verdict.floor})`;
    case 'cannot-move':
      return 'cannot move: min 100 / max 100';
  }
}
