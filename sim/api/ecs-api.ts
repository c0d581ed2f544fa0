import { epochSeconds } from '../clock';
import {
  AttributeLimitError,
  type ContainerInstance,
  type Deployment,
  type EcsModel,
  REGION,
  type Service,
  type Task,
  type TaskState,
} from '../ecs';
import { type TaskDefinition, TaskDefinitionError, type TaskDefinitions } from '../task-definitions';

/**
 * The ECS operations the controller uses, and the read operations a person uses to look around,
 * answered from the model in the shapes of the ECS API reference (awsJson1_1 bodies).
 *
 * DescribeTasks, ListTasks, DescribeContainerInstances and ListContainerInstances answer from the
 * readable state (EcsModel.readLagSeconds behind); UpdateContainerInstancesState acts on the current
 * state and returns it; DescribeClusters and DescribeServices are current.
 *
 * Task definitions are the account's (EcsAccount.taskDefinitions), not a cluster's.
 */

export class EcsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

/** The account's clusters by name, in the order ListClusters lists them. */
export type EcsClusters = ReadonlyMap<string, EcsModel>;

/** What ECS holds for one account: its clusters and its task definitions (the ApiTarget has both). */
export interface EcsAccount {
  clusters: EcsClusters;
  taskDefinitions: TaskDefinitions;
}

/** An operation on the one cluster its `cluster` parameter names. */
const inCluster =
  (operation: (ecs: EcsModel, input: Input, account: EcsAccount) => Output) =>
  (account: EcsAccount, input: Input): Output =>
    operation(clusterNamed(account.clusters, input), input, account);

/** An operation on the account's task definitions; their validation errors as ECS answers them. */
const onTaskDefinitions =
  (operation: (registry: TaskDefinitions, input: Input) => Output) =>
  (account: EcsAccount, input: Input): Output => {
    try {
      return operation(account.taskDefinitions, input);
    } catch (error) {
      if (error instanceof TaskDefinitionError) throw new EcsApiError(error.code, error.message);
      throw error;
    }
  };

/**
 * Every operation gets the account: ListClusters and DescribeClusters look at all its clusters,
 * the task definition operations at its registry, the others act on the cluster their `cluster`
 * parameter names.
 */
export const ECS_OPERATIONS = {
  ListClusters: ({ clusters }: EcsAccount, input: Input) =>
    paginate(
      [...clusters.values()].map((ecs) => ecs.clusterArn),
      input,
      'clusterArns',
    ),
  DescribeClusters: ({ clusters }: EcsAccount, input: Input) => describeClusters(clusters, input),
  ListContainerInstances: inCluster(listContainerInstances),
  DescribeContainerInstances: inCluster(describeContainerInstances),
  UpdateContainerInstancesState: inCluster(updateContainerInstancesState),
  ListTasks: inCluster(listTasks),
  PutAttributes: inCluster(putAttributes),
  StopTask: inCluster(stopTask),
  DescribeTasks: inCluster(describeTasks),
  ListServices: inCluster((ecs, input) =>
    paginate(
      [...ecs.services.values()].map((s) => s.arn),
      input,
      'serviceArns',
    ),
  ),
  DescribeServices: inCluster(describeServices),
  UpdateService: inCluster(updateService),
  RegisterTaskDefinition: onTaskDefinitions(registerTaskDefinition),
  DescribeTaskDefinition: onTaskDefinitions(describeTaskDefinition),
  ListTaskDefinitions: onTaskDefinitions(listTaskDefinitions),
} satisfies Record<string, (account: EcsAccount, input: Input) => Output>;

export type EcsOperation = keyof typeof ECS_OPERATIONS;

/** Which throttling bucket an operation draws from (ECS API reference, request throttling). */
export const ECS_BUCKETS: Record<
  EcsOperation,
  'cluster-resource-read' | 'cluster-resource-modify' | 'cluster-read' | 'service-read' | 'service-modify'
