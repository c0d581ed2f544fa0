import { clusterMatches } from '../../../shared/config';
import { decideOnTaskEvent } from '../../../shared/decisions/task-event';
import { TaskStateChangeEvent } from '../../../shared/events/task-state-change';
import {
  CLUSTER_ARN,
  CONTAINER_INSTANCE_ARN,
  loadEvent,
  TASK_ARN,
  taskStoppedEvent,
  testConfig,
} from '../../helpers/events';

function decide(event: unknown) {
  return decideOnTaskEvent(TaskStateChangeEvent.parse(event), testConfig);
}

describe('decideOnTaskEvent', () => {
  it('checks the host of an EC2 task that stopped in our cluster', () => {
    expect(decide(loadEvent('task-stopped.json'))).toEqual({
      kind: 'check-host',
      task: {
        stopped: true,
        clusterArn: CLUSTER_ARN,
        containerInstanceArn: CONTAINER_INSTANCE_ARN,
        taskArn: TASK_ARN,
        version: 6,
        emittedAt: Date.parse('2026-01-10T12:00:10Z'),
        stoppedByDrain: true,
      },
    });
  });

  it('notes whether the stop reason names a drain: proof of one, whatever a lagging read shows', () => {
    const exited = taskStoppedEvent({
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
    expect(decide(exited)).toMatchObject({ kind: 'check-host', task: { stoppedByDrain: false } });
  });

  it('ignores Fargate tasks', () => {
    expect(decide(loadEvent('task-stopped-fargate.json'))).toMatchObject({ kind: 'ignore' });
  });

  it('ignores tasks of another cluster', () => {
    const event = taskStoppedEvent({ clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod-2' });

    expect(decide(event)).toMatchObject({
      kind: 'ignore',
      reason: expect.stringContaining('a cluster this stack does not serve'),
    });
  });

  it.each(['RUNNING', 'DEACTIVATING'])(
    'takes a task told to stop (desired STOPPED, last status %s) as the announcement of a STOPPED event',
    (lastStatus) => {
      expect(decide(taskStoppedEvent({ lastStatus, desiredStatus: 'STOPPED' }))).toMatchObject({
        kind: 'check-host',
        task: { stopped: false, taskArn: TASK_ARN },
      });
    },
  );

  it('ignores tasks that were not told to stop', () => {
    expect(decide(taskStoppedEvent({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING' }))).toMatchObject({
      kind: 'ignore',
      reason: 'task is RUNNING and not told to stop',
    });
  });
});

describe('clusterMatches', () => {
  it.each([
    [CLUSTER_ARN, 'prod', true],
    [CLUSTER_ARN, CLUSTER_ARN, true],
    [CLUSTER_ARN, 'pro', false],
    ['arn:aws:ecs:us-east-1:123456789012:cluster/staging-prod', 'prod', false],
    ['not-an-arn', 'prod', false],
  ])('%s is cluster %s: %s', (arn, name, expected) => {
    expect(clusterMatches(arn, name)).toBe(expected);
  });
});
