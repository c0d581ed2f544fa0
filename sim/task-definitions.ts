import { ACCOUNT, REGION } from './ecs';

/**
 * The account's task definitions (account-level in ECS: every cluster runs from the same registry),
 * as the ECS developer guide and API reference describe them:
 * - a family has revisions 1, 2, ... in the order they were registered; each is immutable;
 * - `family` alone names the latest ACTIVE revision, `family:revision` or the ARN one revision;
 * - RegisterTaskDefinition echoes the fields given and adds the read-only ones (taskDefinitionArn,
 *   revision, status, compatibilities, requiresAttributes, registeredAt, registeredBy).
 *
 * Images that crash: an essential container whose image is in `brokenImages`, or whose tag is
 * `broken` or ends in `-broken` (the convention for people driving `npm run sim:serve` by hand),
 * exits a few seconds after its task reaches RUNNING.
 */

export interface ContainerDefinition {
  name: string;
  image: string;
  essential?: boolean;
  cpu?: number;
  memory?: number;
  memoryReservation?: number;
  [field: string]: unknown;
}

export interface TaskDefinition {
  taskDefinitionArn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  containerDefinitions: ContainerDefinition[];
  /** Task-level CPU units and MiB, as strings, as the API has them. */
  cpu?: string;
  memory?: string;
  requiresCompatibilities?: string[];
  compatibilities: string[];
  requiresAttributes: { name: string }[];
  /** Simulated seconds. */
  registeredAt: number;
  registeredBy: string;
  /** Every other field the caller gave (networkMode, volumes, roles...), echoed as given. */
  extra: Record<string, unknown>;
  tags: { key: string; value: string }[];
}

export class TaskDefinitionError extends Error {
  constructor(
    readonly code: 'ClientException' | 'InvalidParameterException',
    message: string,
  ) {
    super(message);
  }
}

/** Fields RegisterTaskDefinition takes besides the ones TaskDefinition names (ECS API reference). */
const ECHOED_FIELDS = [
  'taskRoleArn',
  'executionRoleArn',
  'networkMode',
  'volumes',
  'placementConstraints',
  'pidMode',
  'ipcMode',
  'proxyConfiguration',
  'inferenceAccelerators',
  'ephemeralStorage',
  'runtimePlatform',
  'enableFaultInjection',
] as const;

const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;

/** The image a family gets when the world creates it (its revision 1). */
function defaultImage(family: string): string {
  return `public.ecr.aws/ecs-drain-sim/${family}:1`;
}

