import {
  type ContainerInstanceView,
  hostProgress,
  instancesToDrain,
  readInstance,
  tasksStillStopping,
} from '../../../shared/decisions/host';

function instance(changes: Partial<ContainerInstanceView> = {}): ContainerInstanceView {
  return {
    arn: 'arn:ci/1',
    ec2InstanceId: 'i-0123456789abcdef0',
    status: 'DRAINING',
    agentConnected: true,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    ...changes,
  };
}

describe('readInstance', () => {
  it('reports an unknown or deregistered instance as gone', () => {
    expect(readInstance(undefined)).toEqual({ kind: 'gone' });
    expect(readInstance(instance({ status: 'INACTIVE' }))).toEqual({ kind: 'gone' });
  });

  it('reports an ACTIVE instance as not draining', () => {
    expect(readInstance(instance({ status: 'ACTIVE', runningTasksCount: 3 }))).toEqual({
      kind: 'not-draining',
      status: 'ACTIVE',
    });
  });

  it('calls a draining instance busy while a task still wants to run or is pending', () => {
    expect(readInstance(instance({ runningTasksCount: 2 }))).toEqual({ kind: 'busy', tasksWantingToRun: 2 });
    expect(readInstance(instance({ pendingTasksCount: 1 }))).toEqual({ kind: 'busy', tasksWantingToRun: 1 });
  });

  it('asks for the stopping tasks when runningTasksCount is zero, because it counts desired status only', () => {
    expect(readInstance(instance())).toEqual({ kind: 'list-stopping-tasks' });
  });
});

describe('tasksStillStopping', () => {
  const stopping = { taskArn: 'arn:task/a', lastStatus: 'DEACTIVATING', version: 4 };
  const stopped = { taskArn: 'arn:task/b', lastStatus: 'STOPPED', version: 6 };

  it('keeps every task whose own lastStatus is not STOPPED', () => {
    const tasks = [stopping, stopped, { taskArn: 'arn:task/c', lastStatus: 'STOPPING', version: 2 }];

    expect(tasksStillStopping(tasks).map((task) => task.taskArn)).toEqual(['arn:task/a', 'arn:task/c']);
  });

  it('counts the task of the waking event as stopped when the read lags behind the event', () => {
    expect(tasksStillStopping([stopping], { taskArn: 'arn:task/a', version: 5 })).toEqual([]);
    expect(tasksStillStopping([stopping], { taskArn: 'arn:task/a', version: undefined })).toEqual([]);
  });

  it('believes the read when it is newer than the event', () => {
    expect(tasksStillStopping([stopping], { taskArn: 'arn:task/a', version: 3 })).toEqual([stopping]);
  });

  it('does not let the event vouch for any other task', () => {
    expect(tasksStillStopping([stopping], { taskArn: 'arn:task/z', version: 99 })).toEqual([stopping]);
  });
});

describe('instancesToDrain', () => {
  it('selects only ACTIVE instances: DRAINING ones need nothing, others cannot be drained', () => {
    const active = instance({ arn: 'arn:ci/active', status: 'ACTIVE' });
    const all = [
      active,
      instance({ arn: 'arn:ci/draining' }),
      instance({ arn: 'arn:ci/reg', status: 'REGISTERING' }),
    ];

    expect(instancesToDrain(all)).toEqual([active]);
  });
});

describe('hostProgress', () => {
  it('is drained only when no instance has a task wanting to run or stopping', () => {
    const a = instance({ arn: 'arn:ci/a' });
    const b = instance({ arn: 'arn:ci/b' });

    expect(hostProgress([a, b], new Map())).toEqual({
      drained: true,
      tasksWantingToRun: 0,
      tasksStopping: 0,
    });
    expect(
      hostProgress(
        [a, b],
        new Map([['arn:ci/b', [{ taskArn: 'arn:task/x', lastStatus: 'STOPPING', version: 1 }]]]),
      ),
    ).toEqual({ drained: false, tasksWantingToRun: 0, tasksStopping: 1 });
    expect(hostProgress([a, instance({ arn: 'arn:ci/c', runningTasksCount: 2 })], new Map())).toMatchObject({
      drained: false,
      tasksWantingToRun: 2,
    });
  });

  it('treats a host with no container instance left as drained', () => {
    expect(hostProgress([], new Map()).drained).toBe(true);
  });
});
