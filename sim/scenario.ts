import { z } from 'zod';
import type { RetryStats } from './api/retry';
import type { ApiFaults } from './api/server';
import type { Controller } from './controller';
import type { Design } from './designs/design';
import type { HookSpec } from './autoscaling';
import { type DeliveryFaults, type LambdaStats, NO_DELIVERY_FAULTS } from './delivery';
import type { EcsOptions } from './ecs';
import type { EventSourceStats } from './sqs';
import {
  type LambdaFaults,
  type Recorder,
  type ScheduleFaults,
  serviceKey,
  STACK,
  World,
  type WorldGroup,
} from './world';

/** A cluster to rehearse on: the shape `--config file.json` describes. */
export const ServiceShape = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
  desiredCount: z.number().int().min(0).default(1),
  minimumHealthyPercent: z.number().int().min(0).max(100).default(100),
  maximumPercent: z.number().int().min(100).max(200).default(200),
  cpu: z.number().int().positive().default(256),
  memory: z.number().int().positive().default(512),
  startupSeconds: z.number().min(0).default(30),
  stopSeconds: z.number().min(0).default(30),
  staticHostPort: z.boolean().default(false),
  daemon: z.boolean().default(false),
  /** ECS's deployment circuit breaker; absent: off, as CreateService leaves it (sim/ecs.ts ServiceSpec). */
  deploymentCircuitBreaker: z.strictObject({ enable: z.boolean(), rollback: z.boolean() }).optional(),
});

export const StandaloneShape = z.strictObject({
  family: z.string().min(1),
  count: z.number().int().min(1).default(1),
  cpu: z.number().int().positive().default(256),
  memory: z.number().int().positive().default(512),
  runSeconds: z.number().positive().optional(),
});

/** Strict: a misspelled field is refused, not dropped (the run would rehearse another cluster). */
export const ClusterShape = z.strictObject({
  instances: z.number().int().min(1).max(5000),
  instanceCpu: z.number().int().positive().default(2048),
  instanceMemory: z.number().int().positive().default(8192),
  /** Seconds from launch until the ECS agent registers the instance. */
  bootSeconds: z.number().positive().default(75),
  /** Seconds from launch until the instance passes EC2 health checks. */
  healthySeconds: z.number().positive().default(30),
  shutdownSeconds: z.number().positive().default(20),
  // ECS refuses a second service of the same name in a cluster.
  services: z
    .array(ServiceShape)
    .min(1)
    .refine((services) => new Set(services.map((s) => s.name)).size === services.length, {
      message: 'two services have the same name, which ECS refuses in one cluster',
    }),
  standaloneTasks: z.array(StandaloneShape).default([]),
});
export type ClusterShape = z.infer<typeof ClusterShape>;
/** A shape as written in a --config file, before defaults are filled in. */
export type ClusterShapeInput = z.input<typeof ClusterShape>;

/** The built-in demo: a small cluster with the deployment settings people really use. */
export function demoShape(instances = 6): ClusterShape {
  const perInstance = instances / 6;
  // As most services are set up now: a failing deployment rolls back by itself (`ecs-drain deploy`
  // against sim:serve shows it; nothing in a rehearsal deploys).
  const deploymentCircuitBreaker = { enable: true, rollback: true };
  return ClusterShape.parse({
    instances,
    services: [
      {
        name: 'web',
        deploymentCircuitBreaker,
        desiredCount: Math.round(6 * perInstance),
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        startupSeconds: 60,
        stopSeconds: 90,
        memory: 1024,
      },
      {
        name: 'api',
        deploymentCircuitBreaker,
        desiredCount: Math.round(3 * perInstance),
        minimumHealthyPercent: 50,
        maximumPercent: 100,
        staticHostPort: true,
        cpu: 512,
        memory: 1024,
        startupSeconds: 40,
        stopSeconds: 60,
      },
      {
        name: 'checkout',
        deploymentCircuitBreaker,
        desiredCount: Math.max(2, Math.round(2 * perInstance)),
        minimumHealthyPercent: 50,
        maximumPercent: 200,
        cpu: 512,
        memory: 2048,
        startupSeconds: 150,
        stopSeconds: 30,
      },
      {
        name: 'worker',
        deploymentCircuitBreaker,
        desiredCount: Math.round(4 * perInstance),
        minimumHealthyPercent: 0,
        maximumPercent: 100,
        startupSeconds: 10,
        stopSeconds: 120,
      },
      { name: 'log-router', daemon: true, cpu: 64, memory: 128, startupSeconds: 5, stopSeconds: 5 },
    ],
  });
}

