import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { isoTime } from '../clock';
import { clientConfigFor, type Transport } from '../controller';
import { ACCOUNT, REGION } from '../ecs';
import { LambdaFunction } from '../lambda';
import { COLD_START_SECONDS, STACK, type World } from '../world';

/**
 * Other tools' drain designs, each a small model of that tool's Lambda code written here in
 * TypeScript and wired as that tool wires it, deployed into a World in place of the controller. Their
 * code calls the twin through the real SDK clients (the run's transport, ECS's token buckets, the
 * SDK's standard retries on the account's clock), exactly as the controller's handlers do; what they
 * do is measured from the world's recorder (sim/designs/measures.ts), never reported by themselves.
 *
 * What the platform does around the code is here, once for every design: Lambda's asynchronous
 * invocation with its retries (sim/lambda.ts), SNS and EventBridge delivery (World.deliverLater), and
 * Lambda's recursive loop detection, which follows the X-Ray trace header's Lineage through SNS.
 */
export interface Design {
  /** The row's name in the designs table. */
  readonly name: string;
  /** One line: which public tool this models, and how it is wired. */
  readonly description: string;
  /** The termination hook as the tool deploys it; absent: the design puts no hook. */
  readonly hook?: { heartbeatTimeout: number; defaultResult: 'CONTINUE' | 'ABANDON' };
  /** Deploys the design into a world whose cluster and group exist and whose services were created. */
  install(world: World): void;
}

/** The hook name every design's hook gets (the tools name theirs after their stack; any name does here). */
export const DESIGN_HOOK_NAME = 'drain-hook';

/** What a design's Lambda code gets, created once per container as its module scope would. */
export interface DesignClients {
  ecs: ECSClient;
  autoScaling: AutoScalingClient;
  sns: SNSClient;
  /** `time.sleep` in the tool's code: simulated seconds, inside the invocation (it counts against its timeout). */
  sleep(seconds: number): Promise<void>;
  /** The cluster the tool serves (its CLUSTER environment variable). */
  cluster: string;
  /** Where the code writes what Python's print() would: nowhere, unless a test listens. */
  log(message: string, fields?: Record<string, unknown>): void;
}

/** A design's handler: built once per container from its clients, then called once per invocation. */
export type DesignCode = (clients: DesignClients) => (event: unknown) => Promise<unknown>;

/**
 * An asynchronous invocation: the event, and how many invocations came before it in its chain (the
 * X-Ray Lineage the runtime hands the code's SDK calls). An event source mapping invokes with the bare event.
 */
class Invocation {
  constructor(
    readonly event: unknown,
    readonly lineage: number,
  ) {}
}

/** Lambda stops the next invocation of a chain that has already run this many times (recursive loop detection). */
export const RECURSIVE_LOOP_LIMIT = 16;

/** A design's Lambda function, invoked asynchronously (SNS, EventBridge) or by an SQS event source. */
export class DesignFunction {
  readonly fn: LambdaFunction;

  constructor(
    private readonly world: World,
    transport: Transport,
    options: { name: string; timeoutSeconds: number; code: DesignCode; log?: DesignClients['log'] },
  ) {
    const { account, clock } = world;
    this.fn = new LambdaFunction(clock, {
      name: options.name,
      timeoutSeconds: options.timeoutSeconds,
      concurrency: 1000,
      coldStartSeconds: COLD_START_SECONDS,
      random: world.channels,
      // One container: its clients and its trace context, as the Lambda runtime gives them.
      factory: () => {
        const config = clientConfigFor(transport);
        const trace = { lineage: 0 };
        const sns = new SNSClient({
          ...config,
          retryStrategy: account.retryStrategy('sns', SDK_MAX_ATTEMPTS),
        });
        // The runtime's trace header on every call the code makes (the SDK's recursion detection
        // middleware copies _X_AMZN_TRACE_ID into X-Amzn-Trace-Id): SNS carries its Lineage on.
        sns.middlewareStack.add(
          (next) => (args) => {
            const request = args.request as { headers?: Record<string, string> };
            if (request.headers !== undefined)
              request.headers['x-amzn-trace-id'] =
                `Root=1-00000000-000000000000000000000000;Lineage=5e1f7a2b:${trace.lineage}`;
            return next(args);
          },
          { step: 'build', name: 'simulatedLambdaTraceHeader' },
        );
        const handler = options.code({
          ecs: new ECSClient({ ...config, retryStrategy: account.retryStrategy('ecs', SDK_MAX_ATTEMPTS) }),
          autoScaling: new AutoScalingClient({
            ...config,
            retryStrategy: account.retryStrategy('autoscaling', SDK_MAX_ATTEMPTS),
          }),
          sns,
          sleep: (seconds) => clock.sleep(seconds),
          cluster: STACK.clusterName,
          log: options.log ?? (() => undefined),
        });
        return async (envelope: unknown) => {
          const { event, lineage } = envelope instanceof Invocation ? envelope : new Invocation(envelope, 0);
          trace.lineage = lineage + 1;
          return handler(event);
        };
      },
    });
    world.designFunctions.push(this.fn);
  }

