import {
  type ContainerInstanceView,
  decideHost,
  type DrainPolicy,
  type HostCommand,
  type HostSnapshot,
  HOOK_WAIT_STATES,
  type LifecycleView,
  QUIET_BEFORE_LOOK_MS,
  type Observation,
  tasksStillStopping,
  type TaskView,
  tasksWantingToRun,
  whyNoProgress,
} from '../../../shared/decisions/host';
import { INSTANCE_ID, testConfig } from '../../helpers/events';

const policy: DrainPolicy = { ...testConfig, path: 'event' }; // HeartbeatTimeout 1800 s: a heartbeat is due every 600 s
const T0 = Date.parse('2026-01-10T12:00:00Z');
const CI = 'arn:ci/1';

function instance(changes: Partial<ContainerInstanceView> = {}): ContainerInstanceView {
  return {
    arn: CI,
    ec2InstanceId: INSTANCE_ID,
    status: 'DRAINING',
    agentConnected: true,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    ...changes,
  };
}

function taskView(taskArn: string, lastStatus: string, changes: Partial<TaskView> = {}): TaskView {
  return { taskArn, containerInstanceArn: CI, lastStatus, version: 4, ...changes };
}

const waiting = (
  lifecycleState = 'Terminating:Wait',
  autoScalingGroupName = 'prod-ecs-asg',
): LifecycleView => ({
  autoScalingGroupName,
  lifecycleState,
});

/**
 * A host everything has been read about: one draining container instance with no task, siblings
 * looked up, its lifecycle action waiting on our hook. Each case changes what it is about.
 */
function host(changes: Partial<HostSnapshot> = {}): HostSnapshot {
  return {
    cluster: 'prod',
    ec2InstanceId: INSTANCE_ID,
    containerInstanceArns: [CI],
    containerInstances: [instance()],
    allContainerInstancesFound: true,
    tasksToldToStop: new Map([[CI, []]]),
    stoppedByEvents: [],
    lifecycle: waiting(),
    newestEventAt: T0,
    ...changes,
  };
}

/** What a host waking on a task event looks like before any read: only the container instance is named. */
function namedByEvent(changes: Partial<HostSnapshot> = {}): HostSnapshot {
  return {
    cluster: 'prod',
    containerInstanceArns: [CI],
    allContainerInstancesFound: false,
    tasksToldToStop: new Map(),
    stoppedByEvents: [],
    newestEventAt: T0,
    ...changes,
  };
}

const decide = (snapshot: HostSnapshot): HostCommand => decideHost(snapshot, policy);

/** Where a terminating hook holds an instance: terminating, or being stopped into a warm pool. */
const WAIT_STATES = ['Terminating:Wait', 'Warmed:Pending:Wait'];

it('knows the two states in which a terminating hook holds an instance', () => {
  expect([...HOOK_WAIT_STATES].sort()).toEqual([...WAIT_STATES].sort());
});

