import {
  type ContainerInstance,
  DEFAULT_EC2_NOTICE_SECONDS,
  type EcsOptions,
  SCHEDULER_PASS_SECONDS,
  type ServiceSpec,
  type Task,
} from '../../sim/ecs';
import { simulatedCluster } from '../helpers/ecs-model';

// A terminated EC2 instance: the agent disconnects at once, ECS notices later (ec2NoticeSeconds),
// then stops the tasks (TerminationNotice) and deregisters the container instance. An agent that
// is disconnected holds back everything only it can report.

function cluster(hosts: number, options: EcsOptions = {}) {
  const { clock, ecs, events, instances, call } = simulatedCluster(hosts, 11, options);
  const listInstances = () =>
    (call('ListContainerInstances', {}) as { containerInstanceArns: string[] }).containerInstanceArns;
  const describeInstance = (instance: ContainerInstance) =>
    (
      call('DescribeContainerInstances', { containerInstances: [instance.arn] }) as {
        containerInstances: { status: string; agentConnected: boolean; runningTasksCount: number }[];
      }
    ).containerInstances[0];
  // What these tests compare: the event as the agent's work shows it, without its version.
  const eventsOf = (tasks: Task[]) =>
    events
      .filter((event) => tasks.some((task) => task.arn === event.arn))
      .map(({ arn, at, lastStatus, desiredStatus, stopCode, stoppedReason }) => ({
        arn,
        at,
        lastStatus,
        desiredStatus,
        stopCode,
        stoppedReason,
      }));
  return { clock, ecs, events, instances, listInstances, describeInstance, eventsOf };
}

function service(changes: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    desiredCount: 4,
    minimumHealthyPercent: 0,
    maximumPercent: 100,
    cpu: 256,
    memory: 512,
    startupSeconds: 10,
    stopSeconds: 60,
    ...changes,
  };
}

const first = (instances: ContainerInstance[]) => instances[0] as ContainerInstance;

describe('EC2 termination as ECS notices it (ec2NoticeSeconds)', () => {
  it('has a default notice delay', () => {
    const { ecs } = cluster(1);
    expect(ecs.ec2NoticeSeconds).toBe(DEFAULT_EC2_NOTICE_SECONDS);
    expect(DEFAULT_EC2_NOTICE_SECONDS).toBeGreaterThanOrEqual(30);
  });

  it('disconnects the agent at once, and stops the tasks and deregisters the instance only when ECS notices', async () => {
    const notice = 40;
    const { clock, ecs, instances, listInstances, describeInstance, eventsOf } = cluster(2, {
      ec2NoticeSeconds: notice,
    });
    ecs.createService(service({ desiredCount: 4, minimumHealthyPercent: 50, maximumPercent: 200 }));
    await clock.run(300);
    const victim = first(instances);
    const tasks = [...victim.tasks];
    expect(tasks.length).toBeGreaterThan(0);
    const eventsBefore = eventsOf(tasks).length;

    ecs.ec2InstanceTerminated(victim.ec2InstanceId);
    await clock.run(300 + notice - 1);

    expect(describeInstance(victim)).toMatchObject({ status: 'ACTIVE', agentConnected: false });
    expect(listInstances()).toContain(victim.arn);
    expect(ecs.containerInstancesOf(victim.ec2InstanceId)).toEqual([victim]);
    expect(tasks.map((task) => task.lastStatus)).toEqual(tasks.map(() => 'RUNNING'));
    expect(eventsOf(tasks)).toHaveLength(eventsBefore);

    await clock.run(300 + notice);

    expect(tasks.map((task) => task.lastStatus)).toEqual(tasks.map(() => 'STOPPED'));
    const stopped = eventsOf(tasks).slice(eventsBefore);
    expect(stopped).toEqual(
      tasks.map((task) => ({
        arn: task.arn,
        at: 300 + notice,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'TerminationNotice',
        stoppedReason: `Host EC2 (instance ${victim.ec2InstanceId}) terminated.`,
      })),
    );
    expect(listInstances()).not.toContain(victim.arn);
    expect(describeInstance(victim)).toMatchObject({ status: 'INACTIVE', agentConnected: false });
    expect(ecs.containerInstancesOf(victim.ec2InstanceId)).toEqual([]);
    expect(ecs.updateContainerInstancesState([victim.arn], 'DRAINING').failures).toEqual([
      { arn: victim.arn, reason: 'MISSING' },
    ]);

    // Describable for one hour after deregistration, then gone.
    await clock.run(300 + notice + 3599);
    expect(describeInstance(victim)).toMatchObject({ status: 'INACTIVE' });
    await clock.run(300 + notice + 3601);
    expect(describeInstance(victim)).toBeUndefined();
  });

  it('places no replacement for the lost tasks before ECS notices', async () => {
    const notice = 60;
    const { clock, ecs, instances } = cluster(2, { ec2NoticeSeconds: notice });
    const web = ecs.createService(
      service({ desiredCount: 4, minimumHealthyPercent: 50, maximumPercent: 200 }),
    );
    await clock.run(300);
    const victim = first(instances);
    const survivor = instances[1] as ContainerInstance;
    const onSurvivor = survivor.tasks.size;

    ecs.ec2InstanceTerminated(victim.ec2InstanceId);
    await clock.run(300 + notice - 1);
    expect(survivor.tasks.size).toBe(onSurvivor);
    // The tasks on the terminated host no longer pass health checks.
    expect(web.healthyCount).toBe(onSurvivor);

    await clock.run(300 + notice + 60);
    expect(survivor.tasks.size).toBe(4);
  });
});