> = {
  ListClusters: 'cluster-read',
  DescribeClusters: 'cluster-read',
  ListContainerInstances: 'cluster-resource-read',
  DescribeContainerInstances: 'cluster-resource-read',
  ListTasks: 'cluster-resource-read',
  DescribeTasks: 'cluster-resource-read',
  UpdateContainerInstancesState: 'cluster-resource-modify',
  PutAttributes: 'cluster-resource-modify',
  StopTask: 'cluster-resource-modify',
  ListServices: 'service-read',
  DescribeServices: 'service-read',
  UpdateService: 'service-modify',
  // The throttling table names no category for task definitions. A deployment registers one and
  // reads it back around an UpdateService, so they are put with the service calls: a register
  // draws from the modify bucket (50 burst, 5 per second, the strictest: registering in a loop
  // is throttled as soon as updating in one is), the reads from the service read bucket.
  RegisterTaskDefinition: 'service-modify',
  DescribeTaskDefinition: 'service-read',
  ListTaskDefinitions: 'service-read',
};

/** The cluster `cluster` names, by name or ARN (`default` when absent), as ECS finds it. */
function clusterNamed(clusters: EcsClusters, input: Input): EcsModel {
  const ecs = findCluster(clusters, (input.cluster as string | undefined) ?? 'default');
  if (ecs === undefined) throw new EcsApiError('ClusterNotFoundException', 'Cluster not found.');
  return ecs;
}

function findCluster(clusters: EcsClusters, ref: string): EcsModel | undefined {
  return clusters.get(ref) ?? [...clusters.values()].find((ecs) => ecs.clusterArn === ref);
}

function stringList(input: Input, field: string, max: number): string[] {
  const value = input[field];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new EcsApiError('InvalidParameterException', `${field} must be a list of strings.`);
  }
  if (value.length === 0 || value.length > max) {
    throw new EcsApiError('InvalidParameterException', `${field} must contain between 1 and ${max} items.`);
  }
  return value as string[];
}

/** Describe* calls answer what they know and list the rest in failures[] with reason MISSING. */
function describeEach<T>(refs: string[], find: (ref: string) => T | undefined) {
  const found: T[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const ref of refs) {
    const item = find(ref);
    if (item === undefined) failures.push({ arn: ref, reason: 'MISSING' });
    else found.push(item);
  }
  return { found, failures };
}

function paginate(items: string[], input: Input, field: string): Output {
  const max = (input.maxResults as number | undefined) ?? 100;
  if (max < 1 || max > 100)
    throw new EcsApiError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  const start =
    input.nextToken === undefined ? 0 : Number(Buffer.from(String(input.nextToken), 'base64').toString());
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { [field]: page, ...(next !== undefined && { nextToken: next }) };
}

function describeClusters(clusters: EcsClusters, input: Input): Output {
  const wanted = (input.clusters as string[] | undefined) ?? ['default'];
  const found = [];
  const failures = [];
  for (const ref of wanted) {
    const ecs = findCluster(clusters, ref);
    if (ecs === undefined) {
      failures.push({ arn: ref, reason: 'MISSING' });
      continue;
    }
    const instances = [...ecs.instances.values()].filter((i) => i.status !== 'INACTIVE');
    const tasks = instances.flatMap((i) => [...i.tasks]);
    found.push({
      clusterArn: ecs.clusterArn,
      clusterName: ecs.clusterName,
      status: 'ACTIVE',
      registeredContainerInstancesCount: instances.length,
      runningTasksCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
      pendingTasksCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
      activeServicesCount: ecs.services.size,
    });
  }
  return { clusters: found, failures };
}

/** A value in the cluster query language, with or without single or double quotes. */
const VALUE = String.raw`(?:'([^']*)'|"([^"]*)"|([^\s'",\[\]]+))`;
/** `ec2InstanceId` or `attribute:<name>` (attribute names as PutAttributes allows them). */
const SUBJECT = String.raw`(ec2InstanceId|attribute:[A-Za-z0-9\-_/\\.]{1,128})`;
const COMPARE = new RegExp(String.raw`^\s*${SUBJECT}\s*(==|!=)\s*${VALUE}\s*$`);
const WITHIN = new RegExp(String.raw`^\s*${SUBJECT}\s+(in|not_in|!in)\s*\[([^\]]*)\]\s*$`);
const EXISTS = new RegExp(String.raw`^\s*(attribute:[A-Za-z0-9\-_/\\.]{1,128})\s+(exists|!exists)\s*$`);
const LIST_ITEM = new RegExp(String.raw`^\s*${VALUE}\s*$`);

