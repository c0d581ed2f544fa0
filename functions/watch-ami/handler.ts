import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { SsmAdapter } from '../../shared/aws/ssm';
import { logger } from '../../shared/observability';
import { loadWatcherConfig } from '../../shared/rollout/config';
import { createWatchAmiHandler } from './app';

// Created once per container; the schedule invokes it (see template.yaml, WatchAmiFunction). Endpoints can
// be redirected with AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_AUTO_SCALING and
// AWS_ENDPOINT_URL_SNS (see events/env.json).
const config = loadWatcherConfig();
const clientConfig = { maxAttempts: SDK_MAX_ATTEMPTS };

export const handler = createWatchAmiHandler({
  config,
  ssm: new SsmAdapter(new SSMClient(clientConfig)),
  ec2: new Ec2Adapter(new EC2Client(clientConfig)),
  autoScaling: new AutoScalingAdapter(new AutoScalingClient(clientConfig)),
  alerts: new AlertPublisher(new SNSClient(clientConfig), config.alertTopicArn),
  logger,
});
