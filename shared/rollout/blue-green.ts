import type { Logger } from '@aws-lambda-powertools/logger';
import type { AutoScalingAdapter } from '../aws/auto-scaling';
import type { EcsAdapter } from '../aws/ecs';
import type { Timing } from '../aws/pacer';
import type { AlertMessage } from '../aws/sns';
import {
  BLUE_GREEN_DEFAULTS,
  BLUE_GREEN_TAG,
  type BlueGreenCommand,
  type BlueGreenObservation,
  type BlueGreenPhase,
  type BlueGreenRequest,
  type BlueGreenSettings,
  decideBlueGreen,
  type ObservedInstance,
} from '../decisions/blue-green';

/**
 * One step of a blue/green rollout of a group's ECS fleet: observe the group and its container
 * instances, decide (shared/decisions/blue-green.ts), act. Nothing is kept between calls: the
 * group's tag is the state, so any invocation (a schedule, the rehearsal, a person) resumes it.
 */

export interface BlueGreenDeps {
  autoScaling: AutoScalingAdapter;
  ecs: EcsAdapter;
  timing: Pick<Timing, 'now'>;
  /** Absent: alerts are only logged. */
  alerts?: { publish(alert: AlertMessage): Promise<void> };
  logger?: Pick<Logger, 'info' | 'warn'>;
  settings?: Partial<BlueGreenSettings>;
}

export interface BlueGreenReport {
  group: string;
  phase: BlueGreenPhase;
  reason: string;
  commands: BlueGreenCommand[];
  /** Container instances ECS refused to change (per-instance failures, not errors). */
  failures: { arn: string; reason: string }[];
}

export async function stepBlueGreen(
  groupName: string,
  cluster: string,
  deps: BlueGreenDeps,
  request: BlueGreenRequest = { action: 'none' },
): Promise<BlueGreenReport> {
  const observation = await observe(groupName, cluster, deps);
  const decision = decideBlueGreen(observation, deps.timing.now() / 1000, request, {
    ...BLUE_GREEN_DEFAULTS,
    ...deps.settings,
  });
  const failures = await act(groupName, cluster, decision.commands, deps);
  const report = { group: groupName, ...decision, failures };
  if (decision.phase === 'refused') deps.logger?.warn('blue/green step refused', { ...report, request });
  else deps.logger?.info('blue/green step', { ...report, request });
  return report;
}

/** One DescribeAutoScalingGroups, then the container instances of the group's EC2 instances. */
async function observe(
  groupName: string,
  cluster: string,
  deps: BlueGreenDeps,
): Promise<BlueGreenObservation> {
  const group = await deps.autoScaling.describeGroup(groupName);
  if (group === undefined) throw new Error(`Auto Scaling group ${groupName} not found`);
  const ids = group.instances.map((instance) => instance.instanceId);
  const arns = ids.length === 0 ? [] : await deps.ecs.listContainerInstancesOf(cluster, ids);
  const { found } =
    arns.length === 0 ? { found: [] } : await deps.ecs.describeContainerInstances(cluster, arns);
  const containers = new Map<string, (typeof found)[number]>();
  for (const container of found) {
    // An old agent may have registered an instance twice: prefer the one ECS can place on.
    const seen = containers.get(container.ec2InstanceId);
    if (seen === undefined || (seen.status !== 'ACTIVE' && container.status === 'ACTIVE'))
      containers.set(container.ec2InstanceId, container);
  }
  const tag = group.tags.get(BLUE_GREEN_TAG);
  return {
    group: {
      name: groupName,
      minSize: group.minSize,
      maxSize: group.maxSize,
      desiredCapacity: group.desiredCapacity,
      ...(group.launchTemplate !== undefined && { launchTemplate: group.launchTemplate }),
    },
    instances: group.instances.map((instance): ObservedInstance => {
      const container = containers.get(instance.instanceId);
      return {
        ...instance,
        ...(container !== undefined && {
          container: {
            arn: container.arn,
            status: container.status,
            agentConnected: container.agentConnected,
            runningTasksCount: container.runningTasksCount,
            pendingTasksCount: container.pendingTasksCount,
          },
        }),
      };
    }),
    ...(tag !== undefined && { tag }),
  };
}

/** Carries the commands out in their order; an AWS error stops the step (the next one resumes). */
async function act(
  groupName: string,
  cluster: string,
  commands: BlueGreenCommand[],
  deps: BlueGreenDeps,
): Promise<{ arn: string; reason: string }[]> {
  const failures: { arn: string; reason: string }[] = [];
  for (const command of commands) {
    switch (command.kind) {
      case 'update-group':
        await deps.autoScaling.updateGroup(groupName, {
          ...(command.minSize !== undefined && { minSize: command.minSize }),
          ...(command.maxSize !== undefined && { maxSize: command.maxSize }),
          ...(command.desiredCapacity !== undefined && { desiredCapacity: command.desiredCapacity }),
          ...(command.launchTemplate !== undefined && { launchTemplate: command.launchTemplate }),
        });
        break;
      case 'protect':
        await deps.autoScaling.setInstanceProtection(groupName, command.instanceIds, command.protect);
        break;
      case 'set-state': {
        const result = await deps.ecs.setContainerInstancesState(
          cluster,
          command.containerInstanceArns,
          command.status,
        );
        failures.push(...result.failures);
        break;
      }
      case 'terminate':
        for (const instanceId of command.instanceIds)
          await deps.autoScaling.terminateAndDecrement(instanceId);
        break;
      case 'write-tag':
        await deps.autoScaling.putGroupTag(groupName, BLUE_GREEN_TAG, command.value);
        break;
      case 'delete-tag':
        await deps.autoScaling.deleteGroupTag(groupName, BLUE_GREEN_TAG);
        break;
      case 'alert':
        deps.logger?.warn(command.subject, { group: groupName, message: command.message });
        await deps.alerts?.publish({
          subject: command.subject,
          key: 'blue-green',
          cluster,
          autoScalingGroupName: groupName,
          summary: command.message,
        });
        break;
    }
  }
  return failures;
}