/**
 * The cluster query language, as far as looking up instances goes: the subjects `ec2InstanceId` and
 * `attribute:<name>` (ECS's own attributes such as `ecs.ami-id`, and custom ones, as reads see them)
 * with `==`, `!=`, `in [...]`, `!in [...]`; and `attribute:<name> exists` / `!exists`.
 */
function instanceFilter(filter: string | undefined): (instance: ContainerInstance) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const unsupported = () =>
    new EcsApiError('InvalidParameterException', `The simulation does not support the filter: ${filter}`);
  const valueOf = (subject: string) =>
    subject === 'ec2InstanceId'
      ? (instance: ContainerInstance) => instance.ec2InstanceId
      : (instance: ContainerInstance) =>
          instance.attributesAt(instance.readable ?? instance).get(subject.slice('attribute:'.length));
  const compare = COMPARE.exec(filter);
  if (compare) {
    const value = valueOf(compare[1] ?? '');
    const wanted = compare[3] ?? compare[4] ?? compare[5];
    return compare[2] === '==' ? (i) => value(i) === wanted : (i) => value(i) !== wanted;
  }
  const within = WITHIN.exec(filter);
  if (within) {
    const value = valueOf(within[1] ?? '');
    const values = new Set(
      (within[3] ?? '').split(',').map((item) => {
        const match = LIST_ITEM.exec(item);
        if (match === null) throw unsupported();
        return match[1] ?? match[2] ?? match[3];
      }),
    );
    const inside = (i: ContainerInstance) => {
      const v = value(i);
      return v !== undefined && values.has(v);
    };
    return within[2] === 'in' ? inside : (i) => !inside(i);
  }
  const exists = EXISTS.exec(filter);
  if (exists) {
    const value = valueOf(exists[1] ?? '');
    return exists[2] === 'exists' ? (i) => value(i) !== undefined : (i) => value(i) === undefined;
  }
  throw unsupported();
}

/** The statuses ListContainerInstances filters on; INACTIVE too, as a convenience of the simulation. */
const LISTABLE_STATUSES = [
  'ACTIVE',
  'DRAINING',
  'REGISTERING',
  'DEREGISTERING',
  'REGISTRATION_FAILED',
  'INACTIVE',
];

/** Instances as reads see them: registered at least readLagSeconds ago, with their status of then. */
function listContainerInstances(ecs: EcsModel, input: Input): Output {
  const matches = instanceFilter(input.filter as string | undefined);
  const status = input.status as string | undefined;
  if (status !== undefined && !LISTABLE_STATUSES.includes(status)) {
    throw new EcsApiError('InvalidParameterException', `Invalid status: ${status}`);
  }
  const arns: string[] = [];
  for (const instance of ecs.instances.values()) {
    const seen = instance.readable;
    if (seen === undefined) continue;
    // Without a status filter, every state but INACTIVE is listed.
    if (status === undefined ? seen.status === 'INACTIVE' : seen.status !== status) continue;
    if (matches(instance)) arns.push(instance.arn);
  }
  return paginate(arns, input, 'containerInstanceArns');
}

function describeContainerInstances(ecs: EcsModel, input: Input): Output {
  const { found, failures } = describeEach(stringList(input, 'containerInstances', 100), (ref) => {
    const instance = ecs.findInstance(ref);
    return instance?.readable === undefined ? undefined : instance;
  });
  return { containerInstances: found.map((i) => containerInstanceShape(i, 'readable')), failures };
}

