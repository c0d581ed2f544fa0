import { type EcsOptions, SCHEDULER_PASS_SECONDS, type ServiceSpec } from '../../sim/ecs';
import { simulatedCluster } from '../helpers/ecs-model';

/** A cluster of `hosts` instances with room for plenty of tasks, and every task event recorded. */
function cluster(hosts = 3, options: EcsOptions = {}) {
  return simulatedCluster(hosts, 42, options);
}

function service(changes: Partial<ServiceSpec>): ServiceSpec {
  return {
    name: 'web',
    desiredCount: 3,
    minimumHealthyPercent: 100,
    maximumPercent: 200,
    cpu: 256,
    memory: 512,
    startupSeconds: 30,
    stopSeconds: 60,
    ...changes,
  };
}

const lowestAfter = (healthy: { at: number; count: number }[], from: number) =>
  Math.min(...healthy.filter((h) => h.at >= from).map((h) => h.count));

describe('ECS draining in the simulation', () => {
  it('with min 100 / max 200, starts replacements first and stops old tasks only once they are healthy', async () => {
    const { clock, ecs, healthy, instances } = cluster();
    const web = ecs.createService(service({ desiredCount: 3 }));
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');
    const onDrained = [...drained.tasks];
    expect(onDrained).toHaveLength(1);

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(305);
    expect(onDrained[0]?.desiredStatus).toBe('RUNNING'); // replacement not healthy yet
    await clock.run(900);

    expect(drained.tasks.size).toBe(0);
    expect(web.healthyCount).toBe(3);
    expect(lowestAfter(healthy, 300)).toBeGreaterThanOrEqual(3);
  });

  it('with min 50 / max 100, stops tasks before replacing them, but never below the floor', async () => {
    const { clock, ecs, healthy, instances } = cluster(2);
    ecs.createService(service({ desiredCount: 4, minimumHealthyPercent: 50, maximumPercent: 100 }));
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(302);
    const stopping = [...drained.tasks].filter((task) => task.desiredStatus === 'STOPPED');
    expect(stopping.length).toBeGreaterThan(0);
    await clock.run(1200);

    expect(drained.tasks.size).toBe(0);
    expect(lowestAfter(healthy, 300)).toBeGreaterThanOrEqual(2);
  });

  it('with min 100 / max 100, never stops a task of the draining instance', async () => {
    const { clock, ecs, instances } = cluster();
    ecs.createService(service({ desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 100 }));
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(300 + 6 * 3600);

    expect([...drained.tasks].map((task) => task.desiredStatus)).toEqual(['RUNNING']);
  });

  it('counts a stopping task in runningTasksCount no more, although it has not stopped', async () => {
    const { clock, ecs, instances } = cluster(2);
    ecs.createService(
      service({ desiredCount: 2, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 120 }),
    );
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(310);

    const [task] = [...drained.tasks];
    expect(task?.lastStatus).toMatch(/DEACTIVATING|STOPPING/);
    expect(drained.runningTasksCount).toBe(0);
  });

  it('announces a stop at once, then passes the task through DEACTIVATING and STOPPING, with a growing version', async () => {
    const { clock, ecs, events, instances } = cluster(2);
    ecs.createService(service({ desiredCount: 2, minimumHealthyPercent: 0, maximumPercent: 100 }));
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');
    const [task] = [...drained.tasks];

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(600);

    const history = events.filter((event) => event.arn === task?.arn);
    // ECS emits a task state change when it tells a task to stop, before the agent acts on it.
    expect(history.map((event) => [event.desiredStatus, event.lastStatus])).toEqual([
      ['RUNNING', 'PENDING'],
      ['RUNNING', 'RUNNING'],
      ['STOPPED', 'RUNNING'],
      ['STOPPED', 'DEACTIVATING'],
      ['STOPPED', 'STOPPING'],
      ['STOPPED', 'STOPPED'],
    ]);
    const versions = history.map((event) => event.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('stops daemon tasks last, after the replica tasks of the instance', async () => {
    const { clock, ecs, instances } = cluster(2);
    ecs.createService(service({ name: 'agent', daemon: true, desiredCount: 0, stopSeconds: 5 }));
    ecs.createService(
      service({ desiredCount: 2, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 120 }),
    );
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');
    const daemon = [...drained.tasks].find((task) => task.daemon);
    const replica = [...drained.tasks].find((task) => !task.daemon);

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(400);
    expect(replica?.lastStatus).not.toBe('STOPPED');
    expect(daemon?.desiredStatus).toBe('RUNNING');
    await clock.run(800);

    expect(replica?.lastStatus).toBe('STOPPED');
    expect(daemon?.lastStatus).toBe('STOPPED');
    expect(daemon?.stoppingAt).toBeGreaterThanOrEqual(replica?.stoppedAt ?? Infinity);
  });

  it('keeps the daemon task of a draining instance running while its replicas stop, even as daemon tasks start elsewhere', async () => {
    const { clock, ecs, instances } = cluster(2);
    ecs.createService(service({ name: 'agent', daemon: true, desiredCount: 0, stopSeconds: 5 }));
    ecs.createService(
      service({ desiredCount: 2, minimumHealthyPercent: 0, maximumPercent: 100, stopSeconds: 120 }),
    );
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');
    const daemon = [...drained.tasks].find((task) => task.daemon);

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    // A new instance registers: its daemon task starts and becomes healthy during the drain.
    ecs.registerContainerInstance('i-00000000000000009', 4096, 16384, 'ami-2');
    await clock.run(400);

    expect([...drained.tasks].some((task) => !task.daemon && task.lastStatus !== 'STOPPED')).toBe(true);
    expect(daemon?.desiredStatus).toBe('RUNNING');
  });

  it('never moves standalone tasks: the instance stays in drain while they run', async () => {
    const { clock, ecs, instances } = cluster(1);
    const [standalone] = ecs.runStandaloneTasks({ family: 'batch', cpu: 256, memory: 512, count: 1 });
    await clock.run(300);
    const drained = instances[0];
    if (drained === undefined) throw new Error('no instance');

    ecs.updateContainerInstancesState([drained.arn], 'DRAINING');
    await clock.run(300 + 24 * 3600);

    expect(standalone?.lastStatus).toBe('RUNNING');
    expect(drained.status).toBe('DRAINING');
  });

  it('places at most one task per instance for a service with a static host port', async () => {
    const { clock, ecs, instances } = cluster(3);
    const api = ecs.createService(service({ name: 'api', desiredCount: 5, staticHostPort: true }));
    await clock.run(300);

    expect(api.tasks.size).toBe(3);
    for (const instance of instances) expect(instance.serviceTasks.get('api')).toBe(1);
  });

  it('with ec2NoticeSeconds 0, stops every task at once when the EC2 instance is terminated, and deregisters the instance', async () => {
    const { clock, ecs, instances } = cluster(2, { ec2NoticeSeconds: 0 });
    ecs.createService(service({ desiredCount: 4, minimumHealthyPercent: 50 }));
    await clock.run(300);
    const victim = instances[0];
    if (victim === undefined) throw new Error('no instance');
    const tasks = [...victim.tasks];

    ecs.ec2InstanceTerminated(victim.ec2InstanceId);

    expect(tasks.every((task) => task.lastStatus === 'STOPPED')).toBe(true);
    expect(victim.status).toBe('INACTIVE');
    expect(ecs.containerInstancesOf(victim.ec2InstanceId)).toEqual([]);
    expect(ecs.updateContainerInstancesState([victim.arn], 'DRAINING').failures).toEqual([
      { arn: victim.arn, reason: 'MISSING' },
    ]);
  });
});

describe("the scheduler's own pass", () => {
  it('reports again a service below its floor, so that room coming without a health change is seen', async () => {
    // One host with room for two tasks of 2048 CPU units; the service wants four (floor four).
    const { clock, ecs, healthy } = simulatedCluster(1, 5);
    ecs.createService({
      name: 'big',
      desiredCount: 4,
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      cpu: 2048,
      memory: 1024,
      startupSeconds: 10,
      stopSeconds: 30,
      staticHostPort: false,
      daemon: false,
    });
    await clock.run(100);
    const seen = () => healthy.filter((entry) => entry.service === 'big').map((entry) => entry.at);
    const before = seen().length;

    await clock.run(100 + 2 * SCHEDULER_PASS_SECONDS);

    // No task started or stopped, yet each pass said the service is still below its floor.
    expect(seen().length).toBeGreaterThanOrEqual(before + 2);
    expect(healthy.filter((entry) => entry.service === 'big').every((entry) => entry.count <= 2)).toBe(true);
  });
});
