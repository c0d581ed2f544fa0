import { containerInstanceShape, ECS_BUCKETS, type EcsOperation, taskShape } from './api/ecs-api';
import { RetryCounter } from './api/retry';
import { type ApiFaults, type ApiTarget, newBuckets } from './api/server';
import { TaskDefinitions } from './task-definitions';
import { type AsgInstance, AutoScalingModel, type GroupSpec, type LifecycleAction } from './autoscaling';
import { Clock, isoTime, Random, simEpoch } from './clock';
import type { Controller, SimulatedAccount } from './controller';
import type { AsyncHandler } from './delivery';
import { Ec2Model } from './ec2';
import { SsmParameters } from './ssm';
import { type DeliveryFaults, deliver, type EventPattern, matchesPattern } from './delivery';
import {
  ACCOUNT,
  type ContainerInstance,
  EcsModel,
  type EcsOptions,
  REGION,
  type Service,
  type Task,
} from './ecs';
import { LambdaFunction } from './lambda';
import { SqsEventSource, SqsQueue } from './sqs';
import {
  containerInstancePattern,
  launchSubscriptionFilter,
  queuePipeline,
  scheduledInvocations,
  taskStoppedPattern,
} from './template';

/**
 * The names the simulated stack is deployed with; the real handlers read them from the environment.
 * They are the names of events/env.json, so `sam local invoke --env-vars events/env.json` against
 * `npm run sim:serve` finds the cluster and group it expects.
 */
export const STACK = {
  clusterName: 'prod',
  groupName: 'prod-ecs-asg',
  hookName: 'ecs-drain',
  alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-drain-AlertTopic',
  /** The stack's DeadlineReachedAlarm, as the AMI watcher names it in a refresh's AlarmSpecification. */
  deadlineAlarmName: 'ecs-drain-DeadlineReachedAlarm',
} as const;

export interface InstanceLane {
  id: string;
  /** The Auto Scaling group that launched it. */
  group: string;
  amiId: string;
  launchedAt: number;
  inServiceAt?: number;
  waitingAt?: number;
  proceedingAt?: number;
  terminatedAt?: number;
}

export interface EndedAction {
  instanceId: string;
  /** The instance's Auto Scaling group. */
  group: string;
  startedAt: number;
  endedAt: number;
  endedBy: string;
  /** What still ran on the instance when a timeout ended the action. */
  leftOnInstance: string[];
  /** When the last task on the instance reached STOPPED, if any stopped after the action began. */
  lastTaskStoppedAt?: number;
}

/** An "ECS Container Instance State Change" event, as EventBridge carries it (aws-semantics §4.2). */
export interface ContainerInstanceEvent {
  version: '0';
  id: string;
  'detail-type': 'ECS Container Instance State Change';
  source: 'aws.ecs';
  account: string;
  time: string;
  region: string;
  resources: [string];
  detail: Record<string, unknown> & {
    containerInstanceArn: string;
    ec2InstanceId: string;
    clusterArn: string;
    status: string;
    agentConnected: boolean;
    version: number;
    attributes: { name: string; value: string }[];
    updatedAt: string;
  };
}