function updateContainerInstancesState(ecs: EcsModel, input: Input): Output {
  const status = input.status;
  if (status !== 'ACTIVE' && status !== 'DRAINING') {
    throw new EcsApiError(
      'InvalidParameterException',
      'Container instance status can only be ACTIVE or DRAINING.',
    );
  }
  const refs = stringList(input, 'containerInstances', 10);
  const { updated, failures } = ecs.updateContainerInstancesState(refs, status);
  // As ECS does, the answer shows the updated instances as they are now.
  return { containerInstances: updated.map((i) => containerInstanceShape(i, 'current')), failures };
}

/** Attribute names and values as the ECS API reference allows them (1-128 characters). */
const ATTRIBUTE_NAME = /^[A-Za-z0-9\-_/\\.]{1,128}$/;
const ATTRIBUTE_VALUE = /^[A-Za-z0-9\-_.@/\\: ]{1,128}$/;

function putAttributes(ecs: EcsModel, input: Input): Output {
  const attributes = input.attributes;
  if (!Array.isArray(attributes) || attributes.length === 0 || attributes.length > 10) {
    throw new EcsApiError('InvalidParameterException', 'attributes must contain between 1 and 10 items.');
  }
  const applied = [];
  for (const attribute of attributes as Record<string, unknown>[]) {
    const { name, value, targetType, targetId } = attribute;
    if (typeof name !== 'string' || !ATTRIBUTE_NAME.test(name)) {
      throw new EcsApiError('InvalidParameterException', `Invalid attribute name: ${String(name)}`);
    }
    if (typeof value !== 'string' || !ATTRIBUTE_VALUE.test(value) || value.trim() !== value) {
      throw new EcsApiError('InvalidParameterException', `Invalid attribute value: ${String(value)}`);
    }
    if (targetType !== undefined && targetType !== 'container-instance') {
      throw new EcsApiError('InvalidParameterException', 'targetType must be container-instance.');
    }
    let instance;
    try {
      instance = typeof targetId === 'string' ? ecs.putAttribute(targetId, name, value) : undefined;
    } catch (error) {
      if (error instanceof AttributeLimitError)
        throw new EcsApiError('AttributeLimitExceededException', error.message);
      throw error;
    }
    if (instance === undefined) {
      throw new EcsApiError('TargetNotFoundException', `Could not find ${String(targetId)}.`);
    }
    applied.push({ name, value, targetType: 'container-instance', targetId: instance.arn });
  }
  return { attributes: applied };
}

/** StopTask: the desired status changes at once (a task already stopping or stopped is left as it is). */
function stopTask(ecs: EcsModel, input: Input): Output {
  const task = ecs.findTask(String(input.task ?? ''));
  if (task === undefined)
    throw new EcsApiError('InvalidParameterException', 'The referenced task was not found.');
  const reason = input.reason === undefined ? 'Task stopped by the user' : String(input.reason).slice(0, 255);
  ecs.stopTask(task, 'UserInitiated', reason);
  return { task: taskShape(task, ecs.clusterArn, epochSeconds, task) };
}

function listTasks(ecs: EcsModel, input: Input): Output {
  const desiredStatus = (input.desiredStatus as string | undefined) ?? 'RUNNING';
  let source: Iterable<Task> = ecs.tasks.values();
  if (input.containerInstance !== undefined) {
    const instance = ecs.findInstance(String(input.containerInstance));
    if (instance?.readable === undefined)
      throw new EcsApiError('InvalidParameterException', 'The referenced container instance was not found.');
    source = instance.history;
  }
  const serviceName = input.serviceName as string | undefined;
  const family = input.family as string | undefined;
  const arns: string[] = [];
  for (const task of source) {
    // "Although you can filter results based on a desired status of PENDING, this doesn't return any results."
    if (task.readable?.desiredStatus !== desiredStatus) continue;
    if (serviceName !== undefined && task.group !== `service:${serviceName}`) continue;
    if (family !== undefined && !task.taskDefinitionArn.includes(`/${family}:`)) continue;
    arns.push(task.arn);
  }
  return paginate(arns, input, 'taskArns');
}

function describeTasks(ecs: EcsModel, input: Input): Output {
  const { found, failures } = describeEach(stringList(input, 'tasks', 100), (ref) => {
    const task = ecs.findTask(ref);
    return task?.readable === undefined ? undefined : { task, state: task.readable };
  });
  return {
    tasks: found.map(({ task, state }) => taskShape(task, ecs.clusterArn, epochSeconds, state)),
    failures,
  };
}

