import { loadController, type Transport } from '../controller';
import { median } from '../metrics';
import {
  buildWorld,
  ClusterShape,
  defaultOptions,
  runScenario,
  type RunResult,
  type ScenarioOptions,
  SETTLE_SECONDS,
  setActive,
} from '../scenario';
import { awsSample } from './aws-sample';
import { cdkDrainHook } from './cdk-drain-hook';
import type { Design } from './design';
import { designRow, type DesignRow, type IrrelevantEvents } from './measures';
import { queueDelay } from './queue-delay';
import { twoLambda } from './two-lambda';

/**
 * The designs compared in `npm run bench`'s designs section: ours, each other tool's design
 * (sim/designs/*.ts), and no hook at all, each deployed alone into the same cluster with the same
 * seed, ECS's token buckets and the SDK's retries on.
 */
export interface DesignEntry {
  name: string;
  description: string;
  /** The scenario's options with this design deployed. */
  deploy(options: ScenarioOptions): ScenarioOptions;
}

export function designEntries(
  transport: Transport,
  { ecsReadsPerSecond }: { ecsReadsPerSecond?: number } = {},
): DesignEntry[] {
  const alternative = (design: Design): DesignEntry => ({
    name: design.name,
    description: design.description,
    deploy: (options) => ({ ...options, design }),
  });
  return [
    {
      name: 'ours',
      description:
        'this stack: SNS -> SQS -> start, task events -> SQS -> finish, reconciler each minute (launch readiness off: no launch hook in this comparison)',
      // template.yaml's defaults, launch readiness off: the other designs put no launch hook, and
      // the same world must run for every row.
      deploy: (options) => ({
        ...options,
        controller: loadController(transport, {
          heartbeatTimeout: options.heartbeatTimeout,
          drain: { launchReadiness: false, ...(ecsReadsPerSecond !== undefined && { ecsReadsPerSecond }) },
        }),
      }),
    },
    alternative(cdkDrainHook(transport)),
    alternative(awsSample(transport, { loopDetection: true })),
    alternative(awsSample(transport, { loopDetection: false })),
    alternative(twoLambda(transport)),
    alternative(queueDelay(transport)),
    alternative(queueDelay(transport, { countStopping: true })),
    {
      name: 'no-hook',
      description: 'no termination hook: Auto Scaling terminates at once',
      deploy: (o) => o,
    },
  ];
}

/**
 * The cluster every design drains: ten instances, no daemon (a daemon stops last, after the replicas
 * have STOPPED, and would hide a count of desired-RUNNING tasks reaching 0 too early), services whose
 * tasks take minutes to stop (a load balancer's deregistration delay plus the stop timeout), and one
 * whose replacements take 9 minutes to become healthy and whose tasks take 7 minutes to stop, so that
 * the drains of its hosts last longer than 15 minutes.
 */
export function designsShape(instances = DESIGNS_INSTANCES): ClusterShape {
  const per = (share: number) => Math.max(1, Math.round(instances * share));
  return ClusterShape.parse({
    instances,
    services: [
      {
        name: 'web',
        desiredCount: per(1),
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        memory: 1024,
        startupSeconds: 60,
        stopSeconds: 240,
      },
      {
        name: 'api',
        desiredCount: per(0.5),
        minimumHealthyPercent: 50,
        maximumPercent: 100,
        staticHostPort: true,
        cpu: 512,
        memory: 1024,
        startupSeconds: 40,
        stopSeconds: 150,
      },
      {
        name: 'worker',
        desiredCount: per(0.8),
        minimumHealthyPercent: 0,
        maximumPercent: 100,
        startupSeconds: 10,
        stopSeconds: 300,
      },
      {
        name: 'slow',
        desiredCount: per(0.3),
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        cpu: 512,
        memory: 2048,
        // Healthy within the settling time (SETTLE_SECONDS), yet its hosts' drains last over 15 minutes:
        // the replacement's 9 minutes to healthy, then the old task's 7 minutes to stop.
        startupSeconds: 540,
        stopSeconds: 420,
      },
    ],
  });
}

/** The designs cluster's size: big enough that the reconciler's fixed cost is shared by many drains, small enough to run in seconds. */
export const DESIGNS_INSTANCES = 30;

/** An instance refresh of the designs cluster (Auto Scaling's MinHealthyPercentage 90, warm-up 60 s). */
function designsScenario(seed: number, shape: ClusterShape = designsShape()): ScenarioOptions {
  return { ...defaultOptions(shape), seed, maxSimulatedHours: 6 };
}

/**
 * A busy cluster where tasks end all the time and nothing drains (the bench's irrelevantEvents run, at
 * the designs' scale): 20 instances, 4 standalone jobs a second for 5 minutes, each running 20 to 60 s.
 * Counts the jobs' STOPPED events and the ECS reads the design made meanwhile.
 */
export async function irrelevantEvents(entry: DesignEntry, seed: number): Promise<IrrelevantEvents> {
  const shape = ClusterShape.parse({
    instances: 20,
    instanceCpu: 4096,
    instanceMemory: 16384,
    services: [{ name: 'api', desiredCount: 20, minimumHealthyPercent: 50, maximumPercent: 200 }],
  });
  const options = entry.deploy({ ...defaultOptions(shape), seed });
  const world = buildWorld(options, options.controller ? 'notify' : 'none');
  setActive(world);
  try {
    const { clock } = world;
    await clock.run(SETTLE_SECONDS);
    const from = clock.now;
    const jobs: { lastStatus: string }[] = [];
    for (let second = 0; second < 300; second++) {
      clock.at(from + second, () => {
        for (let job = 0; job < 4; job++)
          jobs.push(
            ...world.ecs.runStandaloneTasks({
              family: 'job',
              count: 1,
              cpu: 128,
              memory: 256,
              runSeconds: world.random.between(20, 60),
            }),
          );
      });
    }
    await clock.run(from + 300 + 120);
    return {
      taskStoppedEvents: jobs.filter((job) => job.lastStatus === 'STOPPED').length,
      ecsReads: world.recorder.ecsReadTimes.filter((at) => at >= from).length,
    };
  } finally {
    setActive(undefined);
  }
}

/** One design through the refresh (and, unless told not to, the busy cluster): its run and its row. */
export async function measureDesign(
  entry: DesignEntry,
  {
    seed,
    floorSeconds,
    shape,
    busyCluster = true,
  }: { seed: number; floorSeconds?: number | null; shape?: ClusterShape; busyCluster?: boolean },
): Promise<{ result: RunResult; row: DesignRow }> {
  const result = await runScenario(entry.deploy(designsScenario(seed, shape)));
  const floor = floorSeconds ?? deliveryFloor(result);
  const irrelevant = busyCluster ? await irrelevantEvents(entry, seed) : undefined;
  return { result, row: designRow(entry.name, result, floor, irrelevant) };
}

/** The twin's event-delivery latency for task events, as the run measured it (only ours has a task event rule). */
export function deliveryFloor(result: RunResult): number | null {
  return median(result.recorder.deliveryDelays);
}