/** Everything a run observed, for the report and the tests. */
export class Recorder {
  /**
   * Healthy tasks of each service over time, by serviceKey (cluster and service), and whether ECS
   * had room to place one more of its tasks at each change (a service below its floor with room is
   * the controller's fault, not capacity's).
   */
  readonly healthy = new Map<string, { t: number[]; count: number[]; room: boolean[] }>();
  /** Instance ids are unique in the account, across its groups. */
  readonly lanes = new Map<string, InstanceLane>();
  readonly actions: EndedAction[] = [];
  /** Non-daemon tasks that had not stopped when their EC2 instance went away. */
  readonly killedTasks: { instanceId: string; at: number; groups: string[] }[] = [];
  /**
   * Instances Auto Scaling let go (Terminating:Proceed) while a task on them, daemon included, had
   * not reached STOPPED: the controller, or a timeout, released them too early.
   */
  readonly releasedWithTasks: { instanceId: string; at: number; groups: string[] }[] = [];
  /** When the last task on each EC2 instance reached STOPPED. */
  readonly lastTaskStopped = new Map<string, number>();
  /** Simulated second of every ECS read the functions made (the "cluster resource read" bucket). */
  readonly ecsReadTimes: number[] = [];
  /** Seconds from a task event's emission until it was in the queue. */
  readonly deliveryDelays: number[] = [];
  /** Task events put in the queue: tasks STOPPED, and tasks told to stop. */
  readonly taskEventsQueued = { stopped: 0, toldToStop: 0 };
  /** Metrics the functions emitted, by name (counts summed). */
  readonly metrics = new Map<string, number>();
  /** When each metric was emitted (the account's CloudWatch alarms evaluate them over a period). */
  readonly metricTimes = new Map<string, number[]>();
  /** Runs of the reconciler, and what each found. */
  readonly reconcileRuns: { at: number; report: unknown }[] = [];
  lifecycleCompletionsByController = 0;
  /** How every launch lifecycle action ended (launch readiness): completed, or timed out, and with what result. */
  readonly launchActions: {
    instanceId: string;
    group: string;
    startedAt: number;
    endedAt: number;
    endedBy: string;
    result: 'CONTINUE' | 'ABANDON';
  }[] = [];
  /**
   * Instances that went into service while ECS could not use them (no ACTIVE container instance with
   * its agent connected): capacity an instance refresh counted that no task could be placed on.
   */
  readonly inServiceUnready: { instanceId: string; group: string; at: number }[] = [];
  /** Every "ECS Container Instance State Change" event the account's clusters sent, in order. */
  readonly containerInstanceEvents: ContainerInstanceEvent[] = [];

  serviceHealth(name: string, at: number, count: number, room = true): void {
    let series = this.healthy.get(name);
    if (series === undefined) {
      series = { t: [], count: [], room: [] };
      this.healthy.set(name, series);
    }
    const last = series.t.length - 1;
    if (last >= 0 && series.t[last] === at) {
      series.count[last] = count;
      series.room[last] = room;
    } else {
      series.t.push(at);
      series.count.push(count);
      series.room.push(room);
    }
  }
}

/**
 * The Recorder's name for a service: its own name in an account of one cluster (as every report of a
 * one-cluster run has it), `cluster/service` in an account of several, where two clusters may both
 * have a service of that name.
 */
export function serviceKey(clusters: readonly string[], cluster: string, service: string): string {
  return clusters.length === 1 ? service : `${cluster}/${service}`;
}

/** An Auto Scaling group and the cluster its instances join (its launch template's ECS_CLUSTER). */
export interface WorldGroup extends GroupSpec {
  cluster: string;
  /**
   * The group launches from this launch template (created with `amiId` as version 1 unless a group
   * before it created it) at `version` (`$Default` when absent); absent: from `amiId`, no template.
   */
  launchTemplate?: { name: string; version?: string };
}

export interface WorldOptions {
  seed: number;
  /** The account's ECS clusters, by name; the first is `World.ecs`. */
  clusters: string[];
  /** The account's Auto Scaling groups, each feeding one of `clusters`; the first is `World.group`. */
  groups: WorldGroup[];
  controller?: Controller;
  deliveryFaults: DeliveryFaults;
  /** Faults on the way from the hook to the lifecycle queue (SNS); the task events' faults when absent. */
  notificationFaults?: DeliveryFaults;
  apiFaults: ApiFaults;
  ecs?: EcsOptions;
  /** Simulated seconds each API call takes, drawn between the two. */
  apiLatency?: [number, number];
  /** Invocations of the functions whose runtime exits half-way (see LambdaOptions.crashShare). */
  lambdaFaults?: LambdaFaults;
  /** How the reconciler's schedule misbehaves; on time, once per period when absent. */
  scheduleFaults?: ScheduleFaults;
  /** AMIs whose ECS agent never registers (see World.brokenAmis). */
  brokenAmis?: Iterable<string>;
}

/**
 * EventBridge schedules promise neither the second nor exactly one invocation: a run can come late,
 * twice (two runs overlap), or not at all.
 */
export interface ScheduleFaults {
  /** Each run comes up to this many seconds late. */
  jitterSeconds: number;
  /** Share of runs invoked twice. */
  duplicate: number;
  /** Share of runs that never happen. */
  skip: number;
}

export interface LambdaFaults {
  crashShare: number;
  /** Crashes come within this many seconds of handler time. Default 1: most invocations take less. */
  crashWithinSeconds?: number;
}

