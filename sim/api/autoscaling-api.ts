import { element, escape } from './xml';
import {
  type Activity,
  type AsgInstance,
  DEFAULT_CHECKPOINT_DELAY,
  AutoScalingError,
  type AutoScalingModel,
  type RefreshSpec,
  type RefreshState,
} from '../autoscaling';
import { isoTime, simEpoch } from '../clock';
import { ACCOUNT } from '../ecs';

/**
 * The Auto Scaling operations the controller uses, plus the reads a person uses to look around and
 * SetDesiredCapacity to trigger a scale-in by hand, and what a blue/green rollout changes on a group
 * (UpdateAutoScalingGroup, SetInstanceProtection, TerminateInstanceInAutoScalingGroup, group tags),
 * and what a person watching a refresh or a scale-in reads (DescribeScalingActivities), in the
 * awsQuery protocol (form in, XML out).
 */

const NAMESPACE = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

type Params = URLSearchParams;

/** The account's Auto Scaling groups by name, in the order DescribeAutoScalingGroups lists them. */
export type AutoScalingGroups = ReadonlyMap<string, AutoScalingModel>;

/**
 * Every operation gets the account's groups: the Describe* reads without a group name look at all of
 * them, the others act on the group their AutoScalingGroupName names.
 */
export const AUTO_SCALING_OPERATIONS: Record<string, (groups: AutoScalingGroups, params: Params) => string> =
  {
    DescribeAutoScalingInstances: describeAutoScalingInstances,
    DescribeAutoScalingGroups: describeAutoScalingGroups,
    DescribeLifecycleHooks: describeLifecycleHooks,
    DescribeScalingActivities: describeScalingActivities,
    CompleteLifecycleAction: (groups, params) => {
      const groupName = required(params, 'AutoScalingGroupName');
      const input = {
        groupName,
        hookName: required(params, 'LifecycleHookName'),
        result: required(params, 'LifecycleActionResult'),
        ...identify(params),
      };
      groupNamed(groups, groupName).completeLifecycleAction(input);
      return '';
    },
    RecordLifecycleActionHeartbeat: (groups, params) => {
      const groupName = required(params, 'AutoScalingGroupName');
      const input = { groupName, hookName: required(params, 'LifecycleHookName'), ...identify(params) };
      groupNamed(groups, groupName).recordHeartbeat(input);
      return '';
    },
    StartInstanceRefresh: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      const strategy = params.get('Strategy') ?? 'Rolling';
      if (strategy !== 'Rolling')
        throw new AutoScalingError(
          'ValidationError',
          `The simulation supports the Rolling strategy only, not ${strategy}`,
        );
      const refresh = group.startInstanceRefresh(refreshSpec(params));
      return element('InstanceRefreshId', refresh.id);
    },
    DescribeInstanceRefreshes: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      const ids = members(params, 'InstanceRefreshIds');
      const wanted = group.refreshes.filter((refresh) => ids.length === 0 || ids.includes(refresh.id));
      const { page, next } = paginate(wanted, params, 50, 100);
      return `<InstanceRefreshes>${page.map((refresh) => refreshXml(group, refresh)).join('')}</InstanceRefreshes>${next}`;
    },
    CancelInstanceRefresh: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      return element('InstanceRefreshId', group.cancelInstanceRefresh().id);
    },
    RollbackInstanceRefresh: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      return element('InstanceRefreshId', group.rollbackInstanceRefresh().id);
    },
    SetDesiredCapacity: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      group.setDesiredCapacity(Number(required(params, 'DesiredCapacity')));
      return '';
    },
    UpdateAutoScalingGroup: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      const size = (name: string) => {
        const value = params.get(name);
        return value === null ? undefined : integer(name, value);
      };
      const launchTemplateId = params.get('LaunchTemplate.LaunchTemplateId') ?? undefined;
      const launchTemplateName = params.get('LaunchTemplate.LaunchTemplateName') ?? undefined;
      const version = params.get('LaunchTemplate.Version') ?? undefined;
      if (launchTemplateId !== undefined && launchTemplateName !== undefined)
        throw new AutoScalingError(
          'ValidationError',
          'Specify either LaunchTemplateId or LaunchTemplateName, not both.',
        );
      const minSize = size('MinSize');
      const maxSize = size('MaxSize');
      const desiredCapacity = size('DesiredCapacity');
      group.updateGroup({
        ...(minSize !== undefined && { minSize }),
        ...(maxSize !== undefined && { maxSize }),
        ...(desiredCapacity !== undefined && { desiredCapacity }),
        ...((launchTemplateId !== undefined || launchTemplateName !== undefined) && {
          launchTemplate: {
            ...(launchTemplateId !== undefined && { launchTemplateId }),
            ...(launchTemplateName !== undefined && { launchTemplateName }),
            ...(version !== undefined && { version }),
          },
        }),
      });
      return '';
    },
    SetInstanceProtection: (groups, params) => {
      const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
      group.setInstanceProtection(members(params, 'InstanceIds'), flag(params, 'ProtectedFromScaleIn'));
      return '';
    },
    TerminateInstanceInAutoScalingGroup: (groups, params) => {
      const instanceId = required(params, 'InstanceId');
      const decrement = flag(params, 'ShouldDecrementDesiredCapacity');
      // An instance id is the account's: the group that holds it terminates it.
      const group = [...groups.values()].find((each) => each.instances.has(instanceId));
      if (group === undefined)
        throw new AutoScalingError(
          'ValidationError',
          `Instance Id not found - No managed instance found for instance ID: ${instanceId}`,
        );
      const activity = group.terminateInstance(instanceId, decrement);
      return activityXml(group, activity, 'Activity');
    },
    CreateOrUpdateTags: (groups, params) => {
      for (const [group, tags] of tagsByGroup(groups, params)) group.createOrUpdateTags(tags);
      return '';
    },
    DeleteTags: (groups, params) => {
      for (const [group, tags] of tagsByGroup(groups, params)) group.deleteTags(tags.map((tag) => tag.key));
      return '';
    },
    DescribeTags: describeTags,
  };