/** Names as template.yaml's parameters allow them: a cluster's, and a group's (no colon, no comma). */
const ClusterName = z.string().regex(/^[A-Za-z0-9_-]{1,255}$/);
const GroupName = z.string().regex(/^[^:,]{1,255}$/);

/** A cluster of a fleet: its name and its shape (`shape.instances`: the instances of all its groups). */
export const FleetCluster = z.object({ name: ClusterName, shape: ClusterShape });

/** An Auto Scaling group of a fleet; its instances join `cluster`, with that cluster's instance type. */
export const FleetGroup = z.object({
  name: GroupName,
  cluster: ClusterName,
  /** Instances it runs; absent: what its cluster's `shape.instances` leaves after its other groups. */
  instances: z.number().int().min(0).optional(),
});

/**
 * Several clusters and Auto Scaling groups in one account, served by one stack. Every group feeds one
 * cluster; every cluster has at least one group, and its groups' instances add up to `shape.instances`.
 * Parsed, every group has its number of instances.
 */
export const Fleet = z
  .object({ clusters: z.array(FleetCluster).min(1), groups: z.array(FleetGroup).min(1) })
  .superRefine((fleet, context) => {
    const problem = (message: string) => context.addIssue({ code: 'custom', message });
    const clusterNames = fleet.clusters.map((cluster) => cluster.name);
    const groupNames = fleet.groups.map((group) => group.name);
    if (new Set(clusterNames).size !== clusterNames.length) problem('a cluster is named twice');
    if (new Set(groupNames).size !== groupNames.length) problem('a group is named twice');
    for (const group of fleet.groups) {
      if (!clusterNames.includes(group.cluster))
        problem(`group ${group.name} feeds cluster ${group.cluster}, which is not in the fleet`);
    }
    for (const { name, shape } of fleet.clusters) {
      const groups = fleet.groups.filter((group) => group.cluster === name);
      const counted = groups.reduce((sum, group) => sum + (group.instances ?? 0), 0);
      const uncounted = groups.filter((group) => group.instances === undefined).length;
      if (groups.length === 0) problem(`cluster ${name} has no group`);
      else if (uncounted > 1) problem(`cluster ${name}: more than one group without instances`);
      else if (uncounted === 0 ? counted !== shape.instances : counted > shape.instances)
        problem(`cluster ${name}: its groups' instances do not add up to its shape's ${shape.instances}`);
    }
  })
  .transform((fleet) => ({
    clusters: fleet.clusters,
    groups: fleet.groups.map((group) => {
      const { shape } = fleet.clusters.find((cluster) => cluster.name === group.cluster) as FleetCluster;
      const others = fleet.groups.filter((other) => other.cluster === group.cluster && other !== group);
      const rest = shape.instances - others.reduce((sum, other) => sum + (other.instances ?? 0), 0);
      return { ...group, instances: group.instances ?? rest };
    }),
  }));
export type FleetCluster = z.infer<typeof FleetCluster>;
export type Fleet = z.output<typeof Fleet>;

/** The fleet of a run without one: cluster `prod` of `shape`, and its one group. */
export function singleClusterFleet(shape: ClusterShape): Fleet {
  return {
    clusters: [{ name: STACK.clusterName, shape }],
    groups: [{ name: STACK.groupName, cluster: STACK.clusterName, instances: shape.instances }],
  };
}

/**
 * Two clusters, three groups, one stack: `prod` (the demo services) on an on-demand group of 4 and a
 * Spot group of 2, and `batch` on a group of 3. Both clusters run a `worker` service and the
 * `log-router` daemon, so a report that mixed them up would show it.
 */