/** Seconds from an event until EventBridge or SNS hands it on (to the queue, or to Lambda). */
const DELIVERY_LATENCY: [number, number] = [0.2, 1.5];
/** Seconds a new Lambda container takes before its handler runs. */
export const COLD_START_SECONDS = 0.4;

/**
 * The simulated account: clock, ECS clusters, Auto Scaling groups, and the delivery paths between them.
 * One stack serves them all: one rule for every cluster's task events, one topic for every group's
 * lifecycle notifications, one queue each.
 */
export class World {
  readonly clock = new Clock();
  /** The cluster's own randomness: instance ids, task ids, image pull times. */
  readonly random: Random;
  /**
   * Everything between the cluster and the controller: delivery latency and faults, message ids,
   * API faults. Kept apart so that running the controller, or changing its calls, leaves the
   * cluster's randomness as it is and both runs of a comparison start from the same cluster.
   */
  readonly channels: Random;
  /** Every cluster of the account, by name. */
  readonly clusters: ReadonlyMap<string, EcsModel>;
  /** Every Auto Scaling group of the account, by name; each feeds one cluster (`clusterOf`). */
  readonly groups: ReadonlyMap<string, AutoScalingModel>;
  /** The first cluster: the only one of a one-cluster world. */
  readonly ecs: EcsModel;
  /** The first group: the only one of a one-group world. */
  readonly group: AutoScalingModel;
  /** The account's launch templates. */
  readonly ec2: Ec2Model;
  /**
   * The public SSM parameters of the ECS-optimized AMIs; Amazon Linux 2023 (x86_64) recommends the
   * first group's AMI when the story starts. `ssm.publishEcsOptimizedAmi` publishes a new one.
   */
  readonly ssm: SsmParameters;
  /**
   * The account's task definitions, which every cluster runs from: each service and standalone
   * family has its revision 1. `taskDefinitions.brokenImages` lists images that crash (besides any
   * tagged `broken` or `*-broken`).
   */
  readonly taskDefinitions: TaskDefinitions;
  readonly recorder = new Recorder();
  readonly startDrain?: LambdaFunction;
  readonly finishDrain?: LambdaFunction;
  /** Invoked by its schedule (EventBridge, asynchronous invocation) every `reconcileSeconds`. */
  readonly reconcile?: LambdaFunction;
  /** The AMI watcher (AmiWatcher enabled), invoked by each of its Schedule events. */
  readonly watchAmi?: LambdaFunction;
  /** What each run of the AMI watcher reported, in order. */
  readonly watchAmiRuns: { at: number; input: unknown; report: unknown }[] = [];
  /** Subscribed to the hook's SNS topic (raw delivery): lifecycle notifications wait here for the start function. */
  readonly lifecycleNotifications?: SqsQueue;
  readonly lifecycleEventSource?: SqsEventSource;
  /** EventBridge rule target: task STOPPED events wait here for the finish function. */
  readonly taskEvents?: SqsQueue;
  readonly taskEventSource?: SqsEventSource;
  /** Launch readiness (LaunchReadiness enabled), fed by its queue. */
  readonly launchReadiness?: LambdaFunction;
  /**
   * The launch hook's notifications (the topic's subscription filtered to launches) and the served
   * clusters' container instance events (ContainerInstanceRule) wait here for launch readiness.
   */
  readonly launches?: SqsQueue;
  readonly launchEventSource?: SqsEventSource;
  /** Where the task event queue's redrive policy moves a message received too often. */
  readonly failureQueue: SqsQueue;
  readonly retries: RetryCounter;
  /** What the functions deployed here get from the account: retries on its clock, a metrics sink. */
  readonly account: SimulatedAccount;
  readonly api: ApiTarget;
  /** Told of every change of an Auto Scaling instance, for scenarios that act on them. */
  onInstanceChanged?: (instance: AsgInstance, group: AutoScalingModel) => void;
  /**
   * Told of every "ECS Container Instance State Change" event the moment ECS sends it (before any
   * delivery latency): where a rule on these events (matchesPattern) can route them to a target.
   */
  onContainerInstanceEvent?: (event: ContainerInstanceEvent, ecs: EcsModel) => void;
  /**
   * Told of every lifecycle notification the moment Auto Scaling publishes it to the hook's topic:
   * where another design's subscription (sim/designs) takes it, through `deliverLater`.
   */
  onLifecycleNotification?: (message: Record<string, string>) => void;
  /** The Lambda functions of a design deployed in place of the controller (sim/designs), for the run's report. */
  readonly designFunctions: LambdaFunction[] = [];
  /**
   * AMIs that boot but whose ECS agent never connects: an instance launched from one passes its EC2
   * health checks and goes InService, yet never registers in its cluster, so nothing is placed on
   * it. A scenario may add one while the run goes on ("a broken AMI is published").
   */
  readonly brokenAmis: Set<string>;
  /**
   * The account's CloudWatch alarms, by name: whether each is in ALARM now. The stack's
   * DeadlineReachedAlarm (Sum of DeadlineReached over 300 s > 0, template.yaml) is there from the start;
   * a scenario may add others.
   */
  readonly alarms = new Map<string, () => boolean>();
  /** Events SNS or EventBridge lost on the way to a queue (a fault the run asked for). */
  droppedEvents = 0;
  /** Events and notifications delivered twice (a fault the run asked for). */
  duplicatedEvents = 0;
  /** Reconciler runs the schedule skipped, and runs it invoked twice (ScheduleFaults). */
  skippedScheduledRuns = 0;
  duplicatedScheduledRuns = 0;
  private readonly rule: EventPattern;
  /** ContainerInstanceRule's pattern and the launch subscription's filter policy, with launch readiness. */
  private readonly launchRule?: EventPattern;
  private readonly launchFilter?: EventPattern;
  /** Ids of container instance events: drawn apart, so that recording them changes no other draw. */
  private readonly instanceEventIds: Random;
  private readonly clusterOfGroup = new Map<AutoScalingModel, EcsModel>();