/** The XML document for a successful call. */
export function autoScalingResponse(operation: string, result: string, requestId: string): string {
  const body = result === '' ? `<${operation}Result/>` : `<${operation}Result>${result}</${operation}Result>`;
  return `<${operation}Response xmlns="${NAMESPACE}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

/** The XML document for an error (awsQuery: ErrorResponse/Error/Code); the Receiver type marks a fault of the service. */
export function autoScalingError(
  code: string,
  message: string,
  requestId: string,
  type: 'Sender' | 'Receiver' = 'Sender',
): string {
  return `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${type}</Type><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw new AutoScalingError('ValidationError', `${name} is required`);
  return value;
}

function identify(params: Params): { token?: string; instanceId?: string } {
  const token = params.get('LifecycleActionToken') ?? undefined;
  const instanceId = params.get('InstanceId') ?? undefined;
  if (token === undefined && instanceId === undefined) {
    throw new AutoScalingError(
      'ValidationError',
      'Either LifecycleActionToken or InstanceId must be specified',
    );
  }
  return { token, instanceId };
}

function groupNamed(groups: AutoScalingGroups, name: string): AutoScalingModel {
  const group = groups.get(name);
  if (group === undefined)
    throw new AutoScalingError('ValidationError', `AutoScalingGroup name not found - ${name}`);
  return group;
}

function members(params: Params, list: string): string[] {
  const values: string[] = [];
  for (let n = 1; params.has(`${list}.member.${n}`); n++)
    values.push(params.get(`${list}.member.${n}`) ?? '');
  return values;
}

