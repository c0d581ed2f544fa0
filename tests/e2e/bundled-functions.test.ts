import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Controller } from '../../sim/controller';
import { type LiveWorld, serveLive } from '../../sim/live';
import { esbuildFunctions, esbuildOptions, localEnvironment } from '../../sim/sam-build';
import { buildWorld, ClusterShape, defaultOptions } from '../../sim/scenario';
import { readTemplate } from '../../sim/template';
import { STACK } from '../../sim/world';

// What Lambda runs is the bundle `sam build` makes (template.yaml's BuildProperties: minified, the SDK
// resolved through MainFields, tree-shaken), not the TypeScript the other end-to-end tests load. Here
// the two drain functions' bundles drain a real scale-in in a live twin, called as the twin's queues
// call them, their SDK clients reaching it over HTTP as `sam local invoke --env-vars` would.
const root = join(__dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'bundled-functions-'));
const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));
const containers: ChildProcess[] = [];
let live: LiveWorld | undefined;

afterAll(async () => {
  for (const container of containers) container.kill();
  await live?.close();
  rmSync(outdir, { recursive: true, force: true });
});

type Handler = (event: unknown) => Promise<unknown>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Builds a function as `sam build` does and starts one container of it, configured as events/env.json says. */
async function bundledContainer(name: string, env: Record<string, string>): Promise<Handler> {
  const fn = esbuildFunctions(readTemplate()).find((each) => each.name === name);
  if (fn === undefined) throw new Error(`template.yaml builds no ${name}`);
  const dir = join(outdir, name);
  await build({ ...esbuildOptions(fn.buildProperties, dir), absWorkingDir: root, logLevel: 'silent' });
  const child = fork(
    join(__dirname, '..', 'helpers', 'lambda-container.js'),
    [join(dir, fn.handlerFile), fn.handlerExport],
    {
      env: { PATH: process.env.PATH, ...localEnvironment(envFile, fn.id), ...env },
    },
  );
  containers.push(child);
  const replies = new Map<number, (reply: { result?: unknown; error?: string }) => void>();
  let ready: () => void = () => undefined;
  const loaded = new Promise<void>((resolve) => (ready = resolve));
  child.on('message', (reply: { id?: number; ready?: boolean; result?: unknown; error?: string }) => {
    if (reply.ready) return ready();
    replies.get(reply.id as number)?.(reply);
    replies.delete(reply.id as number);
  });
  await loaded;
  let sequence = 0;
  return (event) =>
    new Promise((resolve, reject) => {
      const id = ++sequence;
      replies.set(id, (reply) =>
        reply.error === undefined ? resolve(reply.result) : reject(new Error(reply.error)),
      );
      child.send({ id, event });
    });
}

it('the shipped bundles of start-drain and finish-drain drain a scale-in to completion, nothing killed', async () => {
  const shape = ClusterShape.parse({
    instances: 3,
    services: [
      {
        name: 'web',
        desiredCount: 3,
        minimumHealthyPercent: 50,
        maximumPercent: 200,
        startupSeconds: 5,
        stopSeconds: 10,
      },
    ],
  });
  // The containers are configured with the endpoint's address before the world serves on it.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    AWS_ENDPOINT_URL_ECS: url,
    AWS_ENDPOINT_URL_AUTO_SCALING: url,
    AWS_ENDPOINT_URL_SNS: url,
    AWS_ENDPOINT_URL_EC2: url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    LAUNCH_READINESS: 'disabled',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  const start = await bundledContainer('start-drain', env);
  const finish = await bundledContainer('finish-drain', env);
  // Simulated time waits while a container works (as with the rehearsal's HTTP transport): the world
  // settles its first ten minutes at full speed, which would time a working function out.
  const controller: Controller = {
    deploy: () => ({ startDrain: () => start, finishDrain: () => finish }),
  };
  const world = buildWorld({ ...defaultOptions(shape), controller }, 'notify');
  live = await serveLive(world, { speed: 5, port });

  const group = world.groups.get(STACK.groupName);
  if (group === undefined) throw new Error('no group');
  const before = new Set(group.instances.keys());
  group.setDesiredCapacity(2);

  const deadline = Date.now() + 40_000;
  while (world.recorder.actions.length === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));

  expect(world.recorder.actions.map((action) => action.endedBy)).toEqual(['completed']);
  // Completed by finish-drain once the host was empty: its tasks had stopped, none was killed.
  expect(world.recorder.actions[0]?.lastTaskStoppedAt).toBeDefined();
  expect(world.recorder.killedTasks).toEqual([]);
  expect(world.recorder.releasedWithTasks).toEqual([]);
  // The instance the group chose, let go by the hook once empty.
  const terminating = [...before].filter((id) => group.instances.get(id)?.state !== 'InService');
  expect(world.recorder.actions.map((action) => action.instanceId)).toEqual(terminating);
  // Every invocation of either bundle succeeded: nothing was retried to get there.
  expect([world.startDrain?.stats.errors, world.finishDrain?.stats.errors]).toEqual([0, 0]);
}, 60_000);
