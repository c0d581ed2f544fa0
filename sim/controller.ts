import type { Context, EventBridgeEvent, SNSEvent } from 'aws-lambda';
import { type ControllerHandlers, STACK } from './world';

/**
 * Loads the real, unmodified handlers, configured as the SAM template would configure them, with
 * their SDK clients pointed at the simulation's endpoint through AWS_ENDPOINT_URL_ECS and
 * AWS_ENDPOINT_URL_AUTO_SCALING. Environment is read once per process, like a Lambda cold start.
 */
export async function loadController(endpoint: string, logLevel = 'SILENT'): Promise<ControllerHandlers> {
  Object.assign(process.env, {
    CLUSTER_NAME: STACK.clusterName,
    AUTO_SCALING_GROUP_NAME: STACK.groupName,
    LIFECYCLE_HOOK_NAME: STACK.hookName,
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
  const start = await import('../functions/start-drain/handler');
  const finish = await import('../functions/finish-drain/handler');
  const context = { functionName: 'simulated', awsRequestId: 'simulated' } as Context;
  return {
    startDrain: (event) => start.handler(event as SNSEvent, context, () => undefined) as Promise<void>,
    finishDrain: (event) =>
      finish.handler(event as EventBridgeEvent<string, unknown>, context, () => undefined) as Promise<void>,
  };
}