function instanceXml(
  group: AutoScalingModel,
  { instance, state }: { instance: AsgInstance; state: string },
  withGroup: boolean,
): string {
  return (
    '<member>' +
    element('InstanceId', instance.id) +
    (withGroup ? element('AutoScalingGroupName', group.spec.name) : '') +
    element('InstanceType', 'm6i.large') +
    element('AvailabilityZone', instance.availabilityZone) +
    element('LifecycleState', state) +
    element('HealthStatus', instance.ec2Gone ? 'UNHEALTHY' : 'HEALTHY') +
    element('ProtectedFromScaleIn', String(instance.protectedFromScaleIn)) +
    // A group without a launch template launches from a launch configuration, one per AMI here.
    (instance.launchTemplate === undefined
      ? element('LaunchConfigurationName', `ecs-${instance.amiId}`)
      : launchTemplateXml(
          instance.launchTemplate.id,
          instance.launchTemplate.name,
          String(instance.launchTemplate.version),
        )) +
    '</member>'
  );
}

function describeAutoScalingInstances(groups: AutoScalingGroups, params: Params): string {
  const ids = members(params, 'InstanceIds');
  if (ids.length > 50)
    throw new AutoScalingError('ValidationError', 'The number of instance ids that may be passed in is 50');
  // Instance ids are the account's: each is looked up in every group.
  // "If you specify an ID that does not exist, it is ignored with no error."
  const instances = [...groups.values()].flatMap((group) =>
    group.describable(ids.length > 0 ? ids : undefined).map((seen) => ({ group, seen })),
  );
  const { page, next } = paginate(instances, params, 50, 50);
  return `<AutoScalingInstances>${page.map(({ group, seen }) => instanceXml(group, seen, true)).join('')}</AutoScalingInstances>${next}`;
}

/** The groups named (those that exist; AWS ignores the others), or every group when none is named. */
function describeAutoScalingGroups(groups: AutoScalingGroups, params: Params): string {
  const names = members(params, 'AutoScalingGroupNames');
  const wanted = names.length > 0 ? names.flatMap((name) => groups.get(name) ?? []) : [...groups.values()];
  return `<AutoScalingGroups>${wanted.map(groupXml).join('')}</AutoScalingGroups>`;
}

function groupXml(group: AutoScalingModel): string {
  const instances = group
    .describable()
    .map((seen) => instanceXml(group, seen, false))
    .join('');
  return (
    '<member>' +
    element('AutoScalingGroupName', group.spec.name) +
    element('AutoScalingGroupARN', group.arn) +
    element('MinSize', String(group.minSize)) +
    element('MaxSize', String(group.maxSize)) +
    element('DesiredCapacity', String(group.desired)) +
    (group.launchTemplate === undefined
      ? ''
      : launchTemplateXml(
          group.launchTemplate.launchTemplateId,
          group.launchTemplate.launchTemplateName,
          group.launchTemplate.version,
        )) +
    element('DefaultCooldown', '300') +
    '<AvailabilityZones><member>us-east-1a</member><member>us-east-1b</member><member>us-east-1c</member></AvailabilityZones>' +
    element('HealthCheckType', 'EC2') +
    element('HealthCheckGracePeriod', '0') +
    element('CreatedTime', '2026-01-01T00:00:00.000Z') +
    `<Instances>${instances}</Instances>` +
    `<Tags>${groupTags(group).map(tagXml).join('')}</Tags>` +
    '</member>'
  );
}

/** Where the stack's hooks publish (template.yaml's HookTopic and HookPublishRole, as deployed). */
const HOOK_TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT}:ecs-drain-HookTopic`;
const HOOK_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ecs-drain-HookPublishRole`;

/** The group's hooks, or those of them LifecycleHookNames names (at most 50; unknown names are ignored). */
function describeLifecycleHooks(groups: AutoScalingGroups, params: Params): string {
  const group = groupNamed(groups, required(params, 'AutoScalingGroupName'));
  const names = members(params, 'LifecycleHookNames');
  if (names.length > 50)
    throw new AutoScalingError(
      'ValidationError',
      'The number of lifecycle hook names that may be passed in is 50',
    );
  const hooks = [...group.hooks.values()]
    .filter((hook) => names.length === 0 || names.includes(hook.name))
    .map(
      (hook) =>
        '<member>' +
        element('LifecycleHookName', hook.name) +
        element('AutoScalingGroupName', group.spec.name) +
        element('LifecycleTransition', hook.transition) +
        (hook.notify
          ? element('NotificationTargetARN', HOOK_TOPIC_ARN) + element('RoleARN', HOOK_ROLE_ARN)
          : '') +
        element('HeartbeatTimeout', String(hook.heartbeatTimeout)) +
        element('GlobalTimeout', String(Math.min(172800, 100 * hook.heartbeatTimeout))) +
        element('DefaultResult', hook.defaultResult) +
        (hook.metadata === undefined ? '' : element('NotificationMetadata', hook.metadata)) +
        '</member>',
    )
    .join('');
  return `<LifecycleHooks>${hooks}</LifecycleHooks>`;
}