describe('decideHost', () => {
  describe('what to read next', () => {
    it.each<[string, Observation[], HostSnapshot]>([
      ['a host named by a task event, nothing read', ['container-instances'], namedByEvent()],
      [
        'a host known only by its EC2 instance id (a lifecycle notification)',
        ['all-container-instances'],
        host({ containerInstanceArns: [], containerInstances: undefined, allContainerInstancesFound: false }),
      ],
      [
        'a draining host with no task wanting to run whose stopping tasks are not listed',
        ['stopping-tasks'],
        host({ tasksToldToStop: new Map() }),
      ],
      [
        'a host whose sibling container instance has no stopping tasks listed yet',
        ['stopping-tasks'],
        host({
          containerInstances: [instance(), instance({ arn: 'arn:ci/sibling' })],
          tasksToldToStop: new Map([[CI, []]]),
        }),
      ],
      [
        'an empty host, siblings not looked up, lifecycle unknown (both read together)',
        ['all-container-instances', 'lifecycle'],
        host({ allContainerInstancesFound: false, lifecycle: undefined }),
      ],
      [
        'an empty host, siblings not looked up, lifecycle known from the notification',
        ['all-container-instances'],
        host({ allContainerInstancesFound: false }),
      ],
      [
        'an empty host with every sibling found, lifecycle unknown',
        ['lifecycle'],
        host({ lifecycle: undefined }),
      ],
      [
        'a host with no container instance left, siblings not looked up',
        ['all-container-instances'],
        host({ containerInstances: [instance({ status: 'INACTIVE' })], allContainerInstancesFound: false }),
      ],
      [
        'a host with no container instance left, lifecycle unknown',
        ['lifecycle'],
        host({ containerInstances: [], lifecycle: undefined }),
      ],
    ])('%s: reads %j', (_case, what, snapshot) => {
      expect(decide(snapshot)).toEqual({ kind: 'read', what });
    });

    it('lists stopping tasks together with the siblings and the lifecycle: a hand-back waits for one round of reads', () => {
      const snapshot = host({
        tasksToldToStop: new Map(),
        allContainerInstancesFound: false,
        lifecycle: undefined,
      });

      expect(decide(snapshot)).toEqual({
        kind: 'read',
        what: ['stopping-tasks', 'all-container-instances', 'lifecycle'],
      });
    });

    it('asks for the siblings and the lifecycle state of an empty-looking host in one read, not one after the other', () => {
      const snapshot = host({
        tasksToldToStop: new Map([[CI, [taskView('arn:task/done', 'STOPPED')]]]),
        allContainerInstancesFound: false,
        lifecycle: undefined,
      });

      const command = decide(snapshot);

      expect(command.kind === 'read' && [...command.what].sort()).toEqual([
        'all-container-instances',
        'lifecycle',
      ]);
    });

    it('reads no lifecycle state for a host that still runs tasks: a heartbeat refused is harmless', () => {
      const snapshot = host({
        containerInstances: [instance({ runningTasksCount: 2 })],
        lifecycle: undefined,
      });

      expect(decide(snapshot).kind).toBe('heartbeat');
    });
  });

  describe('tasks events report as told to stop', () => {
    const told = (taskArn: string, version = 3) => ({ taskArn, version, emittedAt: T0 - 2000 });
    // A host whose last task wanting to run was just told to stop: nothing listed yet.
    const announced = (changes: Partial<HostSnapshot> = {}) =>
      host({ tasksToldToStop: new Map(), stoppingByEvents: [told('arn:task/daemon')], ...changes });

    it('first describes them, a hundred per call over the batch, instead of listing the host', () => {
      expect(decide(announced())).toEqual({ kind: 'read', what: ['tasks-told-to-stop'] });
    });

    it('lists nothing while one has not stopped: its STOPPED event will look at the host again', () => {
      const command = decide(
        announced({
          stoppingByEventsRead: [taskView('arn:task/daemon', 'STOPPING')],
          containerInstances: [instance({ drainStartedAt: T0 - 10_000 })],
        }),
      );

      expect(command).toMatchObject({ kind: 'none', reason: expect.stringContaining('STOPPED event') });
      expect(command.kind === 'none' && command.progress?.tasksStopping).toHaveLength(1);
    });

    it('still keeps a long drain alive while it waits for that event', () => {
      const command = decide(
        announced({
          stoppingByEventsRead: [taskView('arn:task/daemon', 'RUNNING')],
          containerInstances: [instance({ drainStartedAt: T0 - 1_000_000 })],
        }),
      );

      expect(command.kind).toBe('heartbeat');
    });

    it.each<[string, Partial<HostSnapshot>]>([
      [
        'ECS shows it STOPPED (its STOPPED event went elsewhere, or comes later)',
        { stoppingByEventsRead: [taskView('arn:task/daemon', 'STOPPED')] },
      ],
      [
        'its STOPPED event is in the same batch',
        {
          stoppedByEvents: [{ taskArn: 'arn:task/daemon', version: 5 }],
          stoppingByEventsRead: undefined,
        },
      ],
    ])('lists the host once the announced task has stopped: %s', (_case, changes) => {
      expect(decide(announced(changes))).toEqual({
        kind: 'read',
        what: ['stopping-tasks'],
      });
    });

    it('never completes on an announcement alone: a task never announced may still be stopping', () => {
      const command = decide(announced({ stoppingByEventsRead: [taskView('arn:task/daemon', 'STOPPED')] }));

      expect(command.kind).toBe('read');
    });

    it('is not how the reconciler decides: it has no events', () => {
      const command = decideHost(
        announced({
          containerInstances: [instance({ drainStartedAt: T0 - 10 * 60_000 })],
          observedAt: T0,
          quietSince: T0 - QUIET_BEFORE_LOOK_MS,
        }),
        { ...policy, path: 'reconciler' },
      );

      expect(command).toEqual({ kind: 'read', what: ['stopping-tasks'] });
    });
  });

  describe('hosts that are not draining', () => {
    it.each<[string, Partial<HostSnapshot>]>([
      [
        'ACTIVE, lifecycle unknown',
        { containerInstances: [instance({ status: 'ACTIVE', runningTasksCount: 3 })] },
      ],
      ['REGISTERING', { containerInstances: [instance({ status: 'REGISTERING' })] }],
    ])('does nothing, quietly, for a container instance %s', (_case, changes) => {
      expect(decide(host({ lifecycle: undefined, ...changes }))).toEqual({
        kind: 'none',
        reason: expect.stringContaining('not draining'),
        quiet: true,
      });
    });

    it('does nothing, quietly, for an ACTIVE instance in service', () => {
      const snapshot = host({
        containerInstances: [instance({ status: 'ACTIVE' })],
        lifecycle: waiting('InService'),
      });

      expect(decide(snapshot)).toMatchObject({ kind: 'none', quiet: true });
    });

    it('does nothing for a container instance unknown to ECS (deregistered long ago)', () => {
      expect(decide(namedByEvent({ containerInstances: [] }))).toEqual({
        kind: 'none',
        reason: 'container instance is unknown to ECS',
      });
    });
  });

  describe('starting a drain', () => {
    it.each(WAIT_STATES)('drains the ACTIVE container instances of a host in %s', (state) => {
      const snapshot = host({
        containerInstances: [
          instance({ arn: 'arn:ci/active', status: 'ACTIVE', runningTasksCount: 2 }),
          instance({ arn: 'arn:ci/draining' }),
          instance({ arn: 'arn:ci/registering', status: 'REGISTERING' }),
          instance({ arn: 'arn:ci/gone', status: 'INACTIVE' }),
        ],
        lifecycle: waiting(state),
      });

      expect(decide(snapshot)).toEqual({
        kind: 'drain',
        containerInstanceArns: ['arn:ci/active'],
        reason: expect.any(String),
      });
    });

    it('never drains for a lifecycle action of another group, or one that no longer waits', () => {
      for (const lifecycle of [
        waiting('Terminating:Wait', 'web-asg'),
        waiting('Terminating:Proceed'),
        null,
      ]) {
        const snapshot = host({ containerInstances: [instance({ status: 'ACTIVE' })], lifecycle });

        expect(decide(snapshot).kind).toBe('none');
      }
    });
  });

  describe('a draining host with tasks left', () => {
    const busy = (changes: Partial<HostSnapshot> = {}) =>
      host({ containerInstances: [instance({ runningTasksCount: 2, pendingTasksCount: 1 })], ...changes });

    it('records a heartbeat when none is known, with the progress of the drain', () => {
      expect(decide(busy())).toEqual({
        kind: 'heartbeat',
        reason: expect.any(String),
        progress: { tasksWantingToRun: 3, tasksStopping: [], agentDisconnected: [] },
      });
    });

    it.each<[string, HostCommand['kind'], number | undefined]>([
      ['none recorded yet', 'heartbeat', undefined],
      ['recorded 599 s before the event', 'none', T0 - 599_000],
      ['recorded a third of the timeout (600 s) before the event', 'heartbeat', T0 - 600_000],
      ['recorded 60 s after the event (a late event)', 'none', T0 + 60_000],
      ['recorded an hour after the event', 'heartbeat', T0 + 3_600_000],
    ])('paces heartbeats by event time: last heartbeat %s -> %s', (_case, kind, lastHeartbeatAt) => {
      const command = decide(busy({ lastHeartbeatAt }));

      expect(command.kind).toBe(kind);
      if (command.kind === 'none') {
        expect(command).toMatchObject({
          reason: expect.stringContaining('the hook timer restarted recently'),
          progress: { tasksWantingToRun: 3 },
        });
      }
    });

    describe('counting from the start of the drain (drainStartedAt, from the container instance attribute)', () => {
      const startedAt = (drainStartedAt: number, changes: Partial<HostSnapshot> = {}) =>
        host({
          containerInstances: [instance({ runningTasksCount: 2, pendingTasksCount: 1, drainStartedAt })],
          ...changes,
        });

      it.each<[string, HostCommand['kind'], number]>([
        ['599 s before the event', 'none', T0 - 599_000],
        ['a third of the timeout (600 s) before the event', 'heartbeat', T0 - 600_000],
      ])('with no heartbeat known, a drain started %s -> %s', (_case, kind, drainStartedAt) => {
        expect(decide(startedAt(drainStartedAt)).kind).toBe(kind);
      });

      it.each<[string, HostCommand['kind'], number, number]>([
        ['an old heartbeat, a recent drain start', 'none', T0 - 700_000, T0 - 100_000],
        ['a recent heartbeat, an old drain start', 'none', T0 - 100_000, T0 - 700_000],
        ['both a third of the timeout ago or more', 'heartbeat', T0 - 600_000, T0 - 900_000],
      ])('counts from the later of the two: %s -> %s', (_case, kind, lastHeartbeatAt, drainStartedAt) => {
        expect(decide(startedAt(drainStartedAt, { lastHeartbeatAt })).kind).toBe(kind);
      });

      it('restarts no timer for a container instance drained after the host: counts from the earliest drain start', () => {
        // The notification started the hook's timer 1300 s ago. A container instance that registered
        // during the drain was drained 100 s ago: that restarted no timer, so a heartbeat is due.
        const snapshot = host({
          containerInstances: [
            instance({ drainStartedAt: T0 - 1_300_000 }),
            instance({ arn: 'arn:ci/newcomer', runningTasksCount: 2, drainStartedAt: T0 - 100_000 }),
          ],
        });

        expect(decide(snapshot).kind).toBe('heartbeat');
      });
    });

    it('records a heartbeat when the newest event time is unknown', () => {
      expect(decide(busy({ newestEventAt: undefined, lastHeartbeatAt: T0 })).kind).toBe('heartbeat');
    });

    it('counts pending tasks as tasks wanting to run', () => {
      const snapshot = host({
        containerInstances: [instance({ pendingTasksCount: 1 })],
        tasksToldToStop: new Map(),
      });

      expect(decide(snapshot)).toMatchObject({ kind: 'heartbeat', progress: { tasksWantingToRun: 1 } });
    });

    it.each<[string, LifecycleView | null]>([
      ['in no Auto Scaling group (drained by hand)', null],
      ['of another Auto Scaling group', waiting('Terminating:Wait', 'web-asg')],
      ['in service', waiting('InService')],
    ])('does not heartbeat for an instance %s', (_case, lifecycle) => {
      expect(decide(busy({ lifecycle }))).toMatchObject({
        kind: 'none',
        reason: expect.stringContaining('tasks remain'),
        progress: { tasksWantingToRun: 3 },
      });
    });

    it('keeps the drain alive while a task told to stop is still stopping', () => {
      const slow = taskView('arn:task/slow', 'DEACTIVATING', { group: 'service:web' });
      const snapshot = host({
        tasksToldToStop: new Map([[CI, [taskView('arn:task/done', 'STOPPED'), slow]]]),
        containerInstances: [instance({ agentConnected: false })],
      });

      expect(decide(snapshot)).toEqual({
        kind: 'heartbeat',
        reason: expect.any(String),
        progress: { tasksWantingToRun: 0, tasksStopping: [slow], agentDisconnected: [CI] },
      });
    });

    it('keeps the drain alive while a sibling container instance still has a task stopping', () => {
      const snapshot = host({
        containerInstances: [instance(), instance({ arn: 'arn:ci/sibling' })],
        tasksToldToStop: new Map([
          [CI, []],
          [
            'arn:ci/sibling',
            [taskView('arn:task/sib', 'STOPPING', { containerInstanceArn: 'arn:ci/sibling' })],
          ],
        ]),
      });

      expect(decide(snapshot).kind).toBe('heartbeat');
    });

    it('keeps the drain alive while a sibling container instance still runs tasks', () => {
      const snapshot = host({
        containerInstances: [instance(), instance({ arn: 'arn:ci/sibling', runningTasksCount: 1 })],
      });

      expect(decide(snapshot)).toMatchObject({ kind: 'heartbeat', progress: { tasksWantingToRun: 1 } });
    });

    it('trusts a task event over a lagging read of the same task', () => {
      const snapshot = host({
        tasksToldToStop: new Map([[CI, [taskView('arn:task/a', 'DEACTIVATING', { version: 4 })]]]),
        stoppedByEvents: [{ taskArn: 'arn:task/a', version: 5 }],
      });

      expect(decide(snapshot).kind).toBe('complete');
    });
  });

  describe('an empty host', () => {
    it.each(WAIT_STATES)('completes when our lifecycle action waits in %s', (state) => {
      expect(decide(host({ lifecycle: waiting(state) }))).toEqual({
        kind: 'complete',
        reason: 'no task left on the host',
      });
    });

    it.each<[string, LifecycleView | null, string]>([
      ['in no Auto Scaling group (drained by hand)', null, 'in no Auto Scaling group'],
      ['in service', waiting('InService'), 'InService'],
      ['already let go (Terminating:Proceed)', waiting('Terminating:Proceed'), 'Terminating:Proceed'],
      ['of another Auto Scaling group', waiting('Terminating:Wait', 'web-asg'), 'web-asg'],
    ])('does nothing for an instance %s, and says why', (_case, lifecycle, why) => {
      expect(decide(host({ lifecycle }))).toEqual({
        kind: 'none',
        reason: expect.stringMatching(new RegExp(`^host is empty but .*${why}`)),
      });
    });

    it('ignores INACTIVE container instances: a deregistered one holds no task', () => {
      const snapshot = host({
        containerInstances: [
          instance(),
          instance({ arn: 'arn:ci/old', status: 'INACTIVE', runningTasksCount: 4 }),
        ],
      });

      expect(decide(snapshot).kind).toBe('complete');
    });
  });

  describe('a host with no container instance left', () => {
    it.each(WAIT_STATES)('completes when our lifecycle action waits in %s: nothing to drain', (state) => {
      expect(decide(host({ containerInstances: [], lifecycle: waiting(state) }))).toEqual({
        kind: 'complete',
        reason: expect.stringContaining('nothing to drain'),
      });
    });

    it('does nothing when no action of ours waits', () => {
      expect(
        decide(host({ containerInstances: [instance({ status: 'INACTIVE' })], lifecycle: null })),
      ).toEqual({
        kind: 'none',
        reason: expect.stringContaining('no container instance left'),
      });
    });
  });
});

