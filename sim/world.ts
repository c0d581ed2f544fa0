import { ECS_BUCKETS, type EcsOperation, taskShape } from './api/ecs-api';
import { RetryCounter } from './api/retry';
import { type ApiFaults, type ApiTarget, newBuckets } from './api/server';
import { type AsgInstance, AutoScalingModel, type GroupSpec, type LifecycleAction } from './autoscaling';
import { Clock, isoTime, Random, SIM_EPOCH } from './clock';
import type { Controller, SimulatedAccount } from './controller';
import type { AsyncHandler } from './delivery';
import { type DeliveryFaults, deliver, type EventPattern, matchesPattern } from './delivery';
import { ACCOUNT, EcsModel, type EcsOptions, REGION, type Service, type Task } from './ecs';
import { LambdaFunction } from './lambda';
import { SqsEventSource, SqsQueue } from './sqs';
import { queuePipeline, reconcileSchedule, taskStoppedPattern } from './template';

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
} as const;

export interface InstanceLane {
  id: string;
  amiId: string;
  launchedAt: number;
  inServiceAt?: number;
  waitingAt?: number;
  proceedingAt?: number;
  terminatedAt?: number;
}

export interface EndedAction {
  instanceId: string;
  startedAt: number;
  endedAt: number;
  endedBy: string;
  /** What still ran on the instance when a timeout ended the action. */
  leftOnInstance: string[];
  /** When the last task on the instance reached STOPPED, if any stopped after the action began. */
  lastTaskStoppedAt?: number;
}

/** Everything a run observed, for the report and the tests. */
export class Recorder {
  readonly healthy = new Map<string, { t: number[]; count: number[] }>();
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
  /** Runs of the reconciler, and what each found. */
  readonly reconcileRuns: { at: number; report: unknown }[] = [];
  lifecycleCompletionsByController = 0;

  serviceHealth(name: string, at: number, count: number): void {
    let series = this.healthy.get(name);
    if (series === undefined) {
      series = { t: [], count: [] };
      this.healthy.set(name, series);
    }
    const last = series.t.length - 1;
    if (last >= 0 && series.t[last] === at) series.count[last] = count;
    else {
      series.t.push(at);
      series.count.push(count);
    }
  }
}

export interface WorldOptions {
  seed: number;
  group: GroupSpec;
  controller?: Controller;
  deliveryFaults: DeliveryFaults;
  /** Faults on the way from the hook to the lifecycle queue (SNS); the task events' faults when absent. */
  notificationFaults?: DeliveryFaults;
  apiFaults: ApiFaults;
  ecs?: EcsOptions;
  /** Simulated seconds each API call takes, drawn between the two. */
  apiLatency?: [number, number];
}

/** Seconds from an event until EventBridge or SNS hands it on (to the queue, or to Lambda). */
const DELIVERY_LATENCY: [number, number] = [0.2, 1.5];
/** Seconds a new Lambda container takes before its handler runs. */
const COLD_START_SECONDS = 0.4;