/**
 * DescribeScalingActivities: the activities of the group named, or of every group, newest first;
 * ActivityIds (at most 50, unknown ones ignored) and the Status and StartTime filters narrow them;
 * pages of MaxRecords (default and at most 100).
 */
function describeScalingActivities(groups: AutoScalingGroups, params: Params): string {
  const groupName = params.get('AutoScalingGroupName');
  const ids = members(params, 'ActivityIds');
  if (ids.length > 50)
    throw new AutoScalingError('ValidationError', 'The number of activity ids that may be passed in is 50');
  const filters = activityFilters(params, groupName !== null);
  const scope = groupName === null ? [...groups.values()] : [groupNamed(groups, groupName)];
  const activities = scope
    .flatMap((group) => group.activities.map((activity) => ({ group, activity })))
    .filter(({ activity }) => (ids.length === 0 || ids.includes(activity.activityId)) && filters(activity))
    // Newest first across groups; within a group they are newest first already (a stable sort keeps it).
    .sort((a, b) => b.activity.startedAt - a.activity.startedAt);
  const { page, next } = paginate(activities, params, 100, 100);
  return `<Activities>${page.map(({ group, activity }) => activityXml(group, activity, 'member')).join('')}</Activities>${next}`;
}

/** DescribeScalingActivities' Filters: StartTimeLowerBound, StartTimeUpperBound, and Status (with a group name only). */
function activityFilters(params: Params, withGroup: boolean): (activity: Activity) => boolean {
  const tests: ((activity: Activity) => boolean)[] = [];
  for (let n = 1; params.has(`Filters.member.${n}.Name`); n++) {
    const name = params.get(`Filters.member.${n}.Name`) ?? '';
    const values = members(params, `Filters.member.${n}.Values`);
    if (name === 'Status') {
      if (!withGroup)
        throw new AutoScalingError(
          'ValidationError',
          'The Status filter can only be used with AutoScalingGroupName.',
        );
      tests.push((activity) => values.includes(activity.statusCode));
    } else if (name === 'StartTimeLowerBound' || name === 'StartTimeUpperBound') {
      const bounds = values.map((value) => {
        // "Timestamps without a timezone offset are assumed to be UTC."
        const at = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`);
        if (Number.isNaN(at)) throw new AutoScalingError('ValidationError', `Invalid ${name}: ${value}`);
        return (at - simEpoch()) / 1000;
      });
      tests.push((activity) =>
        bounds.every((bound) =>
          name === 'StartTimeLowerBound' ? activity.startedAt >= bound : activity.startedAt <= bound,
        ),
      );
    } else throw new AutoScalingError('ValidationError', `Invalid filter name: ${name}`);
  }
  return (activity) => tests.every((test) => test(activity));
}

function activityXml(group: AutoScalingModel, activity: Activity, tag: string): string {
  return (
    `<${tag}>` +
    element('ActivityId', activity.activityId) +
    element('AutoScalingGroupName', group.spec.name) +
    element('AutoScalingGroupARN', group.arn) +
    element('AutoScalingGroupState', 'InService') +
    element('Description', activity.description) +
    element('Cause', activity.cause) +
    element('StartTime', isoTime(activity.startedAt)) +
    (activity.endedAt === undefined ? '' : element('EndTime', isoTime(activity.endedAt))) +
    element('StatusCode', activity.statusCode) +
    (activity.statusMessage === undefined ? '' : element('StatusMessage', activity.statusMessage)) +
    element('Progress', String(activity.progress)) +
    element('Details', JSON.stringify({ 'Availability Zone': activity.availabilityZone })) +
    `</${tag}>`
  );
}

/**
 * One page of `items`: MaxRecords (1 to `most`, `otherwise` when absent) from NextToken on. A token
 * this endpoint did not hand out is InvalidNextToken.
 */
function paginate<T>(
  items: T[],
  params: Params,
  otherwise: number,
  most: number,
): { page: T[]; next: string } {
  const maxRecords = params.get('MaxRecords');
  const max = maxRecords === null ? otherwise : integer('MaxRecords', maxRecords);
  if (max < 1 || max > most)
    throw new AutoScalingError(
      'ValidationError',
      `1 validation error detected: Value '${max}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and ${most}`,
    );
  const token = params.get('NextToken');
  const start = token === null ? 0 : Number(token);
  if (token !== null && (!/^\d+$/.test(token) || start > items.length))
    throw new AutoScalingError('InvalidNextToken', 'The NextToken value is not valid.');
  const page = items.slice(start, start + max);
  return { page, next: start + max < items.length ? element('NextToken', String(start + max)) : '' };
}

/** StartInstanceRefresh's Preferences and DesiredConfiguration, with Auto Scaling's defaults. */
function refreshSpec(params: Params): RefreshSpec {
  const number = (name: string) => {
    const value = params.get(`Preferences.${name}`);
    if (value === null) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed)) throw new AutoScalingError('ValidationError', `Invalid ${name}: ${value}`);
    return parsed;
  };
  const flag = (name: string) => params.get(`Preferences.${name}`) === 'true';
  const checkpoints = members(params, 'Preferences.CheckpointPercentages').map(Number);
  const template = 'DesiredConfiguration.LaunchTemplate.';
  const launchTemplateId = params.get(`${template}LaunchTemplateId`) ?? undefined;
  const launchTemplateName = params.get(`${template}LaunchTemplateName`) ?? undefined;
  const version = params.get(`${template}Version`) ?? undefined;
  const min = number('MinHealthyPercentage');
  const max = number('MaxHealthyPercentage');
  if (max !== undefined && min === undefined)
    throw new AutoScalingError('ValidationError', 'MaxHealthyPercentage requires MinHealthyPercentage.');
  const checkpointDelay = number('CheckpointDelay');
  const alarms = members(params, 'Preferences.AlarmSpecification.Alarms');
  const choice = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const value = params.get(`Preferences.${name}`);
    if (value === null) return undefined;
    if (!(values as readonly string[]).includes(value))
      throw new AutoScalingError(
        'ValidationError',
        `Invalid ${name}: ${value} (one of ${values.join(', ')})`,
      );
    return value as T;
  };
  const scaleInProtectedInstances = choice('ScaleInProtectedInstances', [
    'Refresh',
    'Ignore',
    'Wait',
  ] as const);
  const standbyInstances = choice('StandbyInstances', ['Terminate', 'Ignore', 'Wait'] as const);
  const bakeTime = number('BakeTime');
  if (bakeTime !== undefined && bakeTime !== 0)
    throw new AutoScalingError(
      'ValidationError',
      `The simulation does not bake: BakeTime ${bakeTime} is not supported`,
    );
  if (alarms.length > 10)
    throw new AutoScalingError('ValidationError', 'AlarmSpecification.Alarms takes at most 10 alarms.');
  return {
    minHealthyPercentage: min ?? 90,
    ...(max !== undefined && { maxHealthyPercentage: max }),
    // The group's HealthCheckGracePeriod (0 here) when absent, as it has no DefaultInstanceWarmup.
    instanceWarmup: number('InstanceWarmup') ?? 0,
    skipMatching: flag('SkipMatching'),
    autoRollback: flag('AutoRollback'),
    ...(checkpoints.length > 0 && { checkpointPercentages: checkpoints }),
    ...(checkpointDelay !== undefined && { checkpointDelay }),
    ...(alarms.length > 0 && { alarms }),
    ...(scaleInProtectedInstances !== undefined && { scaleInProtectedInstances }),
    ...(standbyInstances !== undefined && { standbyInstances }),
    ...((launchTemplateId !== undefined || launchTemplateName !== undefined) && {
      desiredConfiguration: {
        launchTemplate: {
          ...(launchTemplateId !== undefined && { launchTemplateId }),
          ...(launchTemplateName !== undefined && { launchTemplateName }),
          ...(version !== undefined && { version }),
        },
      },
    }),
  };
}