export function twoClustersThreeGroups(): Fleet {
  return Fleet.parse({
    clusters: [
      { name: STACK.clusterName, shape: demoShape(6) },
      {
        name: 'batch',
        shape: {
          instances: 3,
          services: [
            {
              name: 'worker',
              desiredCount: 4,
              minimumHealthyPercent: 50,
              maximumPercent: 200,
              cpu: 512,
              memory: 1024,
              startupSeconds: 20,
              stopSeconds: 60,
            },
            {
              name: 'scheduler',
              desiredCount: 1,
              minimumHealthyPercent: 100,
              maximumPercent: 200,
              startupSeconds: 30,
              stopSeconds: 30,
            },
            { name: 'log-router', daemon: true, cpu: 64, memory: 128, startupSeconds: 5, stopSeconds: 5 },
          ],
        },
      },
    ],
    groups: [
      { name: STACK.groupName, cluster: STACK.clusterName, instances: 4 },
      { name: 'prod-spot-asg', cluster: STACK.clusterName, instances: 2 },
      { name: 'batch-asg', cluster: 'batch' },
    ],
  });
}

/** Every service of the fleet with its cluster and the Recorder's name for it (see serviceKey). */
export function fleetServices(
  fleet: Fleet,
): { key: string; cluster: string; spec: ClusterShape['services'][number] }[] {
  const clusterNames = fleet.clusters.map((cluster) => cluster.name);
  return fleet.clusters.flatMap(({ name, shape }) =>
    shape.services.map((spec) => ({ key: serviceKey(clusterNames, name, spec.name), cluster: name, spec })),
  );
}

export type ScenarioName = 'instance-refresh' | 'scale-in' | 'spot' | 'ami-update' | 'bad-ami' | 'blue-green';
export const SCENARIOS: ScenarioName[] = [
  'instance-refresh',
  'scale-in',
  'spot',
  'ami-update',
  'bad-ami',
  'blue-green',
];

/**
 * The scenarios of a new ECS-optimized AMI: AWS publishes it (its public SSM parameter); the
 * stack's AMI watcher rolls it out, or, without the stack, the operator starts an instance refresh
 * to it as Auto Scaling's defaults have it. `bad-ami`: an AMI whose ECS agent never connects.
 */
export const AMI_SCENARIOS: readonly ScenarioName[] = ['ami-update', 'bad-ami', 'blue-green'];

/** The group tag that holds a blue/green rollout's state (shared/decisions/blue-green.ts). */
const BLUE_GREEN_TAG = 'ecs-drain:blue-green';

/** The launch template the AMI scenarios' groups launch from, at a numbered version (auto-rollback needs one). */
export const AMI_SCENARIO_TEMPLATE = { name: 'ecs-node', version: '1' } as const;