describe('tasksWantingToRun', () => {
  it('adds running (by desired status) and pending tasks', () => {
    expect(tasksWantingToRun(instance({ runningTasksCount: 2, pendingTasksCount: 3 }))).toBe(5);
    expect(tasksWantingToRun(instance())).toBe(0);
  });
});

describe('tasksStillStopping', () => {
  const stopping = taskView('arn:task/a', 'DEACTIVATING', { version: 4 });
  const stopped = taskView('arn:task/b', 'STOPPED', { version: 6 });

  it('keeps every task whose own lastStatus is not STOPPED', () => {
    const tasks = [stopping, stopped, taskView('arn:task/c', 'STOPPING', { version: 2 })];

    expect(tasksStillStopping(tasks).map((task) => task.taskArn)).toEqual(['arn:task/a', 'arn:task/c']);
  });

  it('counts a task an event reported STOPPED as stopped when the read lags behind the event', () => {
    expect(tasksStillStopping([stopping], [{ taskArn: 'arn:task/a', version: 5 }])).toEqual([]);
    expect(tasksStillStopping([stopping], [{ taskArn: 'arn:task/a', version: 4 }])).toEqual([]);
    expect(tasksStillStopping([stopping], [{ taskArn: 'arn:task/a', version: undefined }])).toEqual([]);
  });

  it('believes the read when it is newer than the event', () => {
    expect(tasksStillStopping([stopping], [{ taskArn: 'arn:task/a', version: 3 }])).toEqual([stopping]);
  });

  it('does not let an event vouch for any other task', () => {
    expect(tasksStillStopping([stopping], [{ taskArn: 'arn:task/z', version: 99 }])).toEqual([stopping]);
  });
});