  constructor(private readonly options: WorldOptions) {
    this.random = new Random(options.seed);
    this.channels = new Random(options.seed ^ 0x5bd1e995);
    this.instanceEventIds = new Random(options.seed ^ 0x2545f491);
    this.brokenAmis = new Set(options.brokenAmis ?? []);
    this.alarms.set(STACK.deadlineAlarmName, () =>
      (this.recorder.metricTimes.get('DeadlineReached') ?? []).some((at) => this.clock.now - at < 300),
    );
    this.ec2 = new Ec2Model(this.clock);
    this.taskDefinitions = new TaskDefinitions(() => this.clock.now);
    this.ssm = new SsmParameters(this.clock, {
      'amazon-linux-2023': options.groups[0]?.amiId,
    });
    const { clock, channels, recorder } = this;
    const clusterNames = options.clusters;
    if (clusterNames.length === 0 || new Set(clusterNames).size !== clusterNames.length)
      throw new Error(`a world needs one or more clusters, each named once: ${clusterNames.join(', ')}`);
    const groupNames = options.groups.map((group) => group.name);
    if (groupNames.length === 0 || new Set(groupNames).size !== groupNames.length)
      throw new Error(`a world needs one or more groups, each named once: ${groupNames.join(', ')}`);
    // One rule for every cluster, as template.yaml's ClusterNames list makes it.
    const stack = {
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      ClusterNames: clusterNames,
    };
    this.rule = taskStoppedPattern(stack);
    // Every cluster and group draws on the one `random`: ids differ across them (one Random per
    // group, seeded alike, would give two groups the same instance ids).
    const clusters = new Map(clusterNames.map((name) => [name, this.newCluster(name, clusterNames)]));
    const groups = new Map(options.groups.map((spec) => [spec.name, this.newGroup(spec, clusters)]));
    this.clusters = clusters;
    this.groups = groups;
    this.ecs = clusters.get(clusterNames[0] as string) as EcsModel;
    this.group = groups.get(groupNames[0] as string) as AutoScalingModel;
    this.failureQueue = new SqsQueue('ecs-drain-FailureQueue', clock, channels, {
      messageRetentionSeconds: 1209600,
    });
    this.retries = new RetryCounter(clock, channels);
    this.account = {
      stack: {
        clusters: [...clusters.keys()],
        groups: options.groups.map((group) => ({ autoScalingGroupName: group.name, cluster: group.cluster })),
      },
      retryStrategy: (client, maxAttempts) => this.retries.strategy(client, maxAttempts),
      recordMetric: (name, value = 1) => {
        recorder.metrics.set(name, (recorder.metrics.get(name) ?? 0) + value);
        const times = recorder.metricTimes.get(name) ?? [];
        times.push(clock.now);
        recorder.metricTimes.set(name, times);
      },
      timing: {
        now: () => simEpoch() + clock.now * 1000,
        sleep: (milliseconds) => clock.sleep(milliseconds / 1000),
      },
    };
    if (options.controller) {
      const functions = options.controller.deploy(this.account);
      const deployFunction = (
        name: string,
        factory: () => AsyncHandler,
        queueName: string,
        which: Parameters<typeof queuePipeline>[0],
      ) => {
        const pipeline = queuePipeline(which);
        const fn = new LambdaFunction(clock, {
          name,
          factory,
          timeoutSeconds: pipeline.functionTimeoutSeconds,
          concurrency: 1000,
          coldStartSeconds: COLD_START_SECONDS,
          random: channels,
          ...options.lambdaFaults,
        });
        const queue = new SqsQueue(queueName, clock, channels, {
          visibilityTimeoutSeconds: pipeline.visibilityTimeoutSeconds,
          messageRetentionSeconds: 86400,
          redrivePolicy: {
            deadLetterTargetQueue: this.failureQueue,
            maxReceiveCount: pipeline.maxReceiveCount,
          },
        });
        return { fn, queue, source: new SqsEventSource(queue, fn, clock, pipeline.eventSource) };
      };
      const start = deployFunction(
        'start-drain',
        functions.startDrain,
        'ecs-drain-LifecycleQueue',
        'lifecycle-notifications',
      );
      this.startDrain = start.fn;
      this.lifecycleNotifications = start.queue;
      this.lifecycleEventSource = start.source;
      const finish = deployFunction(
        'finish-drain',
        functions.finishDrain,
        'ecs-drain-TaskEventQueue',
        'task-events',
      );
      this.finishDrain = finish.fn;
      this.taskEvents = finish.queue;
      this.taskEventSource = finish.source;
      if (functions.launchReadiness !== undefined) {
        const launch = deployFunction(
          'launch-readiness',
          functions.launchReadiness,
          'ecs-drain-LaunchQueue',
          'launches',
        );
        this.launchReadiness = launch.fn;
        this.launches = launch.queue;
        this.launchEventSource = launch.source;
        this.launchRule = containerInstancePattern(stack);
        this.launchFilter = launchSubscriptionFilter();
      }
      if (functions.reconcile !== undefined)
        this.reconcile = this.scheduleFunction(
          'reconcile',
          'ReconcileFunction',
          functions.reconcile,
          (_, report) => this.recorder.reconcileRuns.push({ at: clock.now, report }),
        );
      if (functions.watchAmi !== undefined)
        this.watchAmi = this.scheduleFunction(
          'watch-ami',
          'WatchAmiFunction',
          functions.watchAmi,
          (input, report) => this.watchAmiRuns.push({ at: clock.now, input, report }),
        );
    }
    this.api = {
      clusters,
      taskDefinitions: this.taskDefinitions,
      groups,
      ec2: this.ec2,
      ssm: this.ssm,
      clock,
      random: channels,
      faults: options.apiFaults,
      calls: new Map(),
      throttled: { count: 0 },
      lostResponses: { count: 0 },
      buckets: newBuckets(),
      latency: options.apiLatency ?? [0, 0],
      topics: [STACK.alertTopicArn],
      onCall: (key) => {
        const operation = key.startsWith('ecs:') ? (key.slice(4) as EcsOperation) : undefined;
        if (operation !== undefined && ECS_BUCKETS[operation] === 'cluster-resource-read') {
          recorder.ecsReadTimes.push(clock.now);
        }
      },
    };
  }