  /**
   * Asynchronous invocation from SNS or EventBridge, `lineage` invocations down a chain. With
   * `loopDetection` Lambda stops an invocation past RECURSIVE_LOOP_LIMIT and sends the event to the
   * function's failure destination instead, as it has done since 2023 for SQS, SNS and S3 loops.
   */
  invokeAsync(event: unknown, lineage = 0, loopDetection = true): void {
    if (loopDetection && lineage >= RECURSIVE_LOOP_LIMIT) {
      this.fn.stats.failed.push({
        event,
        error: `RecursiveInvocationException: stopped after ${RECURSIVE_LOOP_LIMIT} invocations in one chain`,
        attempts: 0,
        at: this.world.clock.now,
      });
      return;
    }
    this.fn.enqueue(new Invocation(event, lineage));
  }
}

/** Puts the design's termination hook on the world's group, its notifications sent to the hook's target. */
export function putDesignHook(world: World, design: Design): void {
  if (design.hook === undefined) return;
  world.group.putLifecycleHook({
    name: DESIGN_HOOK_NAME,
    transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    heartbeatTimeout: design.hook.heartbeatTimeout,
    defaultResult: design.hook.defaultResult,
    notify: true,
  });
}

/**
 * An SNS topic whose one subscription is `subscriber` (protocol lambda): Auto Scaling's notifications
 * and every Publish to it through the API reach the function after SNS's delivery latency, with the
 * publisher's Lineage. Registers the topic with the API, so Publish to it succeeds.
 */
export function snsTopicToLambda(
  world: World,
  name: string,
  subscriber: DesignFunction,
  { loopDetection }: { loopDetection: boolean },
): string {
  const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
  world.api.topics?.push(topicArn);
  let messages = 0;
  const deliver = (message: string, subject: string | undefined, lineage: number) => {
    const id = `00000000-0000-4000-8000-${String(++messages).padStart(12, '0')}`;
    world.deliverLater('notification', () =>
      subscriber.invokeAsync(
        snsEvent(topicArn, id, message, subject, isoTime(world.clock.now)),
        lineage,
        loopDetection,
      ),
    );
  };
  world.onLifecycleNotification = (message) =>
    deliver(JSON.stringify(message), 'Auto Scaling: Lifecycle action', 0);
  world.api.onPublish = ({ topicArn: to, message, subject, traceHeader }) => {
    if (to !== topicArn) return;
    const lineage = Number(/Lineage=[^:;]+:(\d+)/.exec(traceHeader ?? '')?.[1] ?? 0);
    deliver(message, subject, lineage);
  };
  return topicArn;
}

/** The event SNS invokes a subscribed function with (one record). */
function snsEvent(
  topicArn: string,
  messageId: string,
  message: string,
  subject: string | undefined,
  timestamp: string,
): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:0b4b5a6c-0000-4000-8000-000000000001`,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: topicArn,
          ...(subject !== undefined && { Subject: subject }),
          Message: message,
          Timestamp: timestamp,
          SignatureVersion: '1',
          Signature: 'simulated',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/simulated.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** A lifecycle notification as the JSON object Auto Scaling publishes (fields read by the tools). */
export interface LifecycleMessage {
  LifecycleTransition?: string;
  EC2InstanceId?: string;
  LifecycleHookName?: string;
  LifecycleActionToken?: string;
  AutoScalingGroupName?: string;
  Event?: string;
  [field: string]: unknown;
}

export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
