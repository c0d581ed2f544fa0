import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { answer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';

// Every AWS call the project's code makes (the functions, the shared adapters, the command-line
// tools, the operator CLI under scripts/ as it grows) must be one the local endpoint serves, or
// `npm run sim:serve` cannot stand in for AWS when someone runs that code against it.

const ROOT = join(__dirname, '..', '..');

/** The SDK v3 clients the project uses, by package, and the service name the endpoint routes. */
const CLIENTS: Record<string, Service> = {
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-auto-scaling': 'autoscaling',
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-sns': 'sns',
};
type Service = 'ecs' | 'autoscaling' | 'ec2' | 'ssm' | 'sns';

function sourceFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : walk(path);
      return /\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
    });
  const sim = readdirSync(join(ROOT, 'sim'))
    .filter((name) => /^cli.*\.ts$/.test(name))
    .map((name) => join(ROOT, 'sim', name));
  return [...['shared', 'functions', 'scripts'].flatMap((dir) => walk(join(ROOT, dir))), ...sim];
}

/**
 * The operations a source file calls: each `new XxxCommand(` and `paginateXxx(` whose name it
 * imports (under that name or an alias) from one of the clients above, as `service:Xxx`.
 */
function operationsIn(source: string): string[] {
  const found = new Set<string>();
  const imports = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/client-[a-z0-9-]+)['"]/g;
  for (const [, names = '', pkg = ''] of source.matchAll(imports)) {
    const service = CLIENTS[pkg];
    if (service === undefined) continue;
    for (const entry of names.split(',')) {
      const [imported = '', local = imported] = entry
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .map((part) => part.trim());
      const operation = /^(\w+)Command$/.exec(imported)?.[1] ?? /^paginate(\w+)$/.exec(imported)?.[1];
      if (operation === undefined || local === '') continue;
      const call = imported.endsWith('Command') ? `new\\s+${local}\\s*\\(` : `\\b${local}\\s*\\(`;
      if (new RegExp(call).test(source)) found.add(`${service}:${operation}`);
    }
  }
  return [...found];
}

/** Every operation used, with the files that use it. */
function operationsUsed(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    for (const operation of operationsIn(readFileSync(file, 'utf8')))
      used.set(operation, [...(used.get(operation) ?? []), relative(ROOT, file)]);
  }
  return used;
}

const world = buildWorld(defaultOptions(demoShape(2)), 'none');

/** The error code the endpoint answers for an operation it does not know, per protocol. */
function unknownOperation(key: string): string | undefined {
  const [service, operation] = key.split(':') as [Service, string];
  const json = (prefix: string) => answer(world.api, { 'x-amz-target': `${prefix}${operation}` }, '{}');
  const query = (version: string) =>
    answer(world.api, {}, new URLSearchParams({ Action: operation, Version: version }).toString());
  const reply =
    service === 'ecs'
      ? json('AmazonEC2ContainerServiceV20141113.')
      : service === 'ssm'
        ? json('AmazonSSM.')
        : query({ autoscaling: '2011-01-01', ec2: '2016-11-15', sns: '2010-03-31' }[service]);
  // The endpoint's answer for an operation it has no handler for, in each protocol.
  const unknown = /UnknownOperationException|<Code>InvalidAction<\/Code>/.exec(reply.body);
  return unknown?.[0];
}

describe('the local endpoint covers the code that calls AWS', () => {
  it('finds the calls in the source, imported names and aliases alike', () => {
    const source = `
      import { ListTasksCommand, paginateListTasks as pages, type StopTaskCommand } from '@aws-sdk/client-ecs';
      import { CompleteLifecycleActionCommand as Complete } from "@aws-sdk/client-auto-scaling";
      import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
      await client.send(new ListTasksCommand({}));
      for await (const page of pages({ client }, {})) {}
      await asg.send(new Complete({}));
      const only: StopTaskCommand | undefined = undefined; // a type, never sent
    `;
    expect(operationsIn(source).sort()).toEqual(['autoscaling:CompleteLifecycleAction', 'ecs:ListTasks']);
  });

  it('tells an operation the endpoint serves from one it does not', () => {
    expect(unknownOperation('ecs:DescribeTasks')).toBeUndefined();
    expect(unknownOperation('ecs:DescribeCapacityProviders')).toBe('UnknownOperationException');
    expect(unknownOperation('autoscaling:DescribeWarmPool')).toBe('<Code>InvalidAction</Code>');
    expect(unknownOperation('sns:Subscribe')).toBe('<Code>InvalidAction</Code>');
  });

  it('serves every ECS, Auto Scaling, EC2, SSM and SNS operation the functions, shared code and tools call', () => {
    const used = operationsUsed();
    // The scan reads what the controller is known to call: it is not looking at nothing.
    expect([...used.keys()]).toEqual(
      expect.arrayContaining([
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'ecs:UpdateContainerInstancesState',
        'ecs:ListTasks',
        'sns:Publish',
      ]),
    );
    const missing = [...used]
      .filter(([operation]) => unknownOperation(operation) !== undefined)
      .map(([operation, files]) => `${operation} (called in ${files.join(', ')})`);
    expect(missing).toEqual([]);
  });
});
