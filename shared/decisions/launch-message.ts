import { clusterMatches, type ControllerConfig, servedGroup } from '../config';
import {
  AMI_ID_ATTRIBUTE,
  ContainerInstanceStateChangeEvent,
} from '../events/container-instance-state-change';
import { parseJson } from '../events/json';
import { snsMessageOf } from '../events/sns-envelope';
import {
  DrainMetadata,
  LAUNCHING,
  LifecycleActionMessage,
  TEST_NOTIFICATION,
} from '../events/lifecycle-notification';
import type { RegisteredView } from './launch';

/** A new instance to look at: told by our launch hook's notification, or by ECS that it registered. */
export interface LaunchCandidate {
  instanceId: string;
  /** From the notification: the action's token and since when the hook holds the instance. */
  lifecycleActionToken?: string;
  waitingSince?: number;
  /** From an event: the container instance as ECS described it then (confirmed by a read before use). */
  seen?: RegisteredView;
}

export type LaunchMessageDecision =
  | { kind: 'look'; candidate: LaunchCandidate }
  | { kind: 'ignore'; reason: string }
  | { kind: 'reject'; reason: string; field: string; value?: unknown };

/**
 * What a message on the launch queue asks: a launching lifecycle notification of our launch hook
 * (the hook's SNS subscription lets only those through), or an "ECS Container Instance State
 * Change" event of a served cluster. Pure: no AWS call.
 */
export function decideOnLaunchMessage(
  body: string,
  config: ControllerConfig,
  now: number,
): LaunchMessageDecision {
  const { message, field } = snsMessageOf(body);
  const raw = parseJson(message);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { kind: 'reject', reason: 'message is not a JSON object', field };
  const fields = raw as Record<string, unknown>;
  if (fields['detail-type'] !== undefined) return onContainerInstanceEvent(fields, config, now);
  return onLaunchNotification(fields, config);
}

function onContainerInstanceEvent(
  fields: Record<string, unknown>,
  config: ControllerConfig,
  now: number,
): LaunchMessageDecision {
  const parsed = ContainerInstanceStateChangeEvent.safeParse(fields);
  if (!parsed.success) return malformed('malformed container instance event', parsed.error.issues[0], fields);
  const { detail } = parsed.data;
  const cluster = config.clusters.find((name) => clusterMatches(detail.clusterArn, name));
  // Another stack's cluster, as the finish function treats its task events: not ours, not wrong.
  if (cluster === undefined)
    return {
      kind: 'ignore',
      reason: `container instance of a cluster this stack does not serve (it serves ${config.clusters.join(', ')})`,
    };
  // A long-format ARN names its cluster (container-instance/<cluster>/<id>): it must be the event's,
  // or a describe in that cluster would name a stranger and fail for the whole batch.
  const arnCluster = /:container-instance\/([^/]+)\/[^/]+$/.exec(detail.containerInstanceArn)?.[1];
  if (arnCluster !== undefined && arnCluster !== cluster)
    return {
      kind: 'reject',
      reason: `container instance of cluster ${arnCluster} in an event of cluster ${cluster}`,
      field: 'detail.containerInstanceArn',
      value: detail.containerInstanceArn,
    };
  if (detail.status !== 'ACTIVE' || !detail.agentConnected)
    return {
      kind: 'ignore',
      reason: `container instance ${detail.status}, agent ${detail.agentConnected ? 'connected' : 'disconnected'}: not ready`,
    };
  // Registered long before any launch we could hold: an instance in service whose tasks changed.
  const registeredAt = Date.parse(detail.registeredAt ?? '');
  if (
    !Number.isNaN(registeredAt) &&
    now - registeredAt > (config.launchTimeoutSeconds + REGISTERED_MARGIN_SECONDS) * 1000
  )
    return { kind: 'ignore', reason: 'registered before any launch our hook could still hold' };
  const amiId = detail.attributes?.find((attribute) => attribute.name === AMI_ID_ATTRIBUTE)?.value;
  return {
    kind: 'look',
    candidate: {
      instanceId: detail.ec2InstanceId,
      seen: {
        cluster,
        arn: detail.containerInstanceArn,
        status: detail.status,
        agentConnected: detail.agentConnected,
        ...(amiId !== undefined && { amiId }),
      },
    },
  };
}

/** Events arrive late and out of order: a registration a few minutes older than the timeout may still matter. */
const REGISTERED_MARGIN_SECONDS = 300;

function onLaunchNotification(
  fields: Record<string, unknown>,
  config: ControllerConfig,
): LaunchMessageDecision {
  if (fields.Event === TEST_NOTIFICATION || fields.LifecycleTransition === TEST_NOTIFICATION)
    return { kind: 'ignore', reason: 'test notification sent when a hook was created or updated' };
  const parsed = LifecycleActionMessage.safeParse(fields);
  if (!parsed.success) return malformed('malformed lifecycle action', parsed.error.issues[0], fields);
  const action = parsed.data;
  if (action.LifecycleTransition !== LAUNCHING)
    return {
      kind: 'ignore',
      reason: `not a launch (${action.LifecycleTransition}): the start function drains`,
    };
  if (config.launchHookName === undefined || action.LifecycleHookName !== config.launchHookName)
    return {
      kind: 'reject',
      reason: `hook is not our launch hook (${config.launchHookName ?? 'launch readiness is off'}); its action is left alone`,
      field: 'LifecycleHookName',
      value: action.LifecycleHookName,
    };
  const group = servedGroup(config.groups, action.AutoScalingGroupName);
  if (group === undefined)
    return {
      kind: 'reject',
      reason: 'Auto Scaling group is not served by this stack; its action is left alone',
      field: 'AutoScalingGroupName',
      value: action.AutoScalingGroupName,
    };
  if (action.NotificationMetadata !== undefined && action.NotificationMetadata.trim() !== '') {
    const metadata = DrainMetadata.safeParse(parseJson(action.NotificationMetadata));
    if (!metadata.success || metadata.data.cluster !== group.cluster)
      return {
        kind: 'reject',
        reason: `NotificationMetadata must name the group's cluster, like {"cluster":"${group.cluster}"}`,
        field: 'NotificationMetadata',
        value: action.NotificationMetadata,
      };
  }
  const sentAt = Date.parse(action.Time ?? '');
  return {
    kind: 'look',
    candidate: {
      instanceId: action.EC2InstanceId,
      lifecycleActionToken: action.LifecycleActionToken,
      ...(!Number.isNaN(sentAt) && { waitingSince: sentAt }),
    },
  };
}

function malformed(
  reason: string,
  issue: { path: PropertyKey[]; message: string } | undefined,
  fields: Record<string, unknown>,
): LaunchMessageDecision {
  const path = issue?.path ?? [];
  const field = path.map(String).join('.') || 'body';
  // The offending value itself, not the object around it (a log line quotes 200 characters at most).
  let value: unknown = fields;
  for (const key of path)
    value =
      typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return { kind: 'reject', reason: `${reason}: ${issue?.message}`, field, value };
}