function refreshXml(group: AutoScalingModel, refresh: RefreshState): string {
  const { spec } = refresh;
  const desired = spec.desiredConfiguration?.launchTemplate;
  const rollback = refresh.rollbackDetails;
  return (
    '<member>' +
    element('InstanceRefreshId', refresh.id) +
    element('AutoScalingGroupName', group.spec.name) +
    element('Status', refresh.status) +
    (refresh.statusReason === undefined ? '' : element('StatusReason', refresh.statusReason)) +
    element('StartTime', isoTime(refresh.startedAt)) +
    (refresh.endedAt === undefined ? '' : element('EndTime', isoTime(refresh.endedAt))) +
    element('PercentageComplete', String(refresh.percentageComplete)) +
    element('InstancesToUpdate', String(refresh.instancesToUpdate)) +
    // No warm pool: the live pool is the whole group.
    progressXml('ProgressDetails', refresh.percentageComplete, refresh.instancesToUpdate) +
    '<Preferences>' +
    element('MinHealthyPercentage', String(spec.minHealthyPercentage)) +
    (spec.maxHealthyPercentage === undefined
      ? ''
      : element('MaxHealthyPercentage', String(spec.maxHealthyPercentage))) +
    element('InstanceWarmup', String(spec.instanceWarmup)) +
    (spec.checkpointPercentages === undefined
      ? ''
      : `<CheckpointPercentages>${spec.checkpointPercentages.map((c) => element('member', String(c))).join('')}</CheckpointPercentages>` +
        element('CheckpointDelay', String(spec.checkpointDelay ?? DEFAULT_CHECKPOINT_DELAY))) +
    element('SkipMatching', String(spec.skipMatching ?? false)) +
    element('AutoRollback', String(spec.autoRollback ?? false)) +
    (spec.scaleInProtectedInstances === undefined
      ? ''
      : element('ScaleInProtectedInstances', spec.scaleInProtectedInstances)) +
    (spec.standbyInstances === undefined ? '' : element('StandbyInstances', spec.standbyInstances)) +
    (spec.alarms === undefined
      ? ''
      : `<AlarmSpecification><Alarms>${spec.alarms.map((alarm) => element('member', alarm)).join('')}</Alarms></AlarmSpecification>`) +
    '</Preferences>' +
    (desired === undefined || refresh.desired.launchTemplate === undefined
      ? ''
      : `<DesiredConfiguration>${launchTemplateXml(
          refresh.desired.launchTemplate.id,
          refresh.desired.launchTemplate.name,
          desired.version ?? '$Default',
        )}</DesiredConfiguration>`) +
    (rollback === undefined
      ? ''
      : '<RollbackDetails>' +
        element('RollbackReason', rollback.reason) +
        element('RollbackStartTime', isoTime(rollback.startedAt)) +
        element('PercentageCompleteOnRollback', String(rollback.percentageCompleteOnRollback)) +
        element('InstancesToUpdateOnRollback', String(rollback.instancesToUpdateOnRollback)) +
        progressXml(
          'ProgressDetailsOnRollback',
          rollback.percentageCompleteOnRollback,
          rollback.instancesToUpdateOnRollback,
        ) +
        '</RollbackDetails>') +
    element('Strategy', 'Rolling') +
    '</member>'
  );
}

