import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import { AutoScalingAdapter } from '../aws/auto-scaling';
import { EcsAdapter } from '../aws/ecs';
import { autoScalingPacer, ecsReadPacer, SDK_MAX_ATTEMPTS } from '../aws/pacer';
import { AlertPublisher } from '../aws/sns';
import { loadConfig } from '../config';
import type { DecisionPath } from '../decisions/host';
import { logger, metrics, telemetry } from '../observability';
import type { FunctionDependencies } from './drive-hosts';

/**
 * What a function deployed in Lambda is built from, once per container: the configuration the
 * template sets, and real clients. Endpoints can be redirected with AWS_ENDPOINT_URL_ECS,
 * AWS_ENDPOINT_URL_AUTO_SCALING and AWS_ENDPOINT_URL_SNS (see events/env.json). The simulation and
 * the tests build the same dependencies with their own clients.
 */
export function lambdaDependencies(path: DecisionPath): FunctionDependencies {
  const config = loadConfig();
  if (config.drainDeadlineRequested !== undefined) {
    logger.warn(
      'DrainDeadline is beyond the hook global timeout, min(48 h, 100 x HeartbeatTimeout): capped',
      {
        requested: config.drainDeadlineRequested,
        drainDeadlineSeconds: config.drainDeadlineSeconds,
      },
    );
  }
  return {
    config,
    ecs: new EcsAdapter(
      new ECSClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
      ecsReadPacer(path, config.ecsReadsPerSecond),
    ),
    autoScaling: new AutoScalingAdapter(
      new AutoScalingClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
      autoScalingPacer(path),
    ),
    alerts: new AlertPublisher(new SNSClient({ maxAttempts: SDK_MAX_ATTEMPTS }), config.alertTopicArn),
    telemetry: telemetry(logger, metrics, path),
  };
}
