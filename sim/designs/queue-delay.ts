import {
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  ListContainerInstancesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import type { SQSEvent } from 'aws-lambda';
import type { Transport } from '../controller';
import { SqsEventSource, SqsQueue } from '../sqs';
import type { World } from '../world';
import {
  type Design,
  type DesignCode,
  DesignFunction,
  type LifecycleMessage,
  putDesignHook,
  TERMINATING,
} from './design';

/**
 * The queue-delay loop (community drainers built on SQS): the hook notifies an SQS queue whose
 * event source mapping invokes one Lambda function. On a lifecycle message it finds the container
 * instance (ListContainerInstances filtered on ec2InstanceId) and sets it DRAINING; on every message
 * it counts the instance's tasks with ListTasks, default desired status RUNNING (a task told to stop
 * no longer counts while it still stops). Tasks left: RecordLifecycleActionHeartbeat, and the message
 * is sent again with DelaySeconds 60 (carrying the container instance ARN). None left:
 * CompleteLifecycleAction CONTINUE. Drains are not capped: the heartbeat keeps the action alive.
 *
 * Deployed with HeartbeatTimeout 300 s (five loops) and DefaultResult CONTINUE, a 60 s function
 * timeout and a 360 s visibility timeout (6x, AWS's guidance). The twin has no SQS API, so the code
 * sends the delayed message to the queue directly: no SDK call, no throttling (SQS has no
 * practical limit here), not counted among the API calls.
 */
const QUEUE_DELAY_SECONDS = 60;

/**
 * `countStopping`: the same loop made correct, as none of the tools does it: once no task wants to run,
 * it also lists the tasks told to stop (desired status STOPPED) and describes them, counting those not
 * yet STOPPED. Not a design anyone runs: the price of correctness for a polling design, beside ours.
 */
export function queueDelay(transport: Transport, { countStopping = false } = {}): Design {
  const name = countStopping ? 'queue-delay-counting-stopping' : 'queue-delay-heartbeat';
  const design: Design = {
    name,
    description: countStopping
      ? 'the queue-delay loop made correct (not a tool people run): also ListTasks desired STOPPED + DescribeTasks, counting those not STOPPED'
      : 'SQS: message re-sent with DelaySeconds 60 and a heartbeat each loop; counts ListTasks (desired RUNNING)',
    hook: { heartbeatTimeout: 300, defaultResult: 'CONTINUE' },
    install(world: World) {
      const queue = new SqsQueue('drain-queue', world.clock, world.channels, {
        visibilityTimeoutSeconds: 360,
      });
      const fn = new DesignFunction(world, transport, {
        name,
        timeoutSeconds: 60,
        code: queueDelayCode(
          (body) => queue.sendMessage(body, { delaySeconds: QUEUE_DELAY_SECONDS }),
          countStopping,
        ),
      });
      // Synchronous invocations by the mapping: no asynchronous chain, nothing for loop detection to count.
      new SqsEventSource(queue, fn.fn, world.clock, { BatchSize: 10 });
      world.onLifecycleNotification = (message) =>
        world.deliverLater('notification', () => queue.sendMessage(JSON.stringify(message)));
      putDesignHook(world, design);
    },
  };
  return design;
}

/** The function: one pass per message; a failed pass leaves the message to come back after the visibility timeout. */
function queueDelayCode(sendDelayed: (body: string) => void, countStopping = false): DesignCode {
  return ({ ecs, autoScaling, cluster, log }) =>
    async (event) => {
      for (const record of (event as SQSEvent).Records) {
        const message = JSON.parse(record.body) as LifecycleMessage & { containerInstanceArn?: string };
        if (message.LifecycleTransition !== TERMINATING) continue;
        let arn = message.containerInstanceArn;
        if (arn === undefined) {
          const { containerInstanceArns = [] } = await ecs.send(
            new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId==${message.EC2InstanceId}` }),
          );
          arn = containerInstanceArns[0];
          if (arn !== undefined)
            await ecs.send(
              new UpdateContainerInstancesStateCommand({
                cluster,
                containerInstances: [arn],
                status: 'DRAINING',
              }),
            );
        }
        const action = {
          LifecycleHookName: message.LifecycleHookName,
          AutoScalingGroupName: message.AutoScalingGroupName,
          LifecycleActionToken: message.LifecycleActionToken,
        };
        const { taskArns = [] } =
          arn === undefined ? {} : await ecs.send(new ListTasksCommand({ cluster, containerInstance: arn }));
        let stopping = 0;
        if (countStopping && arn !== undefined && taskArns.length === 0) {
          const { taskArns: told = [] } = await ecs.send(
            new ListTasksCommand({ cluster, containerInstance: arn, desiredStatus: 'STOPPED' }),
          );
          for (let at = 0; at < told.length; at += 100) {
            const { tasks = [] } = await ecs.send(
              new DescribeTasksCommand({ cluster, tasks: told.slice(at, at + 100) }),
            );
            stopping += tasks.filter((task) => task.lastStatus !== 'STOPPED').length;
          }
        }
        try {
          if (taskArns.length + stopping > 0) {
            await autoScaling.send(new RecordLifecycleActionHeartbeatCommand(action));
            sendDelayed(JSON.stringify({ ...message, containerInstanceArn: arn }));
          } else {
            await autoScaling.send(
              new CompleteLifecycleActionCommand({ ...action, LifecycleActionResult: 'CONTINUE' }),
            );
          }
        } catch (error) {
          // No active lifecycle action (completed, timed out): the loop ends here. Anything else
          // fails the batch, and the message comes back after the visibility timeout.
          if ((error as Error).name !== 'ValidationError') throw error;
          log('lifecycle action is gone', { error: String(error) });
        }
      }
    };
}
