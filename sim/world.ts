import type { SNSEvent } from 'aws-lambda';
import { type ApiFaults, type ApiTarget, newBuckets } from './api/server';
import { taskShape } from './api/ecs-api';
import { type AsgInstance, AutoScalingModel, type GroupSpec, type LifecycleAction } from './autoscaling';
import { Clock, isoTime, Random } from './clock';
import {
  type AsyncHandler,
  AsyncLambda,
  type DeliveryFaults,
  type EventPattern,
  matchesPattern,
} from './delivery';
import { ACCOUNT, EcsModel, REGION, type Service, type Task } from './ecs';
import { taskStoppedPattern } from './template';

/**
 * The names the simulated stack is deployed with; the real handlers read them from the environment.
 * They are the names of events/env.json, so `sam local invoke --env-vars events/env.json` against
 * `npm run sim:serve` finds the cluster and group it expects.
 */
export const STACK = { clusterName: 'prod', groupName: 'prod-ecs-asg', hookName: 'ecs-drain' } as const;

export interface ControllerHandlers {
  startDrain: AsyncHandler;
  finishDrain: AsyncHandler;
}

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
}

/** Everything a run observed, for the report and the tests. */
export class Recorder {
  readonly healthy = new Map<string, { t: number[]; count: number[] }>();
  readonly lanes = new Map<string, InstanceLane>();
  readonly actions: EndedAction[] = [];
  /** Non-daemon tasks that had not stopped when their EC2 instance went away. */
  readonly killedTasks: { instanceId: string; at: number; groups: string[] }[] = [];
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
  controller?: ControllerHandlers;
  deliveryFaults: DeliveryFaults;
  apiFaults: ApiFaults;
}

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
  readonly startDrain?: AsyncLambda;
  readonly finishDrain?: AsyncLambda;
  readonly api: ApiTarget;
  private readonly rule: EventPattern;

  constructor(options: WorldOptions) {
    this.random = new Random(options.seed);
    this.channels = new Random(options.seed ^ 0x5bd1e995);
    const { clock, random, channels, recorder } = this;
    this.rule = taskStoppedPattern({
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      ClusterName: STACK.clusterName,
    });
    this.ecs = new EcsModel(STACK.clusterName, clock, random, {
      taskChanged: (task) => this.publishTaskEvent(task),
      serviceHealthChanged: (service: Service) =>
        recorder.serviceHealth(service.spec.name, clock.now, service.healthyCount),
    });
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
    if (options.controller) {
      const latency: [number, number] = [0.2, 1.5];
      this.startDrain = new AsyncLambda(
        'start-drain',
        options.controller.startDrain,
        clock,
        channels,
        options.deliveryFaults,
        latency,
      );
      this.finishDrain = new AsyncLambda(
        'finish-drain',
        options.controller.finishDrain,
        clock,
        channels,
        options.deliveryFaults,
        latency,
      );
    }
    this.api = {
      ecs: this.ecs,
      group: this.group,
      clock,
      random: channels,
      faults: options.apiFaults,
      calls: new Map(),
      throttled: { count: 0 },
      buckets: newBuckets(),
    };
  }

  private publishTaskEvent(task: Task): void {
    if (this.finishDrain === undefined) return;
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
    if (matchesPattern(event, this.rule)) this.finishDrain.deliver(event);
  }

  private publishLifecycleNotification(message: Record<string, string>): void {
    if (this.startDrain === undefined) return;
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:ecs-drain-hooks`;
    const subject =
      message.Event !== undefined
        ? `Auto Scaling: test notification for group "${message.AutoScalingGroupName}"`
        : `Auto Scaling:  Lifecycle action '${message.LifecycleTransition?.endsWith('TERMINATING') ? 'TERMINATING' : 'LAUNCHING'}' for instance ${message.EC2InstanceId} in progress.`;
    const event: SNSEvent = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: `${topicArn}:${this.channels.uuid()}`,
          Sns: {
            Type: 'Notification',
            MessageId: this.channels.uuid(),
            TopicArn: topicArn,
            Subject: subject,
            Message: JSON.stringify(message),
            Timestamp: isoTime(this.clock.now),
            SignatureVersion: '1',
            Signature: 'SIMULATED',
            SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-SIMULATED.pem',
            UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
            MessageAttributes: {},
          },
        },
      ],
    };
    this.startDrain.deliver(event);
  }

  private recordLane(instance: AsgInstance): void {
    const lanes = this.recorder.lanes;
    let lane = lanes.get(instance.id);
    if (lane === undefined) {
      lane = { id: instance.id, amiId: instance.amiId, launchedAt: instance.launchedAt };
      lanes.set(instance.id, lane);
    }
    const now = this.clock.now;
    if (instance.state === 'InService') lane.inServiceAt ??= now;
    if (instance.state === 'Terminating:Wait' || instance.state === 'Terminating') lane.waitingAt ??= now;
    if (instance.state === 'Terminating:Proceed') lane.proceedingAt ??= now;
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
    this.recorder.actions.push({
      instanceId: action.instance.id,
      startedAt: action.startedAt,
      endedAt: action.endedAt ?? this.clock.now,
      endedBy: action.endedBy ?? 'unknown',
      leftOnInstance,
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