  private newCluster(name: string, clusterNames: readonly string[]): EcsModel {
    const { clock, recorder } = this;
    const ecs: EcsModel = new EcsModel(
      name,
      clock,
      this.random,
      {
        taskChanged: (task) => this.publishTaskEvent(task, ecs),
        containerInstanceChanged: (instance) => this.publishContainerInstanceEvent(instance, ecs),
        serviceHealthChanged: (service: Service) =>
          recorder.serviceHealth(
            serviceKey(clusterNames, name, service.spec.name),
            clock.now,
            service.healthyCount,
            service.healthyCount >= service.floor || ecs.hasRoomFor(service),
          ),
      },
      { ...this.options.ecs, taskDefinitions: this.taskDefinitions },
    );
    return ecs;
  }

  /** A group whose booted instances register in its cluster, and whose changes the recorder sees. */
  private newGroup(spec: WorldGroup, clusters: ReadonlyMap<string, EcsModel>): AutoScalingModel {
    const ecs = clusters.get(spec.cluster);
    if (ecs === undefined)
      throw new Error(`group ${spec.name} feeds cluster ${spec.cluster}, not in the world`);
    const group: AutoScalingModel = new AutoScalingModel(
      spec,
      this.clock,
      this.random,
      {
        notify: (message) => this.publishLifecycleNotification(message),
        instanceChanged: (instance) => this.recordLane(instance, group, ecs),
        actionEnded: (action) => this.recordAction(action, group, ecs),
        ec2Booted: (instance) => {
          if (this.brokenAmis.has(instance.amiId)) return; // the agent never connects
          ecs.registerContainerInstance(instance.id, spec.instanceCpu, spec.instanceMemory, instance.amiId);
        },
        ec2Terminated: (instance) => this.ec2Terminated(instance, ecs),
        alarmFiring: (name) => this.alarms.get(name)?.() ?? false,
      },
      this.channels,
    );
    this.clusterOfGroup.set(group, ecs);
    if (spec.launchTemplate !== undefined) {
      const { name, version } = spec.launchTemplate;
      const template =
        [...this.ec2.templates.values()].find((t) => t.name === name) ??
        this.ec2.createLaunchTemplate(name, { imageId: spec.amiId });
      group.useLaunchTemplate(this.ec2, { launchTemplateId: template.id, version: version ?? '$Default' });
    }
    return group;
  }