function progressXml(name: string, percentage: number, toUpdate: number): string {
  return `<${name}><LivePoolProgress>${element('PercentageComplete', String(percentage))}${element('InstancesToUpdate', String(toUpdate))}</LivePoolProgress></${name}>`;
}

function launchTemplateXml(id: string, name: string, version: string): string {
  return `<LaunchTemplate>${element('LaunchTemplateId', id)}${element('LaunchTemplateName', name)}${element('Version', version)}</LaunchTemplate>`;
}

function integer(name: string, value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed))
    throw new AutoScalingError('ValidationError', `Invalid ${name}: ${value}`);
  return parsed;
}

/** A required boolean member, as the SDK serializes it ("true" or "false"). */
function flag(params: Params, name: string): boolean {
  const value = required(params, name);
  if (value !== 'true' && value !== 'false')
    throw new AutoScalingError('ValidationError', `Invalid ${name}: ${value}`);
  return value === 'true';
}

interface GroupTag {
  key: string;
  value: string;
  propagateAtLaunch: boolean;
}

/** `Tags.member.N` of CreateOrUpdateTags and DeleteTags, by the group each names (ResourceType auto-scaling-group). */
function tagsByGroup(groups: AutoScalingGroups, params: Params): Map<AutoScalingModel, GroupTag[]> {
  const byGroup = new Map<AutoScalingModel, GroupTag[]>();
  for (let n = 1; params.has(`Tags.member.${n}.Key`) || params.has(`Tags.member.${n}.ResourceId`); n++) {
    const field = (name: string) => params.get(`Tags.member.${n}.${name}`) ?? undefined;
    const resourceType = field('ResourceType');
    if (resourceType !== 'auto-scaling-group')
      throw new AutoScalingError(
        'ValidationError',
        `Tag ResourceType must be auto-scaling-group, not ${resourceType ?? '(none)'}`,
      );
    const group = groupNamed(groups, field('ResourceId') ?? '');
    const key = field('Key');
    if (key === undefined) throw new AutoScalingError('ValidationError', 'Tag Key is required');
    const tag = {
      key,
      value: field('Value') ?? '',
      propagateAtLaunch: field('PropagateAtLaunch') === 'true',
    };
    byGroup.set(group, [...(byGroup.get(group) ?? []), tag]);
  }
  if (byGroup.size === 0) throw new AutoScalingError('ValidationError', 'Tags is required');
  return byGroup;
}

