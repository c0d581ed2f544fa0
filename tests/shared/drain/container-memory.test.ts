import { HeartbeatPacer, StoppedTasks, StoppingTasks } from '../../../shared/drain/container-memory';
import { taskArn } from '../../helpers/events';

const T0 = Date.parse('2026-01-10T12:00:00Z');

describe('StoppedTasks', () => {
  it('keeps the newest version an event reported for a task, whatever order the events came in', () => {
    const stopped = new StoppedTasks();

    stopped.remember(taskArn('a'), 6);
    stopped.remember(taskArn('a'), 4);
    stopped.remember(taskArn('a'), undefined);

    expect(stopped.has(taskArn('a'))).toBe(true);
    expect(stopped.version(taskArn('a'))).toBe(6);
    expect(stopped.has(taskArn('b'))).toBe(false);
  });
});

describe('StoppingTasks', () => {
  it('remembers the list of each container instance until told to forget it', () => {
    const stopping = new StoppingTasks();

    stopping.set('arn:ci/1', [taskArn('slow')]);
    stopping.set('arn:ci/2', []);
    stopping.forget('arn:ci/1');

    expect(stopping.get('arn:ci/1')).toBeUndefined();
    expect(stopping.get('arn:ci/2')).toEqual([]);
  });
});

describe('the memory of a long-lived container', () => {
  it('stays within its capacity by forgetting what it learnt or used least recently', () => {
    const stopping = new StoppingTasks(2);
    stopping.set('arn:ci/1', []);
    stopping.set('arn:ci/2', []);
    stopping.set('arn:ci/1', [taskArn('again')]); // written again: now the most recent

    stopping.set('arn:ci/3', []);

    expect(stopping.get('arn:ci/2')).toBeUndefined();
    expect(stopping.get('arn:ci/1')).toEqual([taskArn('again')]);
    expect(stopping.get('arn:ci/3')).toEqual([]);
  });

  it('remembers per instance the time of the event that sent the last heartbeat, within its capacity', () => {
    const heartbeats = new HeartbeatPacer(1);
    heartbeats.sent('i-1', T0);
    expect(heartbeats.lastSentAt('i-1')).toBe(T0);

    heartbeats.sent('i-2', T0 + 1000);

    expect(heartbeats.lastSentAt('i-1')).toBeUndefined();
    expect(heartbeats.lastSentAt('i-2')).toBe(T0 + 1000);
  });
});
