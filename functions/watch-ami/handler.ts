import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { EcsAdapter } from '../../shared/aws/ecs';
import { autoScalingPacer, Pacer, SDK_MAX_ATTEMPTS } from '../../shared/aws/pacer';
import { AlertPublisher } from '../../shared/aws/sns';
import { SsmAdapter } from '../../shared/aws/ssm';
import { logger } from '../../shared/observability';
import { loadWatcherConfig } from '../../shared/rollout/config';
import { createWatchAmiHandler } from './app';

// Created once per container; the schedules invoke it (see template.yaml, WatchAmiFunction). Endpoints can
// be redirected with AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_AUTO_SCALING,
// AWS_ENDPOINT_URL_ECS and AWS_ENDPOINT_URL_SNS (see events/env.json).
const config = loadWatcherConfig();
const clientConfig = { maxAttempts: SDK_MAX_ATTEMPTS };

/**
 * ECS reads of blue/green steps: a ListContainerInstances per 20 instances and a DescribeContainerInstances
 * per 100, for each group with a rollout, once a minute. One read per second, in bursts of one, keeps
 * them a small part of the account's bucket (20 per second) beside the drain functions' share
 * (shared/aws/pacer.ts, ECS_READ_SHARES), and steps a group of 100 instances in a few seconds.
 */
const ROLLOUT_ECS_READS_PER_SECOND = 1;

export const handler = createWatchAmiHandler({
  config,
  ssm: new SsmAdapter(new SSMClient(clientConfig)),
  ec2: new Ec2Adapter(new EC2Client(clientConfig)),
  autoScaling: new AutoScalingAdapter(new AutoScalingClient(clientConfig), autoScalingPacer('watcher')),
  alerts: new AlertPublisher(new SNSClient(clientConfig), config.alertTopicArn),
  logger,
  // Only a blue/green rollout reads and changes container instances (its rights exist only then).
  ...(config.strategy === 'blue-green' && {
    ecs: new EcsAdapter(new ECSClient(clientConfig), new Pacer(ROLLOUT_ECS_READS_PER_SECOND, 1)),
  }),
});