  /**
   * A scheduled function: every Schedule event of `functionId` in template.yaml (with the stack's
   * parameters, e.g. a shorter AmiWatchSchedule) invokes it asynchronously (retried by Lambda as its
   * EventInvokeConfig says) with the event's input, every period from one period after deployment,
   * as EventBridge does; runs can overlap if one is slow. `record` keeps what each run answered.
   */
  private scheduleFunction(
    name: string,
    functionId: string,
    factory: () => AsyncHandler,
    record: (event: unknown, report: unknown) => void,
  ): LambdaFunction {
    const { invocations, timeoutSeconds, maximumRetryAttempts, maxEventAgeSeconds } = scheduledInvocations(
      functionId,
      this.options.controller?.parameters,
    );
    const fn = new LambdaFunction(this.clock, {
      name,
      factory: () => {
        const handler = factory();
        return async (event, context) => {
          // Lambda's context goes through: a scheduled function paces its run by its remaining time.
          const report = await handler(event, context);
          record(event, report);
          return report;
        };
      },
      timeoutSeconds,
      ...(maximumRetryAttempts !== undefined && { maximumRetryAttempts }),
      ...(maxEventAgeSeconds !== undefined && { maxEventAgeSeconds }),
      concurrency: 1000,
      coldStartSeconds: COLD_START_SECONDS,
      random: this.channels,
      ...this.options.lambdaFaults,
    });
    for (const { periodSeconds, input } of invocations) {
      const tick = () => {
        const event = input ?? {
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          time: isoTime(this.clock.now),
        };
        this.clock.after(periodSeconds, tick);
        this.invokeOnSchedule(fn, event);
      };
      this.clock.after(periodSeconds, tick);
    }
    return fn;
  }

  /** One scheduled invocation: on time, or late, twice, or not at all (ScheduleFaults). */
  private invokeOnSchedule(fn: LambdaFunction, event: unknown): void {
    const faults = this.options.scheduleFaults;
    if (faults === undefined) {
      fn.enqueue(event);
      return;
    }
    if (this.channels.chance(faults.skip)) {
      this.skippedScheduledRuns++;
      return;
    }
    const copies = this.channels.chance(faults.duplicate) ? 2 : 1;
    if (copies === 2) this.duplicatedScheduledRuns++;
    for (let copy = 0; copy < copies; copy++) {
      this.clock.after(this.channels.between(0, faults.jitterSeconds), () => fn.enqueue(event));
    }
  }