function groupTags(group: AutoScalingModel): (GroupTag & { group: string })[] {
  return [...group.tags].map(([key, { value, propagateAtLaunch }]) => ({
    group: group.spec.name,
    key,
    value,
    propagateAtLaunch,
  }));
}

function tagXml(tag: GroupTag & { group: string }): string {
  return (
    '<member>' +
    element('ResourceId', tag.group) +
    element('ResourceType', 'auto-scaling-group') +
    element('Key', tag.key) +
    element('Value', tag.value) +
    element('PropagateAtLaunch', String(tag.propagateAtLaunch)) +
    '</member>'
  );
}

const TAG_FILTERS: Record<string, (tag: GroupTag & { group: string }) => string> = {
  'auto-scaling-group': (tag) => tag.group,
  key: (tag) => tag.key,
  value: (tag) => tag.value,
  'propagate-at-launch': (tag) => String(tag.propagateAtLaunch),
};

/** DescribeTags: values of one filter are alternatives, filters all apply; pages of MaxRecords (at most 100). */
function describeTags(groups: AutoScalingGroups, params: Params): string {
  const filters: { field: (tag: GroupTag & { group: string }) => string; values: string[] }[] = [];
  for (let n = 1; params.has(`Filters.member.${n}.Name`); n++) {
    const name = params.get(`Filters.member.${n}.Name`) ?? '';
    const field = TAG_FILTERS[name];
    if (field === undefined) throw new AutoScalingError('ValidationError', `Invalid filter name: ${name}`);
    filters.push({ field, values: members(params, `Filters.member.${n}.Values`) });
  }
  const tags = [...groups.values()]
    .flatMap(groupTags)
    .filter((tag) => filters.every(({ field, values }) => values.includes(field(tag))));
  const max = Math.min(Number(params.get('MaxRecords') ?? 50), 100);
  const start = Number(params.get('NextToken') ?? 0);
  const page = tags.slice(start, start + max);
  const next = start + max < tags.length ? element('NextToken', String(start + max)) : '';
  return `<Tags>${page.map(tagXml).join('')}</Tags>${next}`;
}