function describeServices(ecs: EcsModel, input: Input): Output {
  const services = [];
  const failures = [];
  for (const ref of stringList(input, 'services', 10)) {
    const service = ecs.services.get(ref.slice(ref.lastIndexOf('/') + 1));
    if (service === undefined) {
      failures.push({ arn: ref, reason: 'MISSING' });
      continue;
    }
    services.push(serviceShape(ecs, service));
  }
  return { services, failures };
}

/** A service as DescribeServices and UpdateService return it (ECS API reference, Service). */
function serviceShape(ecs: EcsModel, service: Service): Output {
  const live = [...service.tasks];
  const { spec } = service;
  return {
    serviceArn: service.arn,
    serviceName: spec.name,
    clusterArn: ecs.clusterArn,
    status: 'ACTIVE',
    schedulingStrategy: spec.daemon ? 'DAEMON' : 'REPLICA',
    launchType: 'EC2',
    taskDefinition: service.primary.taskDefinition.taskDefinitionArn,
    desiredCount: spec.daemon ? live.length : spec.desiredCount,
    runningCount: live.filter((t) => t.lastStatus === 'RUNNING').length,
    pendingCount: live.filter((t) => t.lastStatus === 'PENDING').length,
    deploymentConfiguration: {
      minimumHealthyPercent: spec.minimumHealthyPercent,
      maximumPercent: spec.maximumPercent,
      deploymentCircuitBreaker: {
        enable: spec.deploymentCircuitBreaker?.enable ?? false,
        rollback: spec.deploymentCircuitBreaker?.rollback ?? false,
      },
    },
    deployments: service.deployments.map((deployment) => deploymentShape(service, deployment)),
    events: service.events.map((event) => ({
      id: event.id,
      createdAt: epochSeconds(event.createdAt),
      message: event.message,
    })),
  };
}

function deploymentShape(service: Service, deployment: Deployment): Output {
  const tasks = [...service.tasks].filter((task) => task.deployment === deployment);
  const primary = deployment.status === 'PRIMARY';
  return {
    id: deployment.id,
    status: deployment.status,
    taskDefinition: deployment.taskDefinition.taskDefinitionArn,
    // An older deployment wants the tasks it still has; the scheduler takes them down to none.
    desiredCount: primary
      ? service.spec.daemon
        ? tasks.length
        : service.spec.desiredCount
      : tasks.filter((t) => t.desiredStatus === 'RUNNING').length,
    pendingCount: tasks.filter((t) => t.lastStatus === 'PENDING').length,
    runningCount: tasks.filter((t) => t.lastStatus === 'RUNNING').length,
    failedTasks: deployment.failedTasks,
    createdAt: epochSeconds(deployment.createdAt),
    updatedAt: epochSeconds(deployment.updatedAt),
    launchType: 'EC2',
    rolloutState: deployment.rolloutState,
    rolloutStateReason: deployment.rolloutStateReason,
  };
}