  /** The cluster whose instances `group` launches. */
  clusterOf(group: AutoScalingModel): EcsModel {
    const ecs = this.clusterOfGroup.get(group);
    if (ecs === undefined) throw new Error(`group ${group.spec.name} is not in this world`);
    return ecs;
  }

  private publishTaskEvent(task: Task, ecs: EcsModel): void {
    if (task.lastStatus === 'STOPPED')
      this.recorder.lastTaskStopped.set(task.host.ec2InstanceId, this.clock.now);
    const queue = this.taskEvents;
    if (queue === undefined) return;
    const event = {
      version: '0',
      id: this.channels.uuid(),
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: ACCOUNT,
      time: isoTime(this.clock.now),
      region: REGION,
      resources: [task.arn],
      detail: {
        ...taskShape(task, ecs.clusterArn, isoTime),
        updatedAt: isoTime(this.clock.now),
      },
    };
    if (!matchesPattern(event, this.rule)) return;
    // EventBridge delivers to the queue at least once, after some latency, in no promised order.
    const emittedAt = this.clock.now;
    this.deliver(this.options.deliveryFaults, () => {
      this.recorder.deliveryDelays.push(this.clock.now - emittedAt);
      this.recorder.taskEventsQueued[task.lastStatus === 'STOPPED' ? 'stopped' : 'toldToStop']++;
      queue.sendMessage(JSON.stringify(event));
    });
  }

  /** Every "ECS Container Instance State Change" event the account's clusters sent, in order. */
  get containerInstanceEvents(): readonly ContainerInstanceEvent[] {
    return this.recorder.containerInstanceEvents;
  }

  /** ECS sends the instance's new state; the recorder keeps it and a subscriber (a rule) may take it. */
  private publishContainerInstanceEvent(instance: ContainerInstance, ecs: EcsModel): void {
    const shape = containerInstanceShape(instance, 'current', isoTime);
    const event: ContainerInstanceEvent = {
      version: '0',
      id: this.instanceEventIds.uuid(),
      'detail-type': 'ECS Container Instance State Change',
      source: 'aws.ecs',
      account: ACCOUNT,
      time: isoTime(this.clock.now),
      region: REGION,
      resources: [instance.arn],
      detail: {
        ...shape,
        clusterArn: ecs.clusterArn,
        containerInstanceArn: instance.arn,
        ec2InstanceId: instance.ec2InstanceId,
        status: instance.status,
        agentConnected: instance.agentConnected,
        version: instance.version,
        attributes: [...instance.attributesAt()].map(([name, value]) => ({ name, value })),
        updatedAt: isoTime(this.clock.now),
      },
    };
    this.recorder.containerInstanceEvents.push(event);
    this.onContainerInstanceEvent?.(event, ecs);
    const queue = this.launches;
    if (queue !== undefined && this.launchRule !== undefined && matchesPattern(event, this.launchRule)) {
      this.deliver(this.options.deliveryFaults, () => queue.sendMessage(JSON.stringify(event)));
    }
  }

  /** Latency, loss, duplicates and reordering on the way from an event source to its target. */
  private deliver(faults: DeliveryFaults, arrive: () => void): void {
    const copies = deliver(this.clock, this.channels, faults, DELIVERY_LATENCY, arrive);
    if (copies === 0) this.droppedEvents++;
    if (copies === 2) this.duplicatedEvents++;
  }

  /**
   * Hands something on as SNS (`notification`) or EventBridge (`event`) would in this account: after
   * the same latency, with the faults the run asked for. For designs wired outside the stack.
   */
  deliverLater(kind: 'notification' | 'event', arrive: () => void): void {
    const faults =
      kind === 'notification'
        ? (this.options.notificationFaults ?? this.options.deliveryFaults)
        : this.options.deliveryFaults;
    this.deliver(faults, arrive);
  }

