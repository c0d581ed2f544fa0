import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import { ListContainerInstancesCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import type { Transport } from '../controller';
import { type EventPattern, matchesPattern } from '../delivery';
import type { ContainerInstanceEvent, World } from '../world';
import {
  type Design,
  type DesignCode,
  DesignFunction,
  DESIGN_HOOK_NAME,
  type LifecycleMessage,
  putDesignHook,
  TERMINATING,
} from './design';

/**
 * The common two-Lambda design (blog posts and community stacks): an EventBridge rule on "EC2
 * Instance-terminate Lifecycle Action" invokes a first function that sets the container instance
 * DRAINING; a second rule on "ECS Container Instance State Change" with status DRAINING and
 * runningTasksCount 0 invokes a second function that completes the lifecycle action (the group from
 * DescribeAutoScalingInstances, the hook name from its configuration). Nothing lists the tasks that
 * are still stopping: runningTasksCount counts desired status RUNNING (aws-semantics §3.2), so it
 * reaches 0 as the last task is told to stop, not when it has stopped. No heartbeat.
 *
 * Deployed with the hook settings most such stacks copy from the AWS sample: HeartbeatTimeout 900 s,
 * DefaultResult ABANDON. The lifecycle event reaches the first function with the latency of the
 * twin's SNS/EventBridge delivery (the twin sends it through the hook's notification).
 */
export function twoLambda(transport: Transport): Design {
  const design: Design = {
    name: 'two-lambda-eventbridge',
    description:
      'EventBridge: lifecycle event -> Lambda sets DRAINING; container instance event runningTasksCount 0 -> Lambda completes',
    hook: { heartbeatTimeout: 900, defaultResult: 'ABANDON' },
    install(world: World) {
      const drain = new DesignFunction(world, transport, {
        name: 'two-lambda-drain',
        timeoutSeconds: 30,
        code: startDrainingCode,
      });
      const complete = new DesignFunction(world, transport, {
        name: 'two-lambda-complete',
        timeoutSeconds: 30,
        code: completeWhenEmptyCode,
      });
      world.onLifecycleNotification = (message) => {
        if (message.LifecycleTransition !== TERMINATING) return; // no test notification on EventBridge
        const event = {
          version: '0',
          'detail-type': 'EC2 Instance-terminate Lifecycle Action',
          source: 'aws.autoscaling',
          region: 'us-east-1',
          resources: [message.AutoScalingGroupARN],
          detail: message,
        };
        world.deliverLater('event', () => drain.invokeAsync(event));
      };
      const rule: EventPattern = {
        source: ['aws.ecs'],
        'detail-type': ['ECS Container Instance State Change'],
        detail: { clusterArn: [world.ecs.clusterArn], status: ['DRAINING'], runningTasksCount: [0] },
      };
      world.onContainerInstanceEvent = (event: ContainerInstanceEvent) => {
        if (matchesPattern(event, rule)) world.deliverLater('event', () => complete.invokeAsync(event));
      };
      putDesignHook(world, design);
    },
  };
  return design;
}

/** The first function: the instance's container instance, set DRAINING. */
const startDrainingCode: DesignCode =
  ({ ecs, cluster }) =>
  async (event) => {
    const detail = (event as { detail: LifecycleMessage }).detail;
    const { containerInstanceArns = [] } = await ecs.send(
      new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId==${detail.EC2InstanceId}` }),
    );
    if (containerInstanceArns.length === 0) return;
    await ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster,
        containerInstances: containerInstanceArns,
        status: 'DRAINING',
      }),
    );
  };

/** The second function: the host reports no running task, so its lifecycle action is completed. */
const completeWhenEmptyCode: DesignCode =
  ({ autoScaling, log }) =>
  async (event) => {
    const instanceId = (event as ContainerInstanceEvent).detail.ec2InstanceId;
    const { AutoScalingInstances = [] } = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
    );
    const instance = AutoScalingInstances[0];
    if (instance?.LifecycleState !== 'Terminating:Wait') return;
    try {
      await autoScaling.send(
        new CompleteLifecycleActionCommand({
          LifecycleHookName: DESIGN_HOOK_NAME,
          AutoScalingGroupName: instance.AutoScalingGroupName,
          LifecycleActionResult: 'CONTINUE',
          InstanceId: instanceId,
        }),
      );
    } catch (error) {
      log('CompleteLifecycleAction failed', { error: String(error) }); // "No active Lifecycle Action found"
    }
  };
