import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { RetryStrategyV2 } from '@smithy/types';
import type { Context, SQSEvent } from 'aws-lambda';
import { createFinishDrainHandler } from '../functions/finish-drain/app';
import { createLaunchReadinessHandler } from '../functions/launch-readiness/app';
import { createWatchAmiHandler } from '../functions/watch-ami/app';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Ec2Adapter } from '../shared/aws/ec2';
import { SsmAdapter } from '../shared/aws/ssm';
import { loadWatcherConfig } from '../shared/rollout/config';
import { launchTemplateImages } from '../shared/launch/drive-launches';
import { functionEnvironment } from './template';
import { createReconcileHandler } from '../functions/reconcile/app';
import { createStartDrainHandler } from '../functions/start-drain/app';
import { AutoScalingAdapter } from '../shared/aws/auto-scaling';
import { EcsAdapter } from '../shared/aws/ecs';
import { autoScalingPacer, ecsReadPacer, Pacer, SDK_MAX_ATTEMPTS, type Timing } from '../shared/aws/pacer';
import { AlertPublisher } from '../shared/aws/sns';
import { type ControllerConfig, DRAIN_POLICY_DEFAULTS } from '../shared/config';
import type { DecisionPath } from '../shared/decisions/host';
import type { DrainMeasure, DrainMetric } from '../shared/observability';
import { InProcessHandler } from './api/in-process';
import { type ApiTarget, startApiServer } from './api/server';
import type { AsyncHandler } from './delivery';
import { isoTime } from './clock';
import { activeWorld } from './scenario';
import { STACK } from './world';

