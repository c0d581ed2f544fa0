import type { Context, EventBridgeEvent, SNSEvent } from 'aws-lambda';
import { InProcessHandler } from './api/in-process';
import { type ApiTarget, startApiServer } from './api/server';
import { activeWorld } from './scenario';
import { type ControllerHandlers, STACK } from './world';

/**
 * How the handlers' SDK clients reach the simulation: over HTTP to the local endpoint (as `sam local
 * invoke --env-vars` would), or through an in-process request handler that skips the socket.
 */
export type Transport =
  { kind: 'http'; endpoint: string } | { kind: 'in-process'; target: () => ApiTarget | undefined };

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
 * Loads the real, unmodified handlers, configured as the SAM template would configure them, with
 * their SDK clients pointed at the simulation's endpoint through AWS_ENDPOINT_URL_ECS and
 * AWS_ENDPOINT_URL_AUTO_SCALING. Environment is read once per process, like a Lambda cold start.
 */
export async function loadController(
  transport: Transport,
  { heartbeatTimeout = 1800, logLevel = 'SILENT' }: { heartbeatTimeout?: number; logLevel?: string } = {},
): Promise<ControllerHandlers> {
  // An endpoint is configured either way, so no call could ever leave the machine.
  const endpoint = transport.kind === 'http' ? transport.endpoint : 'http://127.0.0.1:9';
  Object.assign(process.env, {
    CLUSTER_NAME: STACK.clusterName,
    AUTO_SCALING_GROUP_NAME: STACK.groupName,
    LIFECYCLE_HOOK_NAME: STACK.hookName,
    HEARTBEAT_TIMEOUT: String(heartbeatTimeout),
    AWS_ENDPOINT_URL_ECS: endpoint,
    AWS_ENDPOINT_URL_AUTO_SCALING: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'simulated',
    AWS_SECRET_ACCESS_KEY: 'simulated',
    // The SDK's own retries back off on the wall clock, which a simulated hour does not wait for.
    // With one attempt, a throttled call fails the invocation and Lambda's asynchronous retries
    // (modelled in simulated time) take over.
    AWS_MAX_ATTEMPTS: '1',
    POWERTOOLS_SERVICE_NAME: 'ecs-drain',
    POWERTOOLS_LOG_LEVEL: logLevel,
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;
  forgetControllerModules();
  // require, not import(): a module loaded through import() stays cached however require.cache is
  // cleared, and each load must be a cold start.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const start: typeof import('../functions/start-drain/handler') = require('../functions/start-drain/handler');
  const finish: typeof import('../functions/finish-drain/handler') = require('../functions/finish-drain/handler');
  if (transport.kind === 'in-process') {
    const handler = new InProcessHandler(transport.target);
    const { ecsClient }: typeof import('../shared/aws/ecs') = require('../shared/aws/ecs');
    const {
      autoScalingClient,
    }: typeof import('../shared/aws/auto-scaling') = require('../shared/aws/auto-scaling');
    // The clients resolve their request handler on every send, so swapping it here takes effect.
    ecsClient.config.requestHandler = handler as unknown as typeof ecsClient.config.requestHandler;
    autoScalingClient.config.requestHandler =
      handler as unknown as typeof autoScalingClient.config.requestHandler;
  }
  const context = { functionName: 'simulated', awsRequestId: 'simulated' } as Context;
  return {
    startDrain: (event) => start.handler(event as SNSEvent, context, () => undefined) as Promise<void>,
    finishDrain: (event) =>
      finish.handler(event as EventBridgeEvent<string, unknown>, context, () => undefined) as Promise<void>,
  };
}

/** Each load is a cold start: the handler modules, their SDK clients and caches are evaluated anew. */
function forgetControllerModules(): void {
  for (const file of Object.keys(require.cache)) {
    if (/[\\/](functions|shared)[\\/]/.test(file) && !file.includes('node_modules'))
      delete require.cache[file];
  }
}