describe('a disconnected ECS agent', () => {
  it('gets no task placed on its instance, daemon tasks included, until it reconnects', async () => {
    const { clock, ecs, instances, describeInstance } = cluster(2);
    const cut = first(instances);
    ecs.disconnectAgent(cut.ec2InstanceId);
    ecs.createService(service({ name: 'agent', daemon: true, desiredCount: 0, stopSeconds: 5 }));
    ecs.createService(service({ desiredCount: 4 }));
    await clock.run(300);

    expect(describeInstance(cut)).toMatchObject({ status: 'ACTIVE', agentConnected: false });
    expect(cut.tasks.size).toBe(0);
    expect((instances[1] as ContainerInstance).tasks.size).toBe(5);

    ecs.reconnectAgent(cut.ec2InstanceId);
    await clock.run(320);
    expect([...cut.tasks].map((task) => task.group)).toEqual(['service:agent']);
  });

  it('holds back the stop of its tasks: desired STOPPED at once, no progress until it reconnects', async () => {
    const { clock, ecs, instances, describeInstance, eventsOf } = cluster(2);
    ecs.createService(service({ desiredCount: 2, stopSeconds: 60 }));
    await clock.run(300);
    const cut = first(instances);
    const tasks = [...cut.tasks];
    expect(tasks).toHaveLength(1);

    ecs.disconnectAgent(cut.ec2InstanceId);
    ecs.updateContainerInstancesState([cut.arn], 'DRAINING');
    await clock.run(2000);

    expect(describeInstance(cut)).toMatchObject({
      status: 'DRAINING',
      agentConnected: false,
      runningTasksCount: 0,
    });
    expect(tasks.map((task) => [task.desiredStatus, task.lastStatus])).toEqual([['STOPPED', 'RUNNING']]);
    expect(eventsOf(tasks).map((event) => [event.desiredStatus, event.lastStatus])).toEqual([
      ['RUNNING', 'PENDING'],
      ['RUNNING', 'RUNNING'],
      ['STOPPED', 'RUNNING'],
    ]);

    ecs.reconnectAgent(cut.ec2InstanceId);
    await clock.run(2100);

    expect(eventsOf(tasks).map((event) => event.lastStatus)).toEqual([
      'PENDING',
      'RUNNING',
      'RUNNING',
      'DEACTIVATING',
      'STOPPING',
      'STOPPED',
    ]);
    expect(eventsOf(tasks).find((event) => event.lastStatus === 'DEACTIVATING')?.at).toBe(2000);
    expect(tasks[0]?.stopCode).toBe('ServiceSchedulerInitiated');
  });

  it('has its service replace a task told to stop that cannot report, in the scheduler pass that follows', async () => {
    // maximumPercent 100: no replacement may start while the old task still wants to run. Told to
    // stop, it no longer counts, but its agent never reports it STOPPED: only the scheduler's own
    // pass, not an event, gives the service its task back.
    const { clock, ecs, instances } = cluster(2);
    const web = ecs.createService(
      service({ desiredCount: 2, minimumHealthyPercent: 50, maximumPercent: 100 }),
    );
    await clock.run(300);
    const cut = first(instances);
    ecs.disconnectAgent(cut.ec2InstanceId);
    ecs.updateContainerInstancesState([cut.arn], 'DRAINING');
    const wanting = () => [...web.tasks].filter((task) => task.desiredStatus === 'RUNNING').length;

    await clock.run(302);
    expect(wanting()).toBe(1);
    await clock.run(300 + SCHEDULER_PASS_SECONDS + 60);
    expect(wanting()).toBe(2);
    expect(web.healthyCount).toBe(2);
  });

  it('holds back a task that is already stopping at the step it had reached', async () => {
    const { clock, ecs, instances, eventsOf } = cluster(1);
    ecs.createService(service({ desiredCount: 1, stopSeconds: 100 }));
    await clock.run(300);
    const cut = first(instances);
    const task = [...cut.tasks][0] as Task;

    ecs.stopTask(task, 'UserInitiated', 'stopped by a test');
    ecs.disconnectAgent(cut.ec2InstanceId);
    await clock.run(1000);
    expect(task.lastStatus).toBe('DEACTIVATING');

    ecs.reconnectAgent(cut.ec2InstanceId);
    await clock.run(1100);
    expect(eventsOf([task]).map((event) => [event.lastStatus, event.at])).toEqual([
      ['PENDING', expect.any(Number)],
      ['RUNNING', expect.any(Number)],
      ['RUNNING', 300], // told to stop
      ['DEACTIVATING', 300],
      ['STOPPING', 1000],
      ['STOPPED', 1020],
    ]);
  });

  it('lets tasks told to stop reach STOPPED without the agent when the EC2 instance goes away', async () => {
    const notice = 30;
    const { clock, ecs, instances, eventsOf } = cluster(2, { ec2NoticeSeconds: notice });
    ecs.createService(service({ desiredCount: 2 }));
    await clock.run(300);
    const cut = first(instances);
    const tasks = [...cut.tasks];

    ecs.disconnectAgent(cut.ec2InstanceId);
    ecs.updateContainerInstancesState([cut.arn], 'DRAINING');
    await clock.run(1000);
    ecs.ec2InstanceTerminated(cut.ec2InstanceId);
    ecs.reconnectAgent(cut.ec2InstanceId); // too late: the host is gone
    await clock.run(1000 + notice);

    expect(eventsOf(tasks).map((event) => event.lastStatus)).toEqual([
      'PENDING',
      'RUNNING',
      'RUNNING',
      'STOPPED',
    ]);
    expect(tasks[0]).toMatchObject({ lastStatus: 'STOPPED', stoppedAt: 1000 + notice });
    expect(cut).toMatchObject({ status: 'INACTIVE', agentConnected: false });
  });

  it('emits no task event when the agent disconnects and reconnects with nothing to report', async () => {
    const { clock, ecs, events, instances, describeInstance } = cluster(1);
    ecs.createService(service({ desiredCount: 2 }));
    await clock.run(300);
    const instance = first(instances);
    const eventsBefore = events.length;
    const versionBefore = instance.version;

    ecs.disconnectAgent(instance.ec2InstanceId);
    ecs.disconnectAgent(instance.ec2InstanceId);
    await clock.run(400);
    ecs.reconnectAgent(instance.ec2InstanceId);
    ecs.reconnectAgent(instance.ec2InstanceId);
    await clock.run(500);

    expect(events).toHaveLength(eventsBefore);
    expect(instance.version).toBe(versionBefore + 2);
    expect(describeInstance(instance)).toMatchObject({ status: 'ACTIVE', agentConnected: true });
  });
});