/** The tag of an image reference (`repo:tag`, registry ports allowed), or undefined. */
function imageTag(image: string): string | undefined {
  const name = image.split('@')[0] ?? image;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

export class TaskDefinitions {
  /** Images whose containers exit soon after they start (see the module comment). */
  readonly brokenImages = new Set<string>();
  private readonly families = new Map<string, TaskDefinition[]>();

  constructor(private readonly now: () => number) {}

  /** Whether an image crashes: listed in brokenImages, or tagged `broken` / `*-broken`. */
  imageCrashes(image: string): boolean {
    const tag = imageTag(image);
    return this.brokenImages.has(image) || tag === 'broken' || (tag?.endsWith('-broken') ?? false);
  }

  /** Whether a task of this definition crashes: one of its essential containers does. */
  crashes(definition: TaskDefinition): boolean {
    return definition.containerDefinitions.some(
      (container) => container.essential !== false && this.imageCrashes(container.image),
    );
  }

  /**
   * The family's latest ACTIVE revision, registering revision 1 (one container named after the
   * family, its image, the task's cpu and memory, its port mapping) when the family has none: what the world does for
   * every service and standalone family it creates.
   */
  ensure(family: string, cpu: number, memory: number, staticHostPort = false): TaskDefinition {
    const latest = this.latest(family);
    if (latest !== undefined) return latest;
    // Bridge networking: a static host port (one task per instance) or a dynamic one (hostPort 0).
    const portMappings = [{ containerPort: 8080, hostPort: staticHostPort ? 8080 : 0, protocol: 'tcp' }];
    return this.register({
      family,
      networkMode: 'bridge',
      containerDefinitions: [
        { name: family, image: defaultImage(family), essential: true, cpu, memory, portMappings },
      ],
      cpu: String(cpu),
      memory: String(memory),
      requiresCompatibilities: ['EC2'],
    });
  }

  /** RegisterTaskDefinition: validated as ECS does, the next revision of the family. */
  register(input: Record<string, unknown>): TaskDefinition {
    const family = input.family;
    if (typeof family !== 'string' || !FAMILY.test(family))
      throw new TaskDefinitionError(
        'ClientException',
        'Family must be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.',
      );
    const containers = containerDefinitions(input.containerDefinitions);
    const cpu = sizeField(input.cpu, 'cpu');
    const memory = sizeField(input.memory, 'memory');
    for (const container of containers) {
      if (memory === undefined && container.memory === undefined && container.memoryReservation === undefined)
        throw new TaskDefinitionError(
          'ClientException',
          `Invalid setting for container '${container.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`,
        );
    }
    const revisions = this.families.get(family) ?? [];
    const revision = revisions.length + 1;
    const extra: Record<string, unknown> = {};
    for (const field of ECHOED_FIELDS) if (input[field] !== undefined) extra[field] = input[field];
    const networkMode = (input.networkMode as string | undefined) ?? 'bridge';
    const definition: TaskDefinition = {
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`,
      family,
      revision,
      status: 'ACTIVE',
      containerDefinitions: containers,
      ...(cpu !== undefined && { cpu }),
      ...(memory !== undefined && { memory }),
      ...(Array.isArray(input.requiresCompatibilities) && {
        requiresCompatibilities: input.requiresCompatibilities as string[],
      }),
      // ECS lists every launch type the definition could run on: EC2 and EXTERNAL always, Fargate
      // with awsvpc and task-level sizes.
      compatibilities:
        networkMode === 'awsvpc' && cpu !== undefined && memory !== undefined
          ? ['EC2', 'EXTERNAL', 'FARGATE']
          : ['EC2', 'EXTERNAL'],
      requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.docker-remote-api.1.18' }],
      registeredAt: this.now(),
      // The twin checks no identity: every registration is the account's root.
      registeredBy: `arn:aws:iam::${ACCOUNT}:root`,
      extra,
      tags: tagList(input.tags),
    };
    this.families.set(family, [...revisions, definition]);
    return definition;
  }

  /** DescribeTaskDefinition's lookup: `family` (latest ACTIVE), `family:revision`, or an ARN. */
  find(ref: string): TaskDefinition | undefined {
    const name = ref.startsWith('arn:') ? ref.slice(ref.indexOf('task-definition/') + 16) : ref;
    const colon = name.lastIndexOf(':');
    if (colon < 0) return this.latest(name);
    if (ref.startsWith('arn:') && !ref.includes(':task-definition/')) return undefined;
    const revision = Number(name.slice(colon + 1));
    return this.families.get(name.slice(0, colon))?.[revision - 1];
  }

  /** The family's latest ACTIVE revision. */
  latest(family: string): TaskDefinition | undefined {
    return this.families
      .get(family)
      ?.filter((definition) => definition.status === 'ACTIVE')
      .at(-1);
  }

  /** ListTaskDefinitions: by family then revision, ascending or descending; `family` is an exact match, as ECS's familyPrefix is. */
  list(options: { family?: string; status?: string; sort?: 'ASC' | 'DESC' }): TaskDefinition[] {
    const status = options.status ?? 'ACTIVE';
    const all = [...this.families.entries()]
      .filter(([family]) => options.family === undefined || family === options.family)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([, revisions]) => revisions)
      .filter((definition) => status === 'ALL' || definition.status === status);
    return options.sort === 'DESC' ? all.reverse() : all;
  }
}

function containerDefinitions(value: unknown): ContainerDefinition[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new TaskDefinitionError('ClientException', 'Container list cannot be empty.');
  const names = new Set<string>();
  return value.map((item: unknown) => {
    const container = (item ?? {}) as Record<string, unknown>;
    const { name, image } = container;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(name))
      throw new TaskDefinitionError('ClientException', 'Container name is required.');
    if (names.has(name))
      throw new TaskDefinitionError('ClientException', `Duplicate container name found: ${name}.`);
    names.add(name);
    if (typeof image !== 'string' || image.trim() === '')
      throw new TaskDefinitionError('ClientException', `Container.image should not be null or empty.`);
    return { ...container, name, image } as ContainerDefinition;
  });
}

/** Task-level cpu or memory: a string of a number (units or MiB) or with a unit ("1 vCPU", "2 GB"). */
function sizeField(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw new TaskDefinitionError('ClientException', `Invalid '${field}' setting for task.`);
  return value;
}

function tagList(value: unknown): { key: string; value: string }[] {
  if (!Array.isArray(value)) return [];
  return value.map((tag: Record<string, unknown>) => ({
    key: String(tag.key),
    value: String(tag.value ?? ''),
  }));
}

/** A task-level size as a number: "512" → 512, "1 vCPU" → 1024, "2 GB" → 2048; undefined if absent. */
export function sizeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*([\d.]+)\s*(vcpu|gb)?\s*$/i.exec(value);
  if (match === null) return undefined;
  const number = Number(match[1]);
  return match[2] === undefined ? number : number * 1024;
}