describe('decideHost when the read contradicts the events', () => {
  const stoppedByDrain = { taskArn: 'arn:task/a', version: 6, emittedAt: T0, stoppedByDrain: true };

  it('asks for another look at an instance read as ACTIVE when an event just said it was draining', () => {
    const command = decide(
      namedByEvent({
        ec2InstanceId: INSTANCE_ID,
        containerInstances: [instance({ status: 'ACTIVE', runningTasksCount: 2 })],
        stoppedByEvents: [stoppedByDrain],
        observedAt: T0 + 3_000,
      }),
    );

    expect(command.kind).toBe('retry');
  });

  it('takes an old event for what it is: no second look, a quiet nothing', () => {
    const command = decide(
      namedByEvent({
        ec2InstanceId: INSTANCE_ID,
        containerInstances: [instance({ status: 'ACTIVE', runningTasksCount: 2 })],
        stoppedByEvents: [stoppedByDrain],
        observedAt: T0 + 120_000,
      }),
    );

    expect(command).toEqual(expect.objectContaining({ kind: 'none', quiet: true }));
  });

  it('needs the stop reason to name a drain: a task that exited on an ACTIVE instance proves nothing', () => {
    const command = decide(
      namedByEvent({
        ec2InstanceId: INSTANCE_ID,
        containerInstances: [instance({ status: 'ACTIVE', runningTasksCount: 2 })],
        stoppedByEvents: [{ ...stoppedByDrain, stoppedByDrain: false }],
        observedAt: T0 + 3_000,
      }),
    );

    expect(command.kind).toBe('none');
  });
});

