import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadController } from '../../sim/controller';
import { writeEventsTo } from '../../sim/event-files';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';

// `npm run sim:serve` writes the events the functions would receive; a person then invokes the
// functions with them (sam local invoke). Here the real handlers play that person's part.
describe('events written by sim:serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-events-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drive the real functions through a whole drain, one file at a time', async () => {
    const world = buildWorld(
      { ...defaultOptions(demoShape(4)), controller: writeEventsTo(dir, () => undefined) },
      'notify',
    );
    const functions = loadController({ kind: 'in-process', target: () => world.api }).deploy(world.account);
    const handlers = { startDrain: functions.startDrain(), finishDrain: functions.finishDrain() };
    // The person invoking runs in the world's time: the functions' pacers wait on its clock.
    const invoke = (name: keyof typeof handlers) => async (event: unknown) => {
      const done = world.clock.spawn(() => handlers[name](event));
      await world.clock.run(world.clock.now + 30);
      return done;
    };
    const controller = { startDrain: invoke('startDrain'), finishDrain: invoke('finishDrain') };
    await world.clock.run(600);
    const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
    expect(readdirSync(dir)).toEqual(['lifecycle-test-1.json']);

    world.group.setDesiredCapacity(3);
    await world.clock.run(610);
    const [lifecycle] = readdirSync(dir).filter((name) => /^lifecycle-i-/.test(name));
    expect(lifecycle).toBeDefined();
    const instanceId = JSON.parse(read(lifecycle ?? '').Records[0].body).EC2InstanceId;
    expect(world.group.instances.get(instanceId)?.state).toBe('Terminating:Wait');

    await controller.startDrain(read(lifecycle ?? ''));
    expect(world.ecs.containerInstancesOf(instanceId)[0]?.status).toBe('DRAINING');

    await world.clock.run(1200);
    const stopped = readdirSync(dir).filter((name) => name.startsWith('task-stopped-'));
    expect(stopped.length).toBeGreaterThan(0);
    // ECS telling a task to stop is an event of its own, in a file that its STOPPED event does not overwrite.
    const detailOf = (name: string) => JSON.parse(read(name).Records[0].body).detail;
    expect(stopped.map((name) => detailOf(name).lastStatus)).toEqual(stopped.map(() => 'STOPPED'));
    const told = readdirSync(dir).filter((name) => name.startsWith('task-told-to-stop-'));
    expect(told.map((name) => [detailOf(name).desiredStatus, detailOf(name).lastStatus])).toContainEqual([
      'STOPPED',
      'RUNNING',
    ]);
    for (const name of stopped) await controller.finishDrain(read(name));
    await world.clock.run(1300);

    expect(world.group.instances.has(instanceId)).toBe(false);
    expect(world.recorder.actions).toEqual([expect.objectContaining({ instanceId, endedBy: 'completed' })]);
  });
});
