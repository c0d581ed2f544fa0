import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SQSHandler } from 'aws-lambda';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { EcsAdapter } from '../../shared/aws/ecs';
import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { loadConfig } from '../../shared/config';
import { logger, metrics, telemetry } from '../../shared/observability';
import { createStartDrainHandler } from './app';

// Created once per container. Endpoints can be redirected with AWS_ENDPOINT_URL_ECS and
// AWS_ENDPOINT_URL_AUTO_SCALING (see events/env.json).
const config = loadConfig();
export const handler: SQSHandler = createStartDrainHandler({
  config,
  ecs: new EcsAdapter(new ECSClient({ maxAttempts: SDK_MAX_ATTEMPTS })),
  autoScaling: new AutoScalingAdapter(new AutoScalingClient({ maxAttempts: SDK_MAX_ATTEMPTS })),
  alerts: new AlertPublisher(new SNSClient({ maxAttempts: SDK_MAX_ATTEMPTS }), config.alertTopicArn),
  telemetry: telemetry(logger, metrics, 'start'),
});
