import { z } from 'zod';
import type { RetryStats } from './api/retry';
import type { ApiFaults } from './api/server';
import type { Controller } from './controller';
import { type DeliveryFaults, type LambdaStats, NO_DELIVERY_FAULTS } from './delivery';
import type { EcsOptions } from './ecs';
import type { EventSourceStats } from './sqs';
import { type Recorder, STACK, World } from './world';

/** A cluster to rehearse on: the shape `--config file.json` describes. */
export const ServiceShape = z.object({
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
});

export const StandaloneShape = z.object({
  family: z.string().min(1),
  count: z.number().int().min(1).default(1),
  cpu: z.number().int().positive().default(256),
  memory: z.number().int().positive().default(512),
  runSeconds: z.number().positive().optional(),
});

export const ClusterShape = z.object({
  instances: z.number().int().min(1).max(5000),
  instanceCpu: z.number().int().positive().default(2048),
  instanceMemory: z.number().int().positive().default(8192),
  /** Seconds from launch until the ECS agent registers the instance. */
  bootSeconds: z.number().positive().default(75),
  /** Seconds from launch until the instance passes EC2 health checks. */
  healthySeconds: z.number().positive().default(30),
  shutdownSeconds: z.number().positive().default(20),
  services: z.array(ServiceShape).min(1),
  standaloneTasks: z.array(StandaloneShape).default([]),
});
export type ClusterShape = z.infer<typeof ClusterShape>;
/** A shape as written in a --config file, before defaults are filled in. */
export type ClusterShapeInput = z.input<typeof ClusterShape>;