  /** Auto Scaling publishes to the hook's SNS topic; its raw-delivery subscription puts it in the queue. */
  private publishLifecycleNotification(message: Record<string, string>): void {
    this.onLifecycleNotification?.(message);
    const faults = this.options.notificationFaults ?? this.options.deliveryFaults;
    // Each subscription of the topic is delivered (and can fail) on its own.
    const queue = this.lifecycleNotifications;
    if (queue !== undefined) this.deliver(faults, () => queue.sendMessage(JSON.stringify(message)));
    const launches = this.launches;
    if (
      launches !== undefined &&
      this.launchFilter !== undefined &&
      matchesPattern(message, this.launchFilter)
    )
      this.deliver(faults, () => launches.sendMessage(JSON.stringify(message)));
  }

  private recordLane(instance: AsgInstance, group: AutoScalingModel, ecs: EcsModel): void {
    this.onInstanceChanged?.(instance, group);
    const lanes = this.recorder.lanes;
    let lane = lanes.get(instance.id);
    if (lane === undefined) {
      lane = {
        id: instance.id,
        group: group.spec.name,
        amiId: instance.amiId,
        launchedAt: instance.launchedAt,
      };
      lanes.set(instance.id, lane);
    } else if (lane.group !== group.spec.name || lane.launchedAt !== instance.launchedAt) {
      // Everything the recorder keeps per instance is keyed by its id.
      throw new Error(`instance id ${instance.id} drawn twice (${lane.group}, ${group.spec.name})`);
    }
    const now = this.clock.now;
    if (instance.state === 'InService' && lane.inServiceAt === undefined && now > 0) {
      const usable = ecs
        .containerInstancesOf(instance.id)
        .some((ci) => ci.status === 'ACTIVE' && ci.agentConnected);
      if (!usable)
        this.recorder.inServiceUnready.push({ instanceId: instance.id, group: group.spec.name, at: now });
    }
    if (instance.state === 'InService') lane.inServiceAt ??= now;
    if (instance.state === 'Terminating:Wait' || instance.state === 'Terminating') lane.waitingAt ??= now;
    if (instance.state === 'Terminating:Proceed' && lane.proceedingAt === undefined) {
      lane.proceedingAt = now;
      const unstopped = ecs
        .containerInstancesOf(instance.id)
        .flatMap((ci) => [...ci.tasks])
        .filter((task) => task.lastStatus !== 'STOPPED');
      if (unstopped.length > 0) {
        this.recorder.releasedWithTasks.push({
          instanceId: instance.id,
          at: now,
          groups: unstopped.map((task) => task.group),
        });
      }
    }
    if (instance.state === 'Terminated') lane.terminatedAt ??= now;
  }

  private recordAction(action: LifecycleAction, group: AutoScalingModel, ecs: EcsModel): void {
    if (action.hook.transition === 'autoscaling:EC2_INSTANCE_LAUNCHING') {
      this.recorder.launchActions.push({
        instanceId: action.instance.id,
        group: group.spec.name,
        startedAt: action.startedAt,
        endedAt: action.endedAt ?? this.clock.now,
        endedBy: action.endedBy ?? 'unknown',
        result: action.result ?? 'CONTINUE',
      });
      return;
    }
    const leftOnInstance =
      action.endedBy === 'completed'
        ? []
        : ecs
            .containerInstancesOf(action.instance.id)
            .flatMap((ci) => [...ci.tasks].map((task) => task.group));
    if (action.endedBy === 'completed') this.recorder.lifecycleCompletionsByController++;
    const lastStop = this.recorder.lastTaskStopped.get(action.instance.id);
    this.recorder.actions.push({
      instanceId: action.instance.id,
      group: group.spec.name,
      startedAt: action.startedAt,
      endedAt: action.endedAt ?? this.clock.now,
      endedBy: action.endedBy ?? 'unknown',
      leftOnInstance,
      ...(lastStop !== undefined && lastStop >= action.startedAt && { lastTaskStoppedAt: lastStop }),
    });
  }

  private ec2Terminated(instance: AsgInstance, ecs: EcsModel): void {
    const survivors = ecs
      .containerInstancesOf(instance.id)
      .flatMap((ci) => [...ci.tasks])
      .filter((task) => !task.daemon && task.lastStatus !== 'STOPPED');
    if (survivors.length > 0) {
      this.recorder.killedTasks.push({
        instanceId: instance.id,
        at: this.clock.now,
        groups: survivors.map((task) => task.group),
      });
    }
    ecs.ec2InstanceTerminated(instance.id);
  }
}
