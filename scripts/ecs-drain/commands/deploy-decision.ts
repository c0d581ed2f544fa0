import type { RegisterTaskDefinitionCommandInput, Service, Tag, TaskDefinition } from '@aws-sdk/client-ecs';

/**
 * The decisions of `ecs-drain deploy`, pure: which task definition to register from the one the
 * service runs, and what a DescribeServices answer says about the deployment of it.
 */

/** What DescribeTaskDefinition returns that RegisterTaskDefinition does not take. */
const READ_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const;

export type Registration =
  { ok: true; input: RegisterTaskDefinitionCommandInput; container: string } | { ok: false; reason: string };

/**
 * The next revision of `described`'s family: the same definition (tags kept) with the image of
 * `container` replaced; without `container`, the only container. An unknown or missing container
 * name is refused with the containers there are.
 */
export function registrationFor(
  described: TaskDefinition,
  tags: Tag[] | undefined,
  image: string,
  container: string | undefined,
): Registration {
  const containers = described.containerDefinitions ?? [];
  const names = containers.map((c) => c.name ?? '');
  const listed = names.map((name) => `"${name}"`).join(', ');
  const chosen = container ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined)
    return {
      ok: false,
      reason: `${described.family} has ${names.length} containers (${listed}): name one with --container`,
    };
  if (!names.includes(chosen))
    return { ok: false, reason: `${described.family} has no container "${chosen}" (it has ${listed})` };
  const input: Record<string, unknown> = { ...described };
  for (const field of READ_ONLY_FIELDS) delete input[field];
  input.containerDefinitions = containers.map((c) => (c.name === chosen ? { ...c, image } : c));
  if (tags !== undefined && tags.length > 0) input.tags = tags;
  return { ok: true, input: input as unknown as RegisterTaskDefinitionCommandInput, container: chosen };
}

export type Outcome = 'completed' | 'rolled-back' | 'failed';

export type DeployState =
  | { finished: false; running: number; desired: number; failed: number }
  | { finished: true; outcome: Outcome; serving: string; reason: string };

/** `family:revision` of a task definition ARN (or the reference as it is). */
export function revisionOf(taskDefinition: string | undefined): string {
  return (taskDefinition ?? '').replace(/^arn:[^/]*task-definition\//, '');
}

const CIRCUIT_BREAKER_REASON = 'ECS deployment circuit breaker: tasks failed to start.';

/**
 * Where the deployment of `registered` (its id `deploymentId`, from UpdateService's answer) stands
 * in a DescribeServices answer: finished once ECS says COMPLETED or FAILED (rolled back when the
 * circuit breaker started a deployment of another revision), or when its deployment is gone (a
 * rollback that already completed, as the service's events tell, or another deployment replaced
 * it); else how far it has got.
 */
export function deployState(service: Service, registered: string, deploymentId?: string): DeployState {
  const deployments = service.deployments ?? [];
  const ours = deployments.find((d) => d.taskDefinition === registered);
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  if (ours === undefined) {
    if (service.taskDefinition === registered)
      return { finished: true, outcome: 'completed', serving: revisionOf(registered), reason: 'completed' };
    const failedEvent =
      deploymentId !== undefined &&
      (service.events ?? []).some(
        (event) =>
          event.message?.includes(`(deployment ${deploymentId})`) === true &&
          event.message.includes('deployment failed'),
      );
    const rolledBack = failedEvent || /circuit breaker/i.test(primary?.rolloutStateReason ?? '');
    return {
      finished: true,
      outcome: rolledBack ? 'rolled-back' : 'failed',
      serving: revisionOf(service.taskDefinition),
      reason: rolledBack
        ? CIRCUIT_BREAKER_REASON
        : `another deployment (${revisionOf(service.taskDefinition)}) replaced it`,
    };
  }
  if (ours.rolloutState === 'COMPLETED' && ours.status === 'PRIMARY')
    return { finished: true, outcome: 'completed', serving: revisionOf(registered), reason: 'completed' };
  if (ours.rolloutState === 'FAILED') {
    const reason = ours.rolloutStateReason ?? 'the deployment failed';
    if (primary !== undefined && primary !== ours)
      return { finished: true, outcome: 'rolled-back', serving: revisionOf(primary.taskDefinition), reason };
    // No rollback: the tasks that still run are the older deployments'.
    const older = deployments.find((d) => d !== ours && (d.runningCount ?? 0) > 0);
    return {
      finished: true,
      outcome: 'failed',
      serving: revisionOf(older?.taskDefinition ?? registered),
      reason,
    };
  }
  if (ours.status !== 'PRIMARY')
    return {
      finished: true,
      outcome: 'failed',
      serving: revisionOf(primary?.taskDefinition),
      reason: `another deployment (${revisionOf(primary?.taskDefinition)}) replaced it`,
    };
  return {
    finished: false,
    running: ours.runningCount ?? 0,
    desired: ours.desiredCount ?? service.desiredCount ?? 0,
    failed: ours.failedTasks ?? 0,
  };
}
