import { type ControllerConfig, servedGroup } from '../config';
import { parseJson } from '../events/json';
import {
  DrainMetadata,
  LAUNCHING,
  LifecycleActionMessage,
  TERMINATING,
  TEST_NOTIFICATION,
} from '../events/lifecycle-notification';

/** A terminating lifecycle action on our hook: the instance to drain and how to answer for it. */
export interface DrainRequest {
  instanceId: string;
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
  cluster: string;
  /** `WarmPool` when the instance is being stopped into a warm pool rather than terminated. */
  destination: string;
  /** When Auto Scaling sent the notification (epoch ms), if the message says. */
  sentAt?: number;
}

export type NotificationDecision =
  | { kind: 'drain'; request: DrainRequest }
  /** Expected traffic that is not ours to act on. */
  | { kind: 'ignore'; reason: string }
  /** Can never succeed: logged once with the offending field, dropped, no AWS call. */
  | { kind: 'reject'; reason: string; field: string; value?: unknown };

/** Decides what an SNS `Message` from Auto Scaling asks of this controller. Pure: no AWS call. */
export function decideOnNotification(message: string, config: ControllerConfig): NotificationDecision {
  const raw = parseJson(message);
  if (raw === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { kind: 'reject', reason: 'message is not a JSON object', field: 'Message' };
  }
  const fields = raw as Record<string, unknown>;

  if (fields.Event === TEST_NOTIFICATION || fields.LifecycleTransition === TEST_NOTIFICATION) {
    return { kind: 'ignore', reason: 'test notification sent when the hook was created or updated' };
  }
  if (fields.LifecycleTransition === undefined && typeof fields.Event === 'string') {
    // Plain ASG notification configurations (autoscaling:EC2_INSTANCE_TERMINATE, ...) are not lifecycle actions.
    return { kind: 'ignore', reason: `not a lifecycle action (Event ${fields.Event})` };
  }

  const parsed = LifecycleActionMessage.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'Message';
    return {
      kind: 'reject',
      reason: `malformed lifecycle action: ${issue?.message}`,
      field,
      value: fields[field],
    };
  }
  const action = parsed.data;

  if (action.LifecycleTransition === LAUNCHING) {
    return { kind: 'ignore', reason: 'launching lifecycle action: nothing to drain' };
  }
  if (action.LifecycleTransition !== TERMINATING) {
    return {
      kind: 'reject',
      reason: 'unknown lifecycle transition',
      field: 'LifecycleTransition',
      value: action.LifecycleTransition,
    };
  }
  if (action.LifecycleHookName !== config.lifecycleHookName) {
    return {
      kind: 'reject',
      reason: `hook is not ours (${config.lifecycleHookName}); its action is left alone`,
      field: 'LifecycleHookName',
      value: action.LifecycleHookName,
    };
  }
  const group = servedGroup(config.groups, action.AutoScalingGroupName);
  if (group === undefined) {
    return {
      kind: 'reject',
      reason: `Auto Scaling group is not served by this stack (${config.groups.map((g) => g.autoScalingGroupName).join(', ')}); its action is left alone`,
      field: 'AutoScalingGroupName',
      value: action.AutoScalingGroupName,
    };
  }

  // The group's own cluster, unless the hook's metadata names one; that one must be served.
  let cluster = group.cluster;
  if (action.NotificationMetadata !== undefined && action.NotificationMetadata.trim() !== '') {
    const metadata = DrainMetadata.safeParse(parseJson(action.NotificationMetadata));
    if (!metadata.success) {
      // Guessing a cluster here could complete the action for an instance that still runs tasks.
      return {
        kind: 'reject',
        reason: 'NotificationMetadata must be JSON like {"cluster":"<name>"}',
        field: 'NotificationMetadata',
        value: action.NotificationMetadata,
      };
    }
    cluster = metadata.data.cluster;
  }
  if (!config.clusters.includes(cluster)) {
    return {
      kind: 'reject',
      reason: `cluster is not served by this stack (${config.clusters.join(', ')}); nothing is drained`,
      field: 'NotificationMetadata.cluster',
      value: cluster,
    };
  }
  if (servedGroup(config.groups, action.AutoScalingGroupName, cluster) === undefined) {
    return {
      kind: 'reject',
      reason: `group ${action.AutoScalingGroupName} is served for cluster ${group.cluster}, not ${cluster}`,
      field: 'NotificationMetadata.cluster',
      value: cluster,
    };
  }

  return {
    kind: 'drain',
    request: {
      instanceId: action.EC2InstanceId,
      autoScalingGroupName: action.AutoScalingGroupName,
      lifecycleHookName: action.LifecycleHookName,
      lifecycleActionToken: action.LifecycleActionToken,
      cluster,
      destination: action.Destination ?? 'EC2',
      ...(action.Time !== undefined &&
        !Number.isNaN(Date.parse(action.Time)) && { sentAt: Date.parse(action.Time) }),
    },
  };
}
