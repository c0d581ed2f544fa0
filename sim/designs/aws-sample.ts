import { CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import type { Transport } from '../controller';
import type { World } from '../world';
import {
  type Design,
  type DesignCode,
  DesignFunction,
  type LifecycleMessage,
  putDesignHook,
  snsTopicToLambda,
  TERMINATING,
} from './design';

/**
 * The AWS sample (awslabs/ecs-cid-sample, code/index.py, and the copies of it in AWS reference
 * architectures): the hook notifies an SNS topic subscribed by one Lambda function. Each invocation
 * lists the cluster's container instances and describes them to find the terminating one, sets it
 * DRAINING if it is not, and counts its tasks with ListTasks (default desired status RUNNING: the
 * tasks runningTasksCount counts, so a task told to stop is no longer counted while it still stops).
 * Tasks left: it sleeps 5 s and re-publishes the lifecycle message to its own topic, which invokes it
 * again. None left: CompleteLifecycleAction CONTINUE. No heartbeat.
 *
 * Deployed as the sample's template does: HeartbeatTimeout 900 s, DefaultResult ABANDON (on a
 * termination both let the instance go). The chain of invocations through SNS is what Lambda's
 * recursive loop detection stops after 16 invocations (`loopDetection`); the sample predates it.
 *
 * Left out, in the sample's favour: its EC2 DescribeInstanceAttribute (the cluster name from the
 * user data) and its SNS ListSubscriptions on each hop; the cluster comes from its configuration here.
 */
const SAMPLE_POLL_SECONDS = 5;

export function awsSample(transport: Transport, { loopDetection }: { loopDetection: boolean }): Design {
  const name = loopDetection ? 'aws-sample' : 'aws-sample-no-loop-cutoff';
  const design: Design = {
    name,
    description: loopDetection
      ? 'AWS sample: re-publishes the lifecycle message to its own SNS topic every 5 s; Lambda stops the loop after 16 hops'
      : 'AWS sample as it ran before Lambda detected recursive loops',
    hook: { heartbeatTimeout: 900, defaultResult: 'ABANDON' },
    install(world: World) {
      const fn = new DesignFunction(world, transport, { name, timeoutSeconds: 60, code: awsSampleCode });
      snsTopicToLambda(world, 'ecs-cid-ASGSNSTopic', fn, { loopDetection });
      putDesignHook(world, design);
    },
  };
  return design;
}

/** index.py's lambda_handler and checkContainerInstanceTaskStatus, where they call AWS. */
const awsSampleCode: DesignCode =
  ({ ecs, autoScaling, sns, cluster, sleep, log }) =>
  async (event) => {
    const record = (event as SNSEvent).Records[0];
    if (record === undefined) return;
    const message = JSON.parse(record.Sns.Message) as LifecycleMessage;
    if (!String(message.LifecycleTransition ?? '').includes(TERMINATING)) return;
    const instanceId = message.EC2InstanceId;

    // One page of the cluster's container instances (the sample does not paginate), all described.
    const { containerInstanceArns = [] } = await ecs.send(new ListContainerInstancesCommand({ cluster }));
    const { containerInstances = [] } = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: containerInstanceArns }),
    );
    let containerInstanceId: string | undefined;
    for (const instance of containerInstances) {
      if (instance.ec2InstanceId !== instanceId) continue;
      containerInstanceId = instance.containerInstanceArn;
      if (instance.status !== 'DRAINING')
        await ecs.send(
          new UpdateContainerInstancesStateCommand({
            cluster,
            containerInstances: [instance.containerInstanceArn as string],
            status: 'DRAINING',
          }),
        );
      message.containerInstanceId = containerInstanceId;
    }
    let tasksRunning = false;
    if (containerInstanceId !== undefined) {
      const { taskArns = [] } = await ecs.send(
        new ListTasksCommand({ cluster, containerInstance: containerInstanceId }),
      );
      tasksRunning = taskArns.length > 0;
    }

    if (tasksRunning) {
      await sleep(SAMPLE_POLL_SECONDS);
      await sns.send(
        new PublishCommand({
          TopicArn: record.Sns.TopicArn,
          Message: JSON.stringify(message),
          Subject: 'Publishing SNS message to invoke lambda again..',
        }),
      );
      return;
    }
    try {
      await autoScaling.send(
        new CompleteLifecycleActionCommand({
          LifecycleHookName: message.LifecycleHookName,
          AutoScalingGroupName: message.AutoScalingGroupName,
          LifecycleActionResult: 'CONTINUE',
          InstanceId: instanceId,
        }),
      );
    } catch (error) {
      log('complete_lifecycle_action failed', { error: String(error) });
    }
  };