function updateService(ecs: EcsModel, input: Input, account: EcsAccount): Output {
  const ref = String(input.service ?? '');
  const service = ecs.services.get(ref.slice(ref.lastIndexOf('/') + 1));
  if (service === undefined) throw new EcsApiError('ServiceNotFoundException', 'Service not found.');
  let taskDefinition: TaskDefinition | undefined;
  if (input.taskDefinition !== undefined) {
    taskDefinition = account.taskDefinitions.find(String(input.taskDefinition));
    if (taskDefinition === undefined || taskDefinition.status !== 'ACTIVE')
      throw new EcsApiError('InvalidParameterException', 'TaskDefinition not found.');
  }
  const desiredCount = input.desiredCount as number | undefined;
  if (desiredCount !== undefined && (!Number.isInteger(desiredCount) || desiredCount < 0))
    throw new EcsApiError('InvalidParameterException', 'desiredCount must be a whole number, 0 or more.');
  const configuration = (input.deploymentConfiguration ?? {}) as {
    minimumHealthyPercent?: number;
    maximumPercent?: number;
    deploymentCircuitBreaker?: { enable: boolean; rollback: boolean };
  };
  const minimum = configuration.minimumHealthyPercent ?? service.spec.minimumHealthyPercent;
  const maximum = configuration.maximumPercent ?? service.spec.maximumPercent;
  if (minimum < 0 || minimum > 100 || maximum < 100 || maximum > 200)
    throw new EcsApiError(
      'InvalidParameterException',
      'minimumHealthyPercent must be 0-100 and maximumPercent 100-200.',
    );
  if (service.spec.daemon && (taskDefinition !== undefined || input.forceNewDeployment === true))
    throw new EcsApiError(
      'InvalidParameterException',
      'The simulation does not roll out new deployments of DAEMON services.',
    );
  ecs.updateService(service, {
    ...(taskDefinition !== undefined && { taskDefinition }),
    ...(desiredCount !== undefined && !service.spec.daemon && { desiredCount }),
    forceNewDeployment: input.forceNewDeployment === true,
    ...(configuration.minimumHealthyPercent !== undefined && {
      minimumHealthyPercent: configuration.minimumHealthyPercent,
    }),
    ...(configuration.maximumPercent !== undefined && { maximumPercent: configuration.maximumPercent }),
    ...(configuration.deploymentCircuitBreaker !== undefined && {
      deploymentCircuitBreaker: configuration.deploymentCircuitBreaker,
    }),
  });
  return { service: serviceShape(ecs, service) };
}

/** A task definition as RegisterTaskDefinition and DescribeTaskDefinition return it. */
function taskDefinitionShape(definition: TaskDefinition): Output {
  return {
    taskDefinitionArn: definition.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    status: definition.status,
    containerDefinitions: definition.containerDefinitions,
    ...definition.extra,
    ...(definition.cpu !== undefined && { cpu: definition.cpu }),
    ...(definition.memory !== undefined && { memory: definition.memory }),
    ...(definition.requiresCompatibilities !== undefined && {
      requiresCompatibilities: definition.requiresCompatibilities,
    }),
    compatibilities: definition.compatibilities,
    requiresAttributes: definition.requiresAttributes,
    registeredAt: epochSeconds(definition.registeredAt),
    registeredBy: definition.registeredBy,
    networkMode: definition.extra.networkMode ?? 'bridge',
    volumes: definition.extra.volumes ?? [],
    placementConstraints: definition.extra.placementConstraints ?? [],
  };
}

function registerTaskDefinition(registry: TaskDefinitions, input: Input): Output {
  const definition = registry.register(input);
  return { taskDefinition: taskDefinitionShape(definition), tags: definition.tags };
}

function describeTaskDefinition(registry: TaskDefinitions, input: Input): Output {
  const definition = registry.find(String(input.taskDefinition ?? ''));
  if (definition === undefined)
    throw new EcsApiError('ClientException', 'Unable to describe task definition.');
  const include = (input.include as string[] | undefined) ?? [];
  return {
    taskDefinition: taskDefinitionShape(definition),
    ...(include.includes('TAGS') && { tags: definition.tags }),
  };
}

function listTaskDefinitions(registry: TaskDefinitions, input: Input): Output {
  const sort = (input.sort as string | undefined) ?? 'ASC';
  const status = (input.status as string | undefined) ?? 'ACTIVE';
  if (sort !== 'ASC' && sort !== 'DESC')
    throw new EcsApiError('InvalidParameterException', 'sort must be ASC or DESC.');
  if (!['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS'].includes(status))
    throw new EcsApiError('InvalidParameterException', `Invalid status: ${status}`);
  const definitions = registry.list({
    ...(input.familyPrefix !== undefined && { family: String(input.familyPrefix) }),
    status,
    sort,
  });
  return paginate(
    definitions.map((definition) => definition.taskDefinitionArn),
    input,
    'taskDefinitionArns',
  );
}