/** Refresh statuses after which Auto Scaling does nothing more. */
const REFRESH_ENDED = new Set(['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);
/** How long a `bad-ami` run goes on after its refresh ended: what the fleet looks like afterwards. */
const AFTER_REFRESH_SECONDS = 600;

export interface ScenarioOptions {
  scenario: ScenarioName;
  seed: number;
  /** The cluster of a run without `fleet`. */
  shape: ClusterShape;
  /**
   * Several clusters and groups in one account, served by one stack; absent: one cluster `prod` of
   * `shape` and its group `prod-ecs-asg`. The scenario acts on every group.
   */
  fleet?: Fleet;
  /** The real handlers; absent: the baseline, an Auto Scaling group without any termination hook. */
  controller?: Controller;
  /**
   * Another tool's drain design (sim/designs), deployed in place of the controller with its own hook
   * and wiring; not with `controller`.
   */
  design?: Design;
  heartbeatTimeout: number;
  refresh: { minHealthyPercentage: number; maxHealthyPercentage?: number; instanceWarmup: number };
  /** Instances removed from each group by the scale-in scenario. */
  scaleInBy: number;
  /** Instances of each group interrupted by the spot scenario. */
  interruptions: number;
  deliveryFaults: DeliveryFaults;
  /** Faults on the lifecycle notifications alone (SNS); the task events' faults when absent. */
  notificationFaults?: DeliveryFaults;
  apiFaults: ApiFaults;
  /** The functions' runtimes crashing half-way. */
  lambdaFaults?: LambdaFaults;
  /** The reconciler's schedule running late, twice or not at all. */
  scheduleFaults?: ScheduleFaults;
  /** How ECS's reads lag, and how long it takes to notice a terminated EC2 instance. */
  ecs: EcsOptions;
  /** How Auto Scaling's describe calls lag its changes (no published figure: assumed). */
  autoScaling?: { readLagSeconds: number };
  /** Simulated seconds an API call takes. */
  apiLatency: [number, number];
  /** The ECS agent of every instance that enters Terminating:Wait disconnects at that moment. */
  disconnectAgentOnDrain?: boolean;
  /** AMIs whose instances boot and pass EC2 health checks but never register with ECS (World.brokenAmis). */
  brokenAmis?: string[];
  /**
   * Every group launches from this launch template (one per name, its version 1 the groups' AMI) at
   * `version`; absent: the groups launch from their AMI, without a template.
   */
  launchTemplate?: { name: string; version?: string };
  maxSimulatedHours: number;
  /**
   * blue-green: an operator asks for the way back (the watcher's `rollback` input) half-way through
   * the burn-in, `burnInSeconds` (the stack's BlueGreenBurnIn) after the old fleet went on standby.
   */
  rollbackDuringBurnIn?: { burnInSeconds: number };
  onProgress?: (progress: Progress) => void;
}

export function defaultOptions(shape: ClusterShape = demoShape()): ScenarioOptions {
  return {
    scenario: 'instance-refresh',
    seed: 1,
    shape,
    heartbeatTimeout: 1800,
    refresh: { minHealthyPercentage: 90, instanceWarmup: 60 },
    scaleInBy: Math.max(1, Math.floor(shape.instances / 3)),
    interruptions: 1,
    deliveryFaults: NO_DELIVERY_FAULTS,
    // The account's API limits are real: ECS's documented token buckets, always on.
    apiFaults: { tokenBuckets: true, throttle: 0, serverError: 0 },
    ecs: { readLagSeconds: 1, ec2NoticeSeconds: 45 },
    autoScaling: { readLagSeconds: 1 },
    apiLatency: [0.02, 0.08],
    maxSimulatedHours: 12,
  };
}

export interface Progress {
  simulatedSeconds: number;
  instancesReplaced: number;
  instancesToReplace: number;
  draining: number;
  inService: number;
}

export interface RunResult {
  scenario: ScenarioName;
  withController: boolean;
  seed: number;
  /** The first cluster's shape (the only one without a fleet). */
  shape: ClusterShape;
  /** Every cluster and group of the run. */
  fleet: Fleet;
  /** When the scale-in, refresh or interruption began, in simulated seconds. */
  actionAt: number;
  endedAt: number;
  /** False when maxSimulatedHours passed before the cluster settled. */
  settled: boolean;
  recorder: Recorder;
  lambdas: Record<string, LambdaStats>;
  /** The queue between the task events and the finish function. */
  taskEventSource?: EventSourceStats;
  /** The queue between the lifecycle notifications and the start function. */
  lifecycleEventSource?: EventSourceStats;
  /** Messages the queue's redrive policy moved to the failure queue. */
  deadLetters: number;
  apiCalls: Record<string, number>;
  throttledCalls: number;
  /** Calls that took effect but whose answer was lost. */
  lostResponses: number;
  /** Events and notifications SNS or EventBridge lost on the way (a fault the run asked for). */
  droppedEvents: number;
  /** Events and notifications delivered twice. */
  duplicatedEvents: number;
  /** Reconciler runs the schedule skipped or invoked twice. */
  scheduledRuns: { skipped: number; duplicated: number };
  /** The SDK's retries, per client. */
  retries: Record<string, RetryStats>;
  /** Alerts the functions published to the stack's alert topic. */
  published?: { topicArn: string; subject: string; message: string; at: number }[];
  /** Each group's latest instance refresh as DescribeInstanceRefreshes would end it. */
  refreshes: RefreshOutcome[];
}

export interface RefreshOutcome {
  group: string;
  /** `blue-green` for a blue/green rollout (its status the phase it ended in); an instance refresh otherwise. */
  strategy?: string;
  status: string;
  statusReason?: string;
  percentageComplete: number;
  /** Whether it rolled back (its rollback began, whatever its end). */
  rolledBack: boolean;
}

/** Time for initial placement before the scenario acts: every task is healthy by then. */
export const SETTLE_SECONDS = 600;
const CHECK_SECONDS = 30;
export const NEW_AMI = 'ami-0new0000000000002';
export const OLD_AMI = 'ami-0old0000000000001';

/** The fleet a run plays: `options.fleet`, or the one cluster of `options.shape`. */
export function fleetOf(options: Pick<ScenarioOptions, 'fleet' | 'shape'>): Fleet {
  return options.fleet ?? singleClusterFleet(options.shape);
}

/** The simulated account with the fleet's instances, services and tasks, and the hooks when a controller runs. */
export function buildWorld(options: ScenarioOptions, hook: 'notify' | 'silent' | 'none'): World {
  const fleet = fleetOf(options);
  const amiScenario = AMI_SCENARIOS.includes(options.scenario);
  const launchTemplate = options.launchTemplate ?? (amiScenario ? AMI_SCENARIO_TEMPLATE : undefined);
  const brokenAmis = [...(options.brokenAmis ?? []), ...(options.scenario === 'bad-ami' ? [NEW_AMI] : [])];
  const shapes = new Map(fleet.clusters.map(({ name, shape }) => [name, shape]));
  const world = new World({
    seed: options.seed,
    clusters: fleet.clusters.map((cluster) => cluster.name),
    groups: fleet.groups.map((group): WorldGroup => {
      const shape = shapes.get(group.cluster) as ClusterShape;
      return {
        name: group.name,
        cluster: group.cluster,
        desiredCapacity: group.instances,
        minSize: 0,
        maxSize: group.instances * 2 + 1,
        instanceCpu: shape.instanceCpu,
        instanceMemory: shape.instanceMemory,
        amiId: OLD_AMI,
        bootSeconds: shape.bootSeconds,
        healthySeconds: shape.healthySeconds,
        shutdownSeconds: shape.shutdownSeconds,
        readLagSeconds: options.autoScaling?.readLagSeconds ?? 0,
        ...(launchTemplate && { launchTemplate }),
      };
    }),
    controller: options.controller,
    deliveryFaults: options.deliveryFaults,
    ...(options.notificationFaults && { notificationFaults: options.notificationFaults }),
    apiFaults: options.apiFaults,
    ...(options.lambdaFaults && { lambdaFaults: options.lambdaFaults }),
    ...(options.scheduleFaults && { scheduleFaults: options.scheduleFaults }),
    ecs: options.ecs,
    apiLatency: options.apiLatency,
    ...(brokenAmis.length > 0 && { brokenAmis }),
  });
  for (const group of world.groups.values()) group.startWithRunningInstances();
  for (const [name, ecs] of world.clusters) {
    const shape = shapes.get(name) as ClusterShape;
    for (const service of shape.services) ecs.createService(service);
    for (const standalone of shape.standaloneTasks) ecs.runStandaloneTasks(standalone);
  }
  if (options.design !== undefined) {
    if (options.controller !== undefined)
      throw new Error('a run deploys the controller or a design, not both');
    options.design.install(world);
  }
  if (hook !== 'none') {
    // The stack puts its hook on every group it serves; the start function drains in the cluster named here.
    for (const group of fleet.groups) {
      // Both hooks publish to the stack's topic and name the group's cluster in their metadata.
      const put = (hookSpec: Pick<HookSpec, 'name' | 'transition' | 'heartbeatTimeout' | 'defaultResult'>) =>
        world.groups.get(group.name)?.putLifecycleHook({
          ...hookSpec,
          notify: hook === 'notify',
          metadata: JSON.stringify({ cluster: group.cluster }),
        });
      put({
        name: STACK.hookName,
        transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        heartbeatTimeout: options.heartbeatTimeout,
        defaultResult: 'CONTINUE',
      });
      // Launch readiness: new instances wait until ECS can use them, abandoned at the timeout.
      const launchHook = options.controller?.launchHook;
      if (launchHook !== undefined && (launchHook.clusters ?? [group.cluster]).includes(group.cluster)) {
        put({
          name: launchHook.name,
          transition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
          heartbeatTimeout: launchHook.timeoutSeconds,
          defaultResult: 'ABANDON',
        });
      }
    }
  }
  return world;
}

export async function runScenario(options: ScenarioOptions): Promise<RunResult> {
  const fleet = fleetOf(options);
  const world = buildWorld(options, options.controller ? 'notify' : 'none');
  setActive(world);
  if (options.disconnectAgentOnDrain) {
    world.onInstanceChanged = (instance, group) => {
      if (instance.state === 'Terminating:Wait') world.clusterOf(group).disconnectAgent(instance.id);
    };
  }
  const { clock } = world;
  await clock.run(SETTLE_SECONDS);

  const actionAt = SETTLE_SECONDS;
  clock.at(actionAt, () => act(world, options));
  const groups = [...world.groups.values()];
  const originals = new Set(groups.flatMap((group) => [...group.instances.keys()]));
  const instancesToReplace =
    options.scenario === 'instance-refresh' || AMI_SCENARIOS.includes(options.scenario)
      ? originals.size
      : groups.reduce((sum, group) => sum + Math.min(targetCount(options), group.instances.size), 0);
  let settled = false;
  /** The last phase each group's blue/green rollout was seen in (its tag is deleted once done). */
  const phases = new Map<string, string>();
  let rollbackAsked = false;
  const check = () => {
    for (const group of groups) {
      const phase = phaseOf(group.tags.get(BLUE_GREEN_TAG)?.value);
      if (phase !== undefined) phases.set(group.spec.name, phase);
      else if (phases.has(group.spec.name) && phases.get(group.spec.name) !== 'rolled-back')
        phases.set(group.spec.name, 'done');
      const rollback = options.rollbackDuringBurnIn;
      if (rollback !== undefined && phase === 'standby' && !rollbackAsked && world.watchAmi !== undefined) {
        rollbackAsked = true;
        const input = { action: 'rollback', autoScalingGroupName: group.spec.name };
        clock.after(rollback.burnInSeconds / 2, () => world.watchAmi?.enqueue(input));
      }
    }
    if (clock.now > actionAt && isSettled(world, options, phases)) settled = true;
    options.onProgress?.(progress(world, originals, instancesToReplace));
    if (!settled) clock.after(CHECK_SECONDS, check);
  };
  clock.at(actionAt + CHECK_SECONDS, check);
  await clock.run(actionAt + options.maxSimulatedHours * 3600, () => settled);
  setActive(undefined);

  return {
    scenario: options.scenario,
    withController: options.controller !== undefined,
    seed: options.seed,
    shape: (fleet.clusters[0] as FleetCluster).shape,
    fleet,
    actionAt,
    endedAt: clock.now,
    settled,
    recorder: world.recorder,
    lambdas: Object.fromEntries(
      [
        world.startDrain,
        world.finishDrain,
        world.reconcile,
        world.launchReadiness,
        world.watchAmi,
        ...world.designFunctions,
      ].flatMap((lambda) => (lambda ? [[lambda.name, lambda.stats]] : [])),
    ),
    ...(world.taskEventSource && { taskEventSource: world.taskEventSource.stats }),
    ...(world.lifecycleEventSource && { lifecycleEventSource: world.lifecycleEventSource.stats }),
    deadLetters: world.failureQueue.messages().length,
    apiCalls: Object.fromEntries(world.api.calls),
    throttledCalls: world.api.throttled.count,
    lostResponses: world.api.lostResponses?.count ?? 0,
    droppedEvents: world.droppedEvents,
    duplicatedEvents: world.duplicatedEvents,
    scheduledRuns: { skipped: world.skippedScheduledRuns, duplicated: world.duplicatedScheduledRuns },
    retries: world.retries.report(),
    published: world.api.published ?? [],
    refreshes: [...world.groups.values()].flatMap((group): RefreshOutcome[] => {
      const phase = phases.get(group.spec.name);
      if (phase !== undefined)
        return [
          {
            group: group.spec.name,
            strategy: 'blue-green',
            status: phase === 'done' ? 'Successful' : phase === 'rolled-back' ? 'RolledBack' : phase,
            percentageComplete: 0,
            rolledBack: phase === 'rolled-back' || phase === 'rolling-back',
          },
        ];
      const refresh = group.refresh;
      if (refresh === undefined) return [];
      return [
        {
          group: group.spec.name,
          status: refresh.status,
          ...(refresh.statusReason !== undefined && { statusReason: refresh.statusReason }),
          percentageComplete: refresh.percentageComplete,
          rolledBack: refresh.rollbackDetails !== undefined,
        },
      ];
    }),
  };
}

/** The world a run is playing right now, for the local endpoint to serve. */
export let activeWorld: World | undefined;

/** Makes `world` the one the local endpoint and the in-process transport serve (undefined: none). */
export function setActive(world: World | undefined): void {
  activeWorld = world;
}

function targetCount(options: ScenarioOptions): number {
  return options.scenario === 'scale-in' ? options.scaleInBy : options.interruptions;
}

/** The scenario's action, on every group of the account. */
function act(world: World, options: ScenarioOptions): void {
  if (AMI_SCENARIOS.includes(options.scenario)) {
    // AWS publishes a new recommended AMI. The stack's watcher rolls it out on its schedule; without
    // it, the operator refreshes every group to it the way most do (Auto Scaling's defaults).
    world.ssm.publishEcsOptimizedAmi('amazon-linux-2023', NEW_AMI);
    if (world.watchAmi !== undefined) return;
  }
  // Groups on a launch template refresh to a new version of it with the new AMI (one per template).
  const newVersions = new Map<string, string>();
  for (const group of world.groups.values()) {
    const template = group.launchTemplate;
    const refreshes = options.scenario === 'instance-refresh' || AMI_SCENARIOS.includes(options.scenario);
    if (refreshes && template !== undefined) {
      let version = newVersions.get(template.launchTemplateId);
      if (version === undefined) {
        const created = world.ec2.createLaunchTemplateVersion({
          launchTemplateId: template.launchTemplateId,
          sourceVersion: template.version,
          data: { imageId: NEW_AMI },
        });
        version = String(created.versionNumber);
        newVersions.set(template.launchTemplateId, version);
      }
      group.startInstanceRefresh({
        ...options.refresh,
        desiredConfiguration: { launchTemplate: { launchTemplateId: template.launchTemplateId, version } },
      });
    } else if (refreshes) {
      group.startInstanceRefresh({ amiId: NEW_AMI, ...options.refresh });
    } else if (options.scenario === 'scale-in') {
      group.setDesiredCapacity(group.desired - options.scaleInBy);
    } else {
      // Spot-style: EC2 takes the instances away; the group notices a minute later.
      const victims = [...group.instances.keys()].slice(0, options.interruptions);
      for (const id of victims) group.terminateEc2Instance(id, 60);
    }
  }
}

/** Every group at its desired capacity, in service (refreshed, for a refresh), every cluster's services healthy. */
/** The phase a blue/green tag value records (`v=1;phase=standby;...`). */
function phaseOf(tag: string | undefined): string | undefined {
  return tag === undefined ? undefined : /(?:^|;)phase=([a-z-]+)/.exec(tag)?.[1];
}

function isSettled(world: World, options: ScenarioOptions, phases: Map<string, string>): boolean {
  if (options.scenario === 'blue-green' && world.watchAmi !== undefined) {
    // Settled once every group's rollout ended (done, or rolled back) and its services are whole again.
    const ended = [...world.groups.values()].every((group) =>
      ['done', 'rolled-back'].includes(phases.get(group.spec.name) ?? ''),
    );
    if (!ended) return false;
    return [...world.clusters.values()].every((ecs) =>
      [...ecs.services.values()].every(
        (service) => service.spec.daemon || service.healthyCount >= service.spec.desiredCount,
      ),
    );
  }
  if (options.scenario === 'bad-ami') {
    // Settled once every refresh ended and the fleet recovered, or a while after, as it stays.
    const refreshes = [...world.groups.values()].map((group) => group.refresh);
    if (refreshes.some((refresh) => refresh === undefined || !REFRESH_ENDED.has(refresh.status)))
      return false;
    const ended = Math.max(...refreshes.map((refresh) => refresh?.endedAt ?? 0));
    if (world.clock.now >= ended + AFTER_REFRESH_SECONDS) return true;
  }
  for (const group of world.groups.values()) {
    const instances = [...group.instances.values()];
    if (instances.some((instance) => instance.state !== 'InService' || instance.ec2Gone)) return false;
    if (instances.length !== group.desired) return false;
    const refreshed = ['instance-refresh', 'ami-update', 'blue-green'].includes(options.scenario);
    if (refreshed && group.refresh?.status !== 'Successful') return false;
    if (options.scenario === 'bad-ami' && !REFRESH_ENDED.has(group.refresh?.status ?? '')) return false;
  }
  return [...world.clusters.values()].every((ecs) =>
    [...ecs.services.values()].every(
      (service) => service.spec.daemon || service.healthyCount >= service.spec.desiredCount,
    ),
  );
}

function progress(world: World, originals: Set<string>, instancesToReplace: number): Progress {
  const groups = [...world.groups.values()];
  const instances = groups.flatMap((group) => [...group.instances.values()]);
  const gone = [...originals].filter((id) => !groups.some((group) => group.instances.has(id))).length;
  return {
    simulatedSeconds: world.clock.now,
    instancesReplaced: gone,
    instancesToReplace,
    draining: instances.filter((instance) => instance.state === 'Terminating:Wait').length,
    inService: instances.filter((instance) => instance.state === 'InService').length,
  };
}