// This machine runs Node 20; Lambda runs nodejs22.x. The SDK's notice about that says nothing here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * How the handlers' SDK clients reach the simulation: over HTTP to the local endpoint (as `sam local
 * invoke --env-vars` would), or through an in-process request handler that skips the socket.
 */
export type Transport =
  { kind: 'http'; endpoint: string } | { kind: 'in-process'; target: () => ApiTarget | undefined };

/**
 * The functions' logger in a rehearsal: their structured lines, stamped with the simulated time
 * they happened at, on stderr, so that stdout carries only the rehearsal's own output (--json).
 */
export class RehearsalLogger extends Logger {
  protected override printLog(_logLevel: number, log: LogItem): void {
    const world = activeWorld;
    const attributes = log.getAttributes();
    const stamped =
      world === undefined
        ? attributes
        : {
            ...attributes,
            timestamp: isoTime(world.clock.now),
            simulatedSeconds: Math.round(world.clock.now * 1000) / 1000,
          };
    process.stderr.write(`${JSON.stringify(stamped)}\n`);
  }
}

/** A way to the world `runScenario` is playing; for HTTP the local endpoint is opened, and closed by `close`. */
export async function openTransport(
  kind: Transport['kind'],
): Promise<{ transport: Transport; close(): Promise<void> }> {
  const target = () => activeWorld?.api;
  if (kind === 'in-process') return { transport: { kind, target }, close: async () => undefined };
  const server = await startApiServer(target);
  return { transport: { kind, endpoint: server.url }, close: () => server.close() };
}

/**
 * The stack's ClusterNames and AutoScalingGroups parameters (template.yaml): the clusters it serves,
 * and each served group with the cluster its instances join.
 */
export type ServedFleet = Pick<ControllerConfig, 'clusters' | 'groups'>;

/**
 * What a world offers the functions it runs: its API, the SDK retry strategy on its clock, and the
 * parameters the stack is deployed with there.
 */
export interface SimulatedAccount {
  /** Every cluster and group of the account, as the stack is deployed to serve them. */
  stack: ServedFleet;
  /** A fresh retry strategy for each client, as the SDK creates one per client. */
  retryStrategy(client: 'ecs' | 'autoscaling' | 'sns' | 'ssm' | 'ec2', maxAttempts: number): RetryStrategyV2;
  /** Counts the metrics the functions emit, for the run's report. */
  recordMetric(name: DrainMetric | DrainMeasure, value?: number): void;
  /** The account's clock, for anything in the functions that waits (the read pacer). */
  timing: Timing;
}

/**
 * The functions, as factories: every call is a cold start of one Lambda container, with its own SDK
 * clients, heartbeat pacing and memory, as `shared/drain/lambda-wiring.ts` builds them in Lambda.
 */
export interface ControllerFunctions {
  startDrain(): AsyncHandler;
  finishDrain(): AsyncHandler;
  /** Launch readiness (absent in a controller built without it, LaunchReadiness disabled). */
  launchReadiness?(): AsyncHandler;
  /** The AMI watcher (AmiWatcher enabled); invoked on its Schedule events with their input. */
  watchAmi?(): AsyncHandler;
  /** The scheduled reconciler (absent in a controller built without one). */
  reconcile?(): AsyncHandler;
}

/** What the stack's parameters decide about drains that last (template.yaml's defaults unless given). */
export type DrainSettings = Partial<
  Pick<
    ControllerConfig,
    | 'drainDeadlineSeconds'
    | 'deadlineAction'
    | 'standaloneTasks'
    | 'standaloneGraceSeconds'
    | 'daemonGraceSeconds'
    | 'alertTopicArn'
    | 'ecsReadsPerSecond'
  >
> & {
  reconciler?: boolean;
  /** LaunchReadiness (on by default, as in template.yaml) and its LaunchTimeout in seconds. */
  launchReadiness?: boolean;
  launchTimeoutSeconds?: number;
};

export interface Controller {
  /** The functions of the stack deployed into one simulated account. */
  deploy(account: SimulatedAccount): ControllerFunctions;
  /**
   * The launch hook the stack puts on every group it serves (of `clusters` only, when the stack was
   * deployed for some of the account's clusters); absent with launch readiness off.
   */
  launchHook?: { name: string; timeoutSeconds: number; clusters?: string[] };
  /** The stack's parameters that differ from template.yaml's defaults (schedules the world reads). */
  parameters?: Record<string, string>;
}

/**
 * The AMI watcher as the stack deploys it: the stack parameters that differ from template.yaml's
 * defaults (AmiWatcher, AmiWatchDryRun, RolloutStrategy, AmiWatchSchedule, Refresh*...). Its
 * environment and its schedules follow from them as the template maps them.
 */
export interface RolloutSettings {
  parameters: Record<string, string>;
}

/**
 * The watcher as a rehearsal deploys it: enabled and acting (AmiWatchDryRun false, where the stack
 * starts in dry run), looking every five minutes instead of every hour so that the rollout starts
 * soon after the AMI is published; every other setting is template.yaml's default.
 */
export function rehearsalRollout(strategy: 'rolling' | 'blue-green'): RolloutSettings {
  return {
    parameters: {
      AmiWatcher: 'enabled',
      AmiWatchDryRun: 'false',
      AmiWatchSchedule: 'rate(5 minutes)',
      RolloutStrategy: strategy,
    },
  };
}

/** What every SDK client of a simulated function is built with: the simulation's endpoint, and nothing read from the environment. */
export function clientConfigFor(transport: Transport) {
  return {
    region: 'us-east-1',
    credentials: { accessKeyId: 'simulated', secretAccessKey: 'simulated' },
    // The in-process handler ignores the endpoint; it is set anyway, so no call could reach AWS.
    endpoint: transport.kind === 'http' ? transport.endpoint : 'http://127.0.0.1:9',
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    ...(transport.kind === 'in-process' && { requestHandler: new InProcessHandler(transport.target) }),
  };
}

/**
 * The real, unmodified handlers, configured as the SAM template configures them, with their SDK
 * clients pointed at the simulation. Nothing is read from the environment, so nothing can leave
 * the machine: the endpoint is always the simulation's.
 *
 * The stack serves the clusters and groups of the account it is deployed into (`account.stack`), or
 * only the clusters `clusterNames` names and the account's groups that feed them.
 */
export function loadController(
  transport: Transport,
  {
    heartbeatTimeout = 1800,
    logLevel = 'SILENT',
    drain = {},
    clusterNames,
    rollout,
  }: {
    heartbeatTimeout?: number;
    logLevel?: LogLevel;
    drain?: DrainSettings;
    clusterNames?: string[];
    /** Deploy the AMI watcher too (AmiWatcher enabled), with these settings. */
    rollout?: RolloutSettings;
  } = {},
): Controller {
  const {
    reconciler = true,
    launchReadiness = true,
    launchTimeoutSeconds = DRAIN_POLICY_DEFAULTS.launchTimeoutSeconds,
    ...policy
  } = drain;
  const launchHook = launchReadiness
    ? {
        name: `${STACK.hookName}-launch`,
        timeoutSeconds: launchTimeoutSeconds,
        ...(clusterNames !== undefined && { clusters: clusterNames }),
      }
    : undefined;
  return {
    ...(launchHook && { launchHook }),
    ...(rollout !== undefined && { parameters: rollout.parameters }),
    deploy(account) {
      const served: ServedFleet =
        clusterNames === undefined
          ? account.stack
          : {
              clusters: clusterNames,
              groups: account.stack.groups.filter((group) => clusterNames.includes(group.cluster)),
            };
      const config: ControllerConfig = {
        ...served,
        lifecycleHookName: STACK.hookName,
        heartbeatTimeoutSeconds: heartbeatTimeout,
        ...DRAIN_POLICY_DEFAULTS,
        alertTopicArn: STACK.alertTopicArn,
        ...policy,
        launchTimeoutSeconds,
        ...(launchHook && { launchHookName: launchHook.name }),
      };
      const container = (path: DecisionPath) => {
        const clientConfig = clientConfigFor(transport);
        const telemetry = {
          logger: new RehearsalLogger({ serviceName: 'ecs-drain', logLevel }),
          count: (metric: DrainMetric, value?: number) => account.recordMetric(metric, value),
          measure: (metric: DrainMeasure, value: number) => account.recordMetric(metric, value),
          publish: () => undefined,
        };
        return {
          config,
          ecs: new EcsAdapter(
            new ECSClient({ ...clientConfig, retryStrategy: account.retryStrategy('ecs', SDK_MAX_ATTEMPTS) }),
            ecsReadPacer(path, config.ecsReadsPerSecond, account.timing),
          ),
          autoScaling: new AutoScalingAdapter(
            new AutoScalingClient({
              ...clientConfig,
              retryStrategy: account.retryStrategy('autoscaling', SDK_MAX_ATTEMPTS),
            }),
            autoScalingPacer(path, account.timing),
          ),
          alerts: new AlertPublisher(
            new SNSClient({ ...clientConfig, retryStrategy: account.retryStrategy('sns', SDK_MAX_ATTEMPTS) }),
            config.alertTopicArn,
          ),
          telemetry,
          timing: account.timing,
        };
      };
      /** What a function's EC2 client reads of launch template versions, as its handler.ts builds it. */
      const images = () =>
        launchTemplateImages(
          new Ec2Adapter(
            new EC2Client({
              ...clientConfigFor(transport),
              retryStrategy: account.retryStrategy('ec2', SDK_MAX_ATTEMPTS),
            }),
          ),
        );
      return {
        startDrain: () => {
          const handler = createStartDrainHandler(container('start'));
          return (event: unknown, context?: Context) => handler(event as SQSEvent, context);
        },
        finishDrain: () => {
          const handler = createFinishDrainHandler(container('event'));
          return (event: unknown, context?: Context) => handler(event as SQSEvent, context);
        },
        ...(launchHook && {
          launchReadiness: () => {
            const handler = createLaunchReadinessHandler({ ...container('launch'), imageOf: images() });
            return (event: unknown, context?: Context) => handler(event as SQSEvent, context);
          },
        }),
        ...(rollout !== undefined && {
          watchAmi: () => {
            const { config, telemetry } = container('reconciler');
            // The environment template.yaml gives WatchAmiFunction for the stack's parameters.
            const watcherConfig = loadWatcherConfig(
              functionEnvironment('WatchAmiFunction', {
                ...rollout.parameters,
                ClusterNames: config.clusters,
                AutoScalingGroups: config.groups.map((g) => `${g.cluster}:${g.autoScalingGroupName}`),
                AlertTopic: STACK.alertTopicArn,
                DeadlineReachedAlarm: STACK.deadlineAlarmName,
              }),
            );
            const clientConfig = clientConfigFor(transport);
            const retry = (client: 'autoscaling' | 'sns' | 'ssm' | 'ec2') => ({
              retryStrategy: account.retryStrategy(client, SDK_MAX_ATTEMPTS),
            });
            const handler = createWatchAmiHandler({
              config: watcherConfig,
              ssm: new SsmAdapter(new SSMClient({ ...clientConfig, ...retry('ssm') })),
              ec2: new Ec2Adapter(new EC2Client({ ...clientConfig, ...retry('ec2') })),
              autoScaling: new AutoScalingAdapter(
                new AutoScalingClient({ ...clientConfig, ...retry('autoscaling') }),
                autoScalingPacer('watcher', account.timing),
              ),
              alerts: new AlertPublisher(
                new SNSClient({ ...clientConfig, ...retry('sns') }),
                watcherConfig.alertTopicArn,
              ),
              logger: telemetry.logger,
              timing: account.timing,
              // As functions/watch-ami/handler.ts builds it: blue/green rollouts read at 1 per second.
              ...(watcherConfig.strategy === 'blue-green' && {
                ecs: new EcsAdapter(
                  new ECSClient({
                    ...clientConfig,
                    retryStrategy: account.retryStrategy('ecs', SDK_MAX_ATTEMPTS),
                  }),
                  new Pacer(1, 1, account.timing),
                ),
              }),
            });
            return (event) => (handler as (input: unknown) => Promise<unknown>)(event);
          },
        }),
        ...(reconciler && {
          reconcile: () => {
            const handler = createReconcileHandler({ ...container('reconciler'), imageOf: images() });
            return (_event: unknown, context?: Context) => handler(undefined, context);
          },
        }),
      };
    },
  };
}