/** The simulated account: clock, ECS cluster, Auto Scaling group, and the delivery paths between them. */
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
  readonly ecs: EcsModel;
  readonly group: AutoScalingModel;
  readonly recorder = new Recorder();
  readonly startDrain?: LambdaFunction;
  readonly finishDrain?: LambdaFunction;
  /** Invoked by its schedule (EventBridge, asynchronous invocation) every `reconcileSeconds`. */
  readonly reconcile?: LambdaFunction;
  /** Subscribed to the hook's SNS topic (raw delivery): lifecycle notifications wait here for the start function. */
  readonly lifecycleNotifications?: SqsQueue;
  readonly lifecycleEventSource?: SqsEventSource;
  /** EventBridge rule target: task STOPPED events wait here for the finish function. */
  readonly taskEvents?: SqsQueue;
  readonly taskEventSource?: SqsEventSource;
  /** Where the task event queue's redrive policy moves a message received too often. */
  readonly failureQueue: SqsQueue;
  readonly retries: RetryCounter;
  /** What the functions deployed here get from the account: retries on its clock, a metrics sink. */
  readonly account: SimulatedAccount;
  readonly api: ApiTarget;
  /** Told of every change of an Auto Scaling instance, for scenarios that act on them. */
  onInstanceChanged?: (instance: AsgInstance) => void;
  /** Events SNS or EventBridge lost on the way to a queue (a fault the run asked for). */
  droppedEvents = 0;
  private readonly rule: EventPattern;

  constructor(private readonly options: WorldOptions) {
    this.random = new Random(options.seed);
    this.channels = new Random(options.seed ^ 0x5bd1e995);
    const { clock, random, channels, recorder } = this;
    this.rule = taskStoppedPattern({
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      ClusterName: STACK.clusterName,
    });
    this.ecs = new EcsModel(
      STACK.clusterName,
      clock,
      random,
      {
        taskChanged: (task) => this.publishTaskEvent(task),
        serviceHealthChanged: (service: Service) =>
          recorder.serviceHealth(service.spec.name, clock.now, service.healthyCount),
      },
      options.ecs,
    );
    this.group = new AutoScalingModel(
      options.group,
      clock,
      random,
      {
        notify: (message) => this.publishLifecycleNotification(message),
        instanceChanged: (instance) => this.recordLane(instance),
        actionEnded: (action) => this.recordAction(action),
        ec2Booted: (instance) =>
          this.ecs.registerContainerInstance(
            instance.id,
            options.group.instanceCpu,
            options.group.instanceMemory,
            instance.amiId,
          ),
        ec2Terminated: (instance) => this.ec2Terminated(instance),
      },
      channels,
    );
    this.failureQueue = new SqsQueue('ecs-drain-FailureQueue', clock, channels, {
      messageRetentionSeconds: 1209600,
    });
    this.retries = new RetryCounter(clock, channels);
    this.account = {
      retryStrategy: (client, maxAttempts) => this.retries.strategy(client, maxAttempts),
      recordMetric: (name, value = 1) =>
        recorder.metrics.set(name, (recorder.metrics.get(name) ?? 0) + value),
      timing: {
        now: () => SIM_EPOCH + clock.now * 1000,
        sleep: (milliseconds) => clock.sleep(milliseconds / 1000),
      },
    };
    if (options.controller) {
      const functions = options.controller.deploy(this.account);
      const deployFunction = (name: string, factory: () => AsyncHandler, queueName: string) => {
        const pipeline = queuePipeline(name === 'start-drain' ? 'lifecycle-notifications' : 'task-events');
        const fn = new LambdaFunction(clock, {
          name,
          factory,
          timeoutSeconds: pipeline.functionTimeoutSeconds,
          concurrency: 1000,
          coldStartSeconds: COLD_START_SECONDS,
          random: channels,
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
      const start = deployFunction('start-drain', functions.startDrain, 'ecs-drain-LifecycleQueue');
      this.startDrain = start.fn;
      this.lifecycleNotifications = start.queue;
      this.lifecycleEventSource = start.source;
      const finish = deployFunction('finish-drain', functions.finishDrain, 'ecs-drain-TaskEventQueue');
      this.finishDrain = finish.fn;
      this.taskEvents = finish.queue;
      this.taskEventSource = finish.source;
      if (functions.reconcile !== undefined) this.reconcile = this.scheduleReconciler(functions.reconcile);
    }
    this.api = {
      clusters: new Map([[this.ecs.clusterName, this.ecs]]),
      groups: new Map([[this.group.spec.name, this.group]]),
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

  /**
   * The schedule invokes the reconciler asynchronously (retried by Lambda on error) every period,
   * from one period after deployment, as EventBridge does; runs can overlap if one is slow.
   */
  private scheduleReconciler(factory: () => AsyncHandler): LambdaFunction {
    const schedule = reconcileSchedule();
    const fn = new LambdaFunction(this.clock, {
      name: 'reconcile',
      factory: () => {
        const handler = factory();
        return async (event) => {
          const report = await handler(event);
          this.recorder.reconcileRuns.push({ at: this.clock.now, report });
          return report;
        };
      },
      timeoutSeconds: schedule.timeoutSeconds,
      ...(schedule.maximumRetryAttempts !== undefined && {
        maximumRetryAttempts: schedule.maximumRetryAttempts,
      }),
      ...(schedule.maxEventAgeSeconds !== undefined && { maxEventAgeSeconds: schedule.maxEventAgeSeconds }),
      concurrency: 1000,
      coldStartSeconds: COLD_START_SECONDS,
      random: this.channels,
    });
    const tick = () => {
      fn.enqueue({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: isoTime(this.clock.now) });
      this.clock.after(schedule.periodSeconds, tick);
    };
    this.clock.after(schedule.periodSeconds, tick);
    return fn;
  }

  private publishTaskEvent(task: Task): void {
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
        ...taskShape(task, this.ecs.clusterArn, isoTime),
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

  /** Latency, loss, duplicates and reordering on the way from an event source to its target. */
  private deliver(faults: DeliveryFaults, arrive: () => void): void {
    if (!deliver(this.clock, this.channels, faults, DELIVERY_LATENCY, arrive)) this.droppedEvents++;
  }

  /** Auto Scaling publishes to the hook's SNS topic; its raw-delivery subscription puts it in the queue. */
  private publishLifecycleNotification(message: Record<string, string>): void {
    const queue = this.lifecycleNotifications;
    if (queue === undefined) return;
    const faults = this.options.notificationFaults ?? this.options.deliveryFaults;
    this.deliver(faults, () => queue.sendMessage(JSON.stringify(message)));
  }

  private recordLane(instance: AsgInstance): void {
    this.onInstanceChanged?.(instance);
    const lanes = this.recorder.lanes;
    let lane = lanes.get(instance.id);
    if (lane === undefined) {
      lane = { id: instance.id, amiId: instance.amiId, launchedAt: instance.launchedAt };
      lanes.set(instance.id, lane);
    }
    const now = this.clock.now;
    if (instance.state === 'InService') lane.inServiceAt ??= now;
    if (instance.state === 'Terminating:Wait' || instance.state === 'Terminating') lane.waitingAt ??= now;
    if (instance.state === 'Terminating:Proceed' && lane.proceedingAt === undefined) {
      lane.proceedingAt = now;
      const unstopped = this.ecs
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

  private recordAction(action: LifecycleAction): void {
    if (action.hook.transition !== 'autoscaling:EC2_INSTANCE_TERMINATING') return;
    const leftOnInstance =
      action.endedBy === 'completed'
        ? []
        : this.ecs
            .containerInstancesOf(action.instance.id)
            .flatMap((ci) => [...ci.tasks].map((task) => task.group));
    if (action.endedBy === 'completed') this.recorder.lifecycleCompletionsByController++;
    const lastStop = this.recorder.lastTaskStopped.get(action.instance.id);
    this.recorder.actions.push({
      instanceId: action.instance.id,
      startedAt: action.startedAt,
      endedAt: action.endedAt ?? this.clock.now,
      endedBy: action.endedBy ?? 'unknown',
      leftOnInstance,
      ...(lastStop !== undefined && lastStop >= action.startedAt && { lastTaskStoppedAt: lastStop }),
    });
  }

  private ec2Terminated(instance: AsgInstance): void {
    const survivors = this.ecs
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
    this.ecs.ec2InstanceTerminated(instance.id);
  }
}