describe('decideHost with a remembered list of stopping tasks', () => {
  it('lists the tasks afresh before completing, never on memory alone', () => {
    const remembered = host({
      tasksToldToStop: new Map([[CI, [taskView('arn:task/a', 'STOPPED')]]]),
      rememberedLists: new Set([CI]),
    });

    expect(decide(remembered)).toEqual({ kind: 'read', what: ['fresh-stopping-tasks'] });
    expect(decide({ ...remembered, rememberedLists: new Set() }).kind).toBe('complete');
  });

  it('waits on a remembered list without listing again while a task on it is still stopping', () => {
    const command = decide(
      host({
        tasksToldToStop: new Map([[CI, [taskView('arn:task/a', 'DEACTIVATING')]]]),
        rememberedLists: new Set([CI]),
        lastHeartbeatAt: T0,
      }),
    );

    expect(command.kind).toBe('none');
  });
});

describe('decideHost: deadlines, task policies and the reconciler', () => {
  const MINUTE = 60_000;
  const reconciler: DrainPolicy = { ...policy, path: 'reconciler' };
  /** A drain of ours that started `minutes` ago, with tasks that still want to run. */
  const longDrain = (minutes: number, changes: Partial<HostSnapshot> = {}) =>
    host({
      containerInstances: [instance({ runningTasksCount: 2, drainStartedAt: T0 - minutes * MINUTE })],
      tasksToldToStop: new Map(),
      observedAt: T0,
      newestEventAt: T0,
      ...changes,
    });
  const running = (...tasks: Partial<TaskView>[]) =>
    tasks.map((task, n) => taskView(`task/${n}`, 'RUNNING', task));

  it('lets the instance go at the deadline with DeadlineAction continue, on every path, with one alert', () => {
    const listed = { tasksWantingToRunListed: running({ group: 'service:web' }) };
    for (const path of ['event', 'reconciler'] as const) {
      const command = decideHost(longDrain(61, listed), { ...policy, path });
      expect(command).toMatchObject({ kind: 'complete', deadline: 'continue', alert: { key: 'deadline' } });
    }
    // The reconciler first reads what it lets go with, so that the alert names it.
    expect(decideHost(longDrain(61), reconciler)).toEqual({ kind: 'read', what: ['running-tasks'] });
    expect(decideHost(longDrain(59), { ...policy, path: 'event' }).kind).not.toBe('complete');
  });

  it('sends the deadline alert once per drain: the keys already sent are kept on the container instance', () => {
    const alerted = longDrain(61, {
      containerInstances: [
        instance({ runningTasksCount: 2, drainStartedAt: T0 - 61 * MINUTE, alertsSent: ['deadline'] }),
      ],
      tasksWantingToRunListed: running({ group: 'service:web' }),
    });
    const command = decideHost(alerted, reconciler);
    expect(command.kind).toBe('complete');
    expect('alert' in command && command.alert).toBeFalsy();
  });

  it('leaves stopping tasks and reading services to the reconciler: the other paths hold no right to', () => {
    const everyPolicy: Partial<DrainPolicy> = {
      deadlineAction: 'stop-tasks',
      standaloneTasks: 'stop',
      standaloneGraceSeconds: 60,
      daemonGraceSeconds: 60,
    };
    const snapshots = [
      longDrain(61),
      longDrain(61, { tasksWantingToRunListed: running({ group: 'family:nightly' }) }),
      longDrain(20, {
        containerInstances: [instance({ runningTasksCount: 1, drainStartedAt: T0 - 20 * MINUTE })],
        tasksWantingToRunListed: running({ group: 'service:logs', daemon: true }),
      }),
    ];
    for (const path of ['start', 'event'] as const) {
      for (const snapshot of snapshots) {
        const command = decideHost(snapshot, { ...policy, ...everyPolicy, path });
        expect(command.kind).not.toBe('stop-tasks');
        if (command.kind === 'read') expect(command.what).not.toContain('running-tasks');
      }
    }
    // The same snapshots do make the reconciler act: the check above is not vacuous.
    const acted = snapshots.map((snapshot) => decideHost(snapshot, { ...reconciler, ...everyPolicy }).kind);
    expect(acted).toContain('stop-tasks');
  });

  it('stops the tasks that still run at the deadline with stop-tasks, never the daemon tasks', () => {
    const stopping: DrainPolicy = { ...reconciler, deadlineAction: 'stop-tasks' };
    expect(decideHost(longDrain(61), stopping)).toEqual({ kind: 'read', what: ['running-tasks'] });
    const command = decideHost(
      longDrain(61, {
        tasksWantingToRunListed: running({ group: 'service:web' }, { group: 'service:logs', daemon: true }),
      }),
      stopping,
    );
    expect(command).toMatchObject({ kind: 'stop-tasks', taskArns: ['task/0'], deadline: 'stop-tasks' });
  });

  it('alerts again about a later drain of the same instance: the record of an earlier drain does not silence it', () => {
    const waitingPolicy: DrainPolicy = { ...reconciler, deadlineAction: 'keep-waiting' };
    const drainStart = T0 - 61 * MINUTE;
    const recorded = (alertsForDrainStartedAt?: number) =>
      longDrain(61, {
        containerInstances: [
          instance({
            runningTasksCount: 2,
            drainStartedAt: drainStart,
            alertsSent: ['deadline'],
            ...(alertsForDrainStartedAt !== undefined && { alertsForDrainStartedAt }),
          }),
        ],
        tasksWantingToRunListed: running({ group: 'service:web' }),
      });
    // Said about this drain (or by a record that names no drain): not said again.
    expect(decideHost(recorded(drainStart), waitingPolicy)).not.toHaveProperty('alert');
    expect(decideHost(recorded(), waitingPolicy)).not.toHaveProperty('alert');
    // Said about a drain of a week ago: this drain's deadline is news.
    expect(decideHost(recorded(drainStart - 7 * 24 * 60 * MINUTE), waitingPolicy)).toMatchObject({
      alert: { key: 'deadline' },
    });
  });

  it('keeps waiting past the deadline with keep-waiting, and says so once', () => {
    const waitingPolicy: DrainPolicy = { ...reconciler, deadlineAction: 'keep-waiting' };
    const command = decideHost(
      longDrain(61, { tasksWantingToRunListed: running({ group: 'service:web' }) }),
      waitingPolicy,
    );
    expect(command).toMatchObject({ kind: 'heartbeat', alert: { key: 'deadline' } });
    expect('alert' in command && command.alert?.summary).toContain('service:web'.slice(8));
  });

  it('stops standalone tasks after their grace when the policy says stop, and waits for them otherwise', () => {
    const tasks = running({ group: 'family:nightly-job' });
    const stop: DrainPolicy = { ...reconciler, standaloneTasks: 'stop', standaloneGraceSeconds: 600 };
    expect(decideHost(longDrain(11, { tasksWantingToRunListed: tasks }), stop)).toMatchObject({
      kind: 'stop-tasks',
      taskArns: ['task/0'],
    });
    expect(decideHost(longDrain(9, { tasksWantingToRunListed: tasks }), stop).kind).not.toBe('stop-tasks');
    expect(decideHost(longDrain(11, { tasksWantingToRunListed: tasks }), reconciler).kind).not.toBe(
      'stop-tasks',
    );
  });

  it('stops daemon tasks left alone a daemon grace after the other tasks stopped, reading only what it needs', () => {
    // Eleven minutes into the drain, one task (the daemon) still wants to run: a look is due.
    const daemonOnly = (changes: Partial<HostSnapshot> = {}) =>
      longDrain(11, {
        containerInstances: [instance({ runningTasksCount: 1, drainStartedAt: T0 - 11 * MINUTE })],
        ...changes,
      });
    expect(decideHost(daemonOnly(), reconciler)).toEqual({ kind: 'read', what: ['running-tasks'] });
    const listed = { tasksWantingToRunListed: running({ group: 'service:logs', daemon: true }) };
    expect(decideHost(daemonOnly(listed), reconciler)).toEqual({ kind: 'read', what: ['stopping-tasks'] });

    const stopped = (minutesAgo: number) =>
      new Map([[CI, [taskView('task/web', 'STOPPED', { stoppedAt: T0 - minutesAgo * MINUTE })]]]);
    expect(decideHost(daemonOnly({ ...listed, tasksToldToStop: stopped(3) }), reconciler)).toMatchObject({
      kind: 'stop-tasks',
      taskArns: ['task/0'],
    });
    // Within the grace after the last other task stopped, and while one is still stopping: left alone.
    expect(decideHost(daemonOnly({ ...listed, tasksToldToStop: stopped(1) }), reconciler).kind).not.toBe(
      'stop-tasks',
    );
    const stopping = new Map([[CI, [taskView('task/web', 'RUNNING')]]]);
    expect(decideHost(daemonOnly({ ...listed, tasksToldToStop: stopping }), reconciler).kind).not.toBe(
      'stop-tasks',
    );
    // Many tasks still want to run: not daemon tasks alone, no read for them.
    const busy = longDrain(11, {
      containerInstances: [instance({ runningTasksCount: 8, drainStartedAt: T0 - 11 * MINUTE })],
    });
    expect(decideHost(busy, reconciler).kind).not.toBe('read');
    // Before LONE_DAEMON_LOOK_AFTER_MS, no look: ECS stops daemon tasks itself seconds after the others.
    const young = longDrain(5, {
      containerInstances: [instance({ runningTasksCount: 1, drainStartedAt: T0 - 5 * MINUTE })],
    });
    expect(decideHost(young, reconciler).kind).not.toBe('read');
  });

  it('stops only the standalone tasks after their grace, never the service tasks beside them', () => {
    const stop: DrainPolicy = { ...reconciler, standaloneTasks: 'stop', standaloneGraceSeconds: 600 };
    const mixed = running({ group: 'family:nightly-job' }, { group: 'service:web' });
    expect(decideHost(longDrain(11, { tasksWantingToRunListed: mixed }), stop)).toMatchObject({
      kind: 'stop-tasks',
      taskArns: ['task/0'],
    });
  });

  it('sends the deadline alert while tasks are still stopping (keep-waiting), and only once', () => {
    const waitingPolicy: DrainPolicy = { ...reconciler, deadlineAction: 'keep-waiting' };
    const stoppingHost = (alertsSent?: string[]) =>
      host({
        containerInstances: [
          instance({ drainStartedAt: T0 - 61 * MINUTE, ...(alertsSent && { alertsSent }) }),
        ],
        tasksToldToStop: new Map([[CI, [taskView('task/slow', 'RUNNING')]]]),
        observedAt: T0,
      });
    expect(decideHost(stoppingHost(), waitingPolicy)).toMatchObject({ alert: { key: 'deadline' } });
    expect(decideHost(stoppingHost(['deadline']), waitingPolicy)).not.toHaveProperty('alert');
  });

  it('does not call an event lost when the reconciler merely finishes first, seconds after the last stop', () => {
    const justStopped = host({
      containerInstances: [instance({ drainStartedAt: T0 - 5 * MINUTE })],
      tasksToldToStop: new Map([[CI, [taskView('task/9', 'STOPPED', { stoppedAt: T0 - 5_000 })]]]),
      observedAt: T0,
    });
    expect(decideHost(justStopped, reconciler)).toEqual({
      kind: 'complete',
      reason: 'no task left on the host',
    });
  });

  it("does not take a served group's action for a host of another cluster", () => {
    const twoClusters: DrainPolicy = {
      ...reconciler,
      groups: [...reconciler.groups, { autoScalingGroupName: 'batch-asg', cluster: 'batch' }],
    };
    expect(
      decideHost(host({ lifecycle: waiting('Terminating:Wait', 'batch-asg') }), twoClusters),
    ).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('not served for this cluster'),
    });
  });

  it('alerts once about a drain past half its deadline, naming what holds it', () => {
    const command = decideHost(
      longDrain(31, {
        tasksWantingToRunListed: running({ group: 'family:report' }, { group: 'service:web' }),
      }),
      reconciler,
    );
    expect(command).toMatchObject({ alert: { key: 'cannot-progress' } });
    const summary = ('alert' in command && command.alert?.summary) || '';
    expect(summary).toMatch(/1 standalone task/);
    expect(summary).toMatch(/web: 1/);
  });

  it('reads what runs only on the reconciler path: the event paths keep long drains alive without it', () => {
    expect(decideHost(longDrain(31), { ...policy, path: 'event' }).kind).toBe('heartbeat');
    expect(decideHost(longDrain(31), reconciler)).toEqual({ kind: 'read', what: ['running-tasks'] });
  });

  it('leaves young drains to the task events, and finishes older ones whose last event was lost, saying so', () => {
    const empty = (minutes: number, quietSince: number | null = T0 - QUIET_BEFORE_LOOK_MS) =>
      host({
        containerInstances: [instance({ drainStartedAt: T0 - minutes * MINUTE })],
        tasksToldToStop: new Map(),
        observedAt: T0,
        ...(quietSince !== null && { quietSince }),
      });
    expect(decideHost(empty(1), reconciler)).toMatchObject({ kind: 'none' });
    expect(decideHost(empty(5), reconciler)).toEqual({ kind: 'read', what: ['stopping-tasks'] });
    // An old drain that has just run out of tasks, or whose tasks have been stopping for a few
    // minutes (behind a load balancer): its last events are on their way. Quiet for longer than
    // tasks take to stop, it may be one whose last event was lost.
    for (const quietSince of [null, T0, T0 - 10_000, T0 - MINUTE, T0 - QUIET_BEFORE_LOOK_MS + 1]) {
      // Kept alive (a heartbeat when one is due), neither listed nor completed.
      expect(['none', 'heartbeat']).toContain(decideHost(empty(5, quietSince), reconciler).kind);
    }
    const listed = host({
      containerInstances: [instance({ drainStartedAt: T0 - 5 * MINUTE })],
      tasksToldToStop: new Map([[CI, [taskView('task/9', 'STOPPED', { stoppedAt: T0 - 3 * MINUTE })]]]),
      observedAt: T0,
      quietSince: T0 - MINUTE,
      // Held by our hook all through its drain, as the reconciler's listing of held instances says.
      heldSince: T0 - 5 * MINUTE,
    });
    expect(decideHost(listed, reconciler)).toMatchObject({ kind: 'complete', alert: { key: 'lost-event' } });
    expect(decideHost(listed, policy)).toEqual({ kind: 'complete', reason: 'no task left on the host' });
    // Held by our hook only after it was seen empty (a blue/green standby instance being retired):
    // no event was due, so none was lost.
    const retired = { ...listed, heldSince: T0 - 30_000, quietSince: T0 - 20 * MINUTE };
    expect(decideHost(retired, reconciler)).toEqual({ kind: 'complete', reason: 'no task left on the host' });
    // Held only since this run (not yet in its listing of held instances), quiet since an earlier one.
    const justHeld = { ...retired, heldSince: undefined };
    expect(decideHost(justHeld, reconciler)).toEqual({
      kind: 'complete',
      reason: 'no task left on the host',
    });
    // Seen empty in the same run that first saw it held: the lost event stands.
    expect(decideHost({ ...listed, heldSince: T0 - MINUTE }, reconciler)).toMatchObject({
      alert: { key: 'lost-event' },
    });
  });

  it('has the reconciler look up every container instance of a quiet host only once its list shows it empty', () => {
    const quiet = (tasks?: TaskView[]) =>
      host({
        containerInstances: [instance({ drainStartedAt: T0 - 5 * MINUTE })],
        allContainerInstancesFound: false,
        tasksToldToStop: tasks === undefined ? new Map() : new Map([[CI, tasks]]),
        observedAt: T0,
        quietSince: T0 - QUIET_BEFORE_LOOK_MS,
      });
    // Its tasks mostly still stop (listed each run): the list alone, no ListContainerInstances with it.
    expect(decideHost(quiet(), reconciler)).toEqual({ kind: 'read', what: ['stopping-tasks'] });
    expect(decideHost(quiet([taskView('task/9', 'RUNNING')]), reconciler).kind).not.toBe('read');
    // Empty: every container instance of the EC2 instance is looked up before it is let go.
    expect(decideHost(quiet([taskView('task/9', 'STOPPED')]), reconciler)).toEqual({
      kind: 'read',
      what: ['all-container-instances'],
    });
    // The event path reads them with its last list, in one round: its hand-back waits on it.
    const named = { ...quiet(), lifecycle: undefined };
    expect(decideHost(named, policy)).toEqual({
      kind: 'read',
      what: ['stopping-tasks', 'all-container-instances', 'lifecycle'],
    });
  });

  it('starts a drain whose notification was lost only once the instance waited a run, and alerts', () => {
    const held = (heldFor: number) =>
      host({
        containerInstances: [instance({ status: 'ACTIVE', runningTasksCount: 3 })],
        observedAt: T0,
        heldSince: T0 - heldFor,
      });
    expect(decideHost(held(10_000), reconciler)).toMatchObject({ kind: 'none' });
    expect(decideHost(held(60_000), reconciler)).toMatchObject({
      kind: 'drain',
      alert: { key: 'lost-notification' },
    });
    expect(decideHost(held(0), policy)).toMatchObject({ kind: 'drain' });
    expect(decideHost(held(0), policy)).not.toHaveProperty('alert');
  });

  it('never completes an action of a group it does not serve for the cluster', () => {
    const command = decideHost(
      host({ lifecycle: waiting('Terminating:Wait', 'someone-elses-asg') }),
      reconciler,
    );
    expect(command).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('not served for this cluster'),
    });
  });
});

describe('whyNoProgress', () => {
  const task = (group: string, daemon = false): TaskView => ({
    taskArn: `arn:task/${group}`,
    containerInstanceArn: CI,
    lastStatus: 'RUNNING',
    version: 1,
    group,
    daemon,
  });
  const progress = { tasksWantingToRun: 3, tasksStopping: [], agentDisconnected: [] };

  it('names the services not replaced, and never a daemon task, which ECS stops after the others', () => {
    const why = whyNoProgress(
      [task('service:payments'), task('service:datadog-agent', true), task('family:nightly')],
      progress,
    );
    expect(why).toMatch(/payments: 1/);
    expect(why).toMatch(/1 standalone task/);
    expect(why).not.toMatch(/datadog-agent/);
  });
});
