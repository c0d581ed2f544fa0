import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import type { ContainerInstance, Task } from '@aws-sdk/client-ecs';
import {
  ECSServiceException,
  PutAttributesCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { CONTAINER_INSTANCE_ARN, INSTANCE_ID } from './events';

export function containerInstance(changes: Partial<ContainerInstance> = {}): ContainerInstance {
  return {
    containerInstanceArn: CONTAINER_INSTANCE_ARN,
    ec2InstanceId: INSTANCE_ID,
    status: 'ACTIVE',
    agentConnected: true,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    ...changes,
  };
}

export function task(taskArn: string, lastStatus: string, version = 3): Task {
  return { taskArn, lastStatus, desiredStatus: 'STOPPED', version };
}

/** Auto Scaling's view of an instance, as DescribeAutoScalingInstances returns it. */
export function autoScalingInstance(instanceId: string, lifecycleState: string, group = 'prod-ecs-asg') {
  return {
    InstanceId: instanceId,
    AutoScalingGroupName: group,
    LifecycleState: lifecycleState,
    AvailabilityZone: 'us-east-1a',
    HealthStatus: 'HEALTHY',
    ProtectedFromScaleIn: false,
  };
}

/** What Auto Scaling answers for an action that was completed, timed out, or never existed. */
export function noActiveLifecycleAction(): AutoScalingServiceException {
  return new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `No active Lifecycle Action found with instance ID ${INSTANCE_ID}`,
  });
}

export function autoScalingValidationError(message: string): AutoScalingServiceException {
  return new AutoScalingServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

/** What Auto Scaling answers when the account's shared API bucket is empty. */
export function autoScalingThrottling(): AutoScalingServiceException {
  return new AutoScalingServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}

export function ecsThrottling(): ECSServiceException {
  return new ECSServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}

/**
 * A message that can never succeed is dropped: no call to any AWS client, and exactly one error
 * line that names the offending field.
 */
export function expectDroppedNaming(
  field: string,
  clients: { calls(): unknown[] }[],
  errorLog: jest.SpyInstance,
): void {
  for (const client of clients) expect(client.calls()).toHaveLength(0);
  expect(errorLog).toHaveBeenCalledTimes(1);
  expect(errorLog).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ field }));
}

/**
 * The custom attribute in which the controller records when it started to drain a container
 * instance (see EcsAdapter.markDrainStarted), as DescribeContainerInstances returns it.
 */
export function drainStartedAttribute(at: number) {
  return { name: 'ecs-drain.started-at', value: new Date(at).toISOString() };
}

/** The ECS writes a mocked client received, in order, each with the container instances it named. */
export function ecsWritesOf(ecs: { calls(): { args: unknown[] }[] }): [string, string[] | undefined][] {
  return ecs.calls().flatMap((call): [string, string[] | undefined][] => {
    const command = call.args[0];
    if (command instanceof PutAttributesCommand)
      return [['PutAttributes', command.input.attributes?.map((attribute) => attribute.targetId ?? '')]];
    if (command instanceof UpdateContainerInstancesStateCommand)
      return [['UpdateContainerInstancesState', command.input.containerInstances]];
    return [];
  });
}