/** The agent every simulated instance runs (the versionInfo of DescribeContainerInstances and events). */
export const AGENT_VERSION_INFO = {
  agentVersion: '1.88.0',
  agentHash: 'a3f7c2b1',
  dockerVersion: 'DockerVersion: 25.0.6',
} as const;

/**
 * A container instance as the API returns it: `current` as it is now (the answer to a write, or the
 * detail of an event), `readable` as reads see it, readLagSeconds behind, its counts agreeing with
 * the readable tasks. `time` converts a simulated second: epoch seconds for the API, ISO strings for events.
 */
export function containerInstanceShape<T = number>(
  instance: ContainerInstance,
  view: 'current' | 'readable' = 'current',
  time: (seconds: number) => T = epochSeconds as (seconds: number) => T,
): Output {
  const seen = view === 'readable' ? instance.readable : undefined;
  const usage = instance.readableUsage;
  const free = seen
    ? { cpu: instance.cpu - usage.cpu, memory: instance.memory - usage.memory }
    : instance.advertisedFree();
  return {
    containerInstanceArn: instance.arn,
    ec2InstanceId: instance.ec2InstanceId,
    version: (seen ?? instance).version,
    status: (seen ?? instance).status,
    agentConnected: (seen ?? instance).agentConnected,
    versionInfo: { ...AGENT_VERSION_INFO },
    runningTasksCount: seen ? usage.running : instance.runningTasksCount,
    pendingTasksCount: seen ? usage.pending : instance.pendingTasksCount,
    registeredAt: time(instance.registeredAt),
    registeredResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: instance.cpu },
      { name: 'MEMORY', type: 'INTEGER', integerValue: instance.memory },
    ],
    remainingResources: [
      { name: 'CPU', type: 'INTEGER', integerValue: free.cpu },
      { name: 'MEMORY', type: 'INTEGER', integerValue: free.memory },
    ],
    attributes: [...instance.attributesAt(seen ?? instance)].map(([name, value]) => ({ name, value })),
  };
}

/**
 * A task as DescribeTasks returns it (timestamps as epoch seconds) or as the detail of an
 * "ECS Task State Change" event (ISO strings): `time` converts a simulated second. `state` is the
 * moment shown: the current one by default (events), the readable one for DescribeTasks.
 */
export function taskShape<T>(
  task: Task,
  clusterArn: string,
  time: (seconds: number) => T,
  state: TaskState = task,
): Output {
  const at = (field: string, seconds: number | undefined) =>
    seconds === undefined ? {} : { [field]: time(seconds) };
  const family = task.taskDefinitionArn.slice(
    task.taskDefinitionArn.lastIndexOf('/') + 1,
    task.taskDefinitionArn.lastIndexOf(':'),
  );
  return {
    clusterArn,
    containerInstanceArn: task.host.arn,
    taskArn: task.arn,
    taskDefinitionArn: task.taskDefinitionArn,
    launchType: 'EC2',
    group: task.group,
    ...(task.startedBy !== undefined && { startedBy: task.startedBy }),
    lastStatus: state.lastStatus,
    desiredStatus: state.desiredStatus,
    cpu: String(task.cpu),
    memory: String(task.memory),
    version: state.version,
    availabilityZone: `${REGION}a`,
    ...at('createdAt', task.createdAt),
    ...at('startedAt', state.startedAt),
    ...at('stoppingAt', state.stoppingAt),
    ...at('stoppedAt', state.stoppedAt),
    ...(state.stopCode !== undefined && { stopCode: state.stopCode }),
    ...(state.stoppedReason !== undefined && { stoppedReason: state.stoppedReason }),
    containers: (task.definition?.containerDefinitions ?? [{ name: family, image: undefined }]).map(
      (container) => ({
        name: container.name,
        ...(container.image !== undefined && { image: container.image }),
        lastStatus:
          state.lastStatus === 'STOPPED' ? 'STOPPED' : state.lastStatus === 'PENDING' ? 'PENDING' : 'RUNNING',
        ...(state.stopCode === 'EssentialContainerExited' && { exitCode: 1 }),
        taskArn: task.arn,
      }),
    ),
  };
}