/** The built-in demo: a small cluster with the deployment settings people really use. */
export function demoShape(instances = 6): ClusterShape {
  const perInstance = instances / 6;
  return ClusterShape.parse({
    instances,
    services: [
      {
        name: 'web',
        desiredCount: Math.round(6 * perInstance),
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        startupSeconds: 60,
        stopSeconds: 90,
        memory: 1024,
      },
      {
        name: 'api',
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

export type ScenarioName = 'instance-refresh' | 'scale-in' | 'spot';
export const SCENARIOS: ScenarioName[] = ['instance-refresh', 'scale-in', 'spot'];

export interface ScenarioOptions {
  scenario: ScenarioName;
  seed: number;
  shape: ClusterShape;
  /** The real handlers; absent: the baseline, an Auto Scaling group without any termination hook. */
  controller?: Controller;
  heartbeatTimeout: number;
  refresh: { minHealthyPercentage: number; maxHealthyPercentage?: number; instanceWarmup: number };
  /** Instances removed by the scale-in scenario. */
  scaleInBy: number;
  /** Instances interrupted by the spot scenario. */
  interruptions: number;
  deliveryFaults: DeliveryFaults;
  apiFaults: ApiFaults;
  /** How ECS's reads lag, and how long it takes to notice a terminated EC2 instance. */
  ecs: EcsOptions;
  /** Simulated seconds an API call takes. */
  apiLatency: [number, number];
  /** The ECS agent of every instance that enters Terminating:Wait disconnects at that moment. */
  disconnectAgentOnDrain?: boolean;
  maxSimulatedHours: number;
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
  shape: ClusterShape;
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
  /** The SDK's retries, per client. */
  retries: Record<string, RetryStats>;
  /** Alerts the functions published to the stack's alert topic. */
  published?: { topicArn: string; subject: string; message: string; at: number }[];
}

/** Time for initial placement before the scenario acts: every task is healthy by then. */
export const SETTLE_SECONDS = 600;
const CHECK_SECONDS = 30;
const NEW_AMI = 'ami-0new0000000000002';
const OLD_AMI = 'ami-0old0000000000001';

/** The simulated account with the cluster's instances, services and tasks, and the hook when a controller runs. */
export function buildWorld(options: ScenarioOptions, hook: 'notify' | 'silent' | 'none'): World {
  const { shape } = options;
  const world = new World({
    seed: options.seed,
    clusters: [STACK.clusterName],
    groups: [
      {
        name: STACK.groupName,
        cluster: STACK.clusterName,
        desiredCapacity: shape.instances,
        minSize: 0,
        maxSize: shape.instances * 2 + 1,
        instanceCpu: shape.instanceCpu,
        instanceMemory: shape.instanceMemory,
        amiId: OLD_AMI,
        bootSeconds: shape.bootSeconds,
        healthySeconds: shape.healthySeconds,
        shutdownSeconds: shape.shutdownSeconds,
      },
    ],
    controller: options.controller,
    deliveryFaults: options.deliveryFaults,
    apiFaults: options.apiFaults,
    ecs: options.ecs,
    apiLatency: options.apiLatency,
  });
  world.group.startWithRunningInstances();
  for (const service of shape.services) world.ecs.createService(service);
  for (const standalone of shape.standaloneTasks) world.ecs.runStandaloneTasks(standalone);
  if (hook !== 'none') {
    world.group.putLifecycleHook({
      name: STACK.hookName,
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: options.heartbeatTimeout,
      defaultResult: 'CONTINUE',
      notify: hook === 'notify',
      metadata: JSON.stringify({ cluster: STACK.clusterName }),
    });
  }
  return world;
}

export async function runScenario(options: ScenarioOptions): Promise<RunResult> {
  const { shape } = options;
  const world = buildWorld(options, options.controller ? 'notify' : 'none');
  setActive(world);
  if (options.disconnectAgentOnDrain) {
    world.onInstanceChanged = (instance) => {
      if (instance.state === 'Terminating:Wait') world.ecs.disconnectAgent(instance.id);
    };
  }
  const { clock } = world;
  await clock.run(SETTLE_SECONDS);

  const actionAt = SETTLE_SECONDS;
  clock.at(actionAt, () => act(world, options));
  const originals = new Set(world.group.instances.keys());
  const instancesToReplace = options.scenario === 'instance-refresh' ? originals.size : targetCount(options);
  let settled = false;
  const check = () => {
    if (clock.now > actionAt && isSettled(world, options)) settled = true;
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
    shape,
    actionAt,
    endedAt: clock.now,
    settled,
    recorder: world.recorder,
    lambdas: Object.fromEntries(
      [world.startDrain, world.finishDrain, world.reconcile].flatMap((lambda) =>
        lambda ? [[lambda.name, lambda.stats]] : [],
      ),
    ),
    ...(world.taskEventSource && { taskEventSource: world.taskEventSource.stats }),
    ...(world.lifecycleEventSource && { lifecycleEventSource: world.lifecycleEventSource.stats }),
    deadLetters: world.failureQueue.messages().length,
    apiCalls: Object.fromEntries(world.api.calls),
    throttledCalls: world.api.throttled.count,
    lostResponses: world.api.lostResponses?.count ?? 0,
    retries: world.retries.report(),
    published: world.api.published ?? [],
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

function act(world: World, options: ScenarioOptions): void {
  const { group } = world;
  if (options.scenario === 'instance-refresh') {
    group.startInstanceRefresh({ amiId: NEW_AMI, ...options.refresh });
  } else if (options.scenario === 'scale-in') {
    group.setDesiredCapacity(group.desired - options.scaleInBy);
  } else {
    // Spot-style: EC2 takes the instances away; the group notices a minute later.
    const victims = [...group.instances.keys()].slice(0, options.interruptions);
    for (const id of victims) group.terminateEc2Instance(id, 60);
  }
}

function isSettled(world: World, options: ScenarioOptions): boolean {
  const { group, ecs } = world;
  const instances = [...group.instances.values()];
  if (instances.some((instance) => instance.state !== 'InService' || instance.ec2Gone)) return false;
  if (instances.length !== group.desired) return false;
  if (options.scenario === 'instance-refresh' && group.refresh?.status !== 'Successful') return false;
  return [...ecs.services.values()].every(
    (service) => service.spec.daemon || service.healthyCount >= service.spec.desiredCount,
  );
}

function progress(world: World, originals: Set<string>, instancesToReplace: number): Progress {
  const instances = [...world.group.instances.values()];
  const gone = [...originals].filter((id) => !world.group.instances.has(id)).length;
  return {
    simulatedSeconds: world.clock.now,
    instancesReplaced: gone,
    instancesToReplace,
    draining: instances.filter((instance) => instance.state === 'Terminating:Wait').length,
    inService: instances.filter((instance) => instance.state === 'InService').length,
  };
}
