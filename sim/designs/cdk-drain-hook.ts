import { CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import type { SNSEvent } from 'aws-lambda';
import type { Transport } from '../controller';
import type { World } from '../world';
import {
  type Design,
  type DesignClients,
  type DesignCode,
  DesignFunction,
  type LifecycleMessage,
  putDesignHook,
  snsTopicToLambda,
} from './design';

/**
 * The aws-cdk drain hook (aws-cdk-lib/aws-ecs/lib/drain-hook/instance-drain-hook.ts and its
 * lambda-source/index.py): the hook notifies an SNS topic, which invokes one Lambda function. The
 * function lists the instance's tasks once (ListTasks, default desired status RUNNING), sets the
 * container instance DRAINING, then loops every 10 s, counting the listed tasks whose last status is
 * not STOPPED plus pendingTasksCount (falling back on runningTasksCount + pendingTasksCount when that
 * is 0), and completes the action with CONTINUE once the count is 0. No heartbeat.
 *
 * Deployed as the construct does with `drainTime` at its 15-minute maximum: HeartbeatTimeout =
 * drainTime = 900 s, DefaultResult CONTINUE, Lambda Timeout min(drainTime + 10, 900) = 900 s. A drain
 * that lasts longer is cut: the hook times out and Auto Scaling terminates the instance (Lambda
 * kills the loop at the same moment, and its asynchronous retries start it over on an instance that
 * is already going).
 */
export const CDK_DRAIN_TIME_SECONDS = 900;

export function cdkDrainHook(transport: Transport): Design {
  const design: Design = {
    name: 'cdk-drain-hook',
    description:
      'aws-cdk InstanceDrainHook: SNS -> one Lambda looping every 10 s, 15-minute cap, no heartbeat',
    hook: { heartbeatTimeout: CDK_DRAIN_TIME_SECONDS, defaultResult: 'CONTINUE' },
    install(world: World) {
      const fn = new DesignFunction(world, transport, {
        name: 'cdk-drain-hook',
        timeoutSeconds: Math.min(CDK_DRAIN_TIME_SECONDS + 10, 900),
        code: cdkDrainHookCode,
      });
      snsTopicToLambda(world, 'cdk-DrainHookTopic', fn, { loopDetection: true });
      putDesignHook(world, design);
    },
  };
  return design;
}

/** index.py's lambda_handler, line for line where it calls AWS. */
const cdkDrainHookCode: DesignCode = (clients) => async (event) => {
  const { ecs, autoScaling, cluster, sleep, log } = clients;
  const record = (event as SNSEvent).Records[0];
  if (record === undefined) return;
  const message = JSON.parse(record.Sns.Message) as LifecycleMessage;
  const instanceId = message.EC2InstanceId;
  if (!instanceId) return; // "Got event without EC2InstanceId" (the test notification)

  const { containerInstanceArns = [] } = await ecs.send(
    new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId==${instanceId}` }),
  );
  const instanceArn = containerInstanceArns[0];
  if (instanceArn === undefined) return;
  const { taskArns = [] } = await ecs.send(new ListTasksCommand({ cluster, containerInstance: instanceArn }));

  while (await hasTasks(ecs, cluster, instanceArn, taskArns, log)) await sleep(10);

  try {
    await autoScaling.send(
      new CompleteLifecycleActionCommand({
        LifecycleActionResult: 'CONTINUE',
        LifecycleHookName: message.LifecycleHookName,
        LifecycleActionToken: message.LifecycleActionToken,
        AutoScalingGroupName: message.AutoScalingGroupName,
      }),
    );
  } catch (error) {
    log('complete_lifecycle_action failed', { error: String(error) }); // "may have already completed"
  }
};

async function hasTasks(
  ecs: ECSClient,
  cluster: string,
  instanceArn: string,
  taskArns: string[],
  log: DesignClients['log'],
): Promise<boolean> {
  const { containerInstances = [] } = await ecs.send(
    new DescribeContainerInstancesCommand({ cluster, containerInstances: [instanceArn] }),
  );
  const instance = containerInstances[0];
  if (instance === undefined) return false;
  if (instance.status === 'ACTIVE') {
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster,
        containerInstances: [instanceArn],
        status: 'DRAINING',
      }),
    );
    return true;
  }
  let taskCount = 0;
  if (taskArns.length > 0) {
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns }));
    if (tasks.length > 0)
      taskCount =
        tasks.filter((task) => task.lastStatus !== 'STOPPED').length + (instance.pendingTasksCount ?? 0);
  }
  // Python's `if not task_count`: 0 falls back on the instance's own counts.
  if (!taskCount) taskCount = (instance.runningTasksCount ?? 0) + (instance.pendingTasksCount ?? 0);
  log('instance task count', { instanceArn, taskCount });
  return taskCount > 0;
}
