import { handBack } from '../../sim/metrics';
import { diagnoseShape, type RunSummary, savedLine, stepStats } from '../../sim/report';
import type { RunResult } from '../../sim/scenario';
import { Recorder } from '../../sim/world';
import { ClusterShape } from '../../sim/scenario';

describe('stepStats', () => {
  // healthy count: 3 until t=10, 1 until t=20, 0 until t=25, then 3
  const t = [0, 10, 20, 25];
  const values = [3, 1, 0, 3];

  it('integrates the time below the floor and at zero over the window', () => {
    expect(stepStats(t, values, 0, 40, 2)).toEqual({
      lowestHealthy: 0,
      secondsBelowFloor: 15,
      secondsBelowFloorWithRoom: 15,
      secondsAtZero: 5,
    });
  });

  it('counts apart the time below the floor when a task of the service could have been placed', () => {
    // No room from t=10 to t=20 (the cluster was full), room again from t=20.
    const room = [true, false, true, true];
    expect(stepStats(t, values, 0, 40, 2, room)).toMatchObject({
      secondsBelowFloor: 15,
      secondsBelowFloorWithRoom: 5,
    });
  });

  it('starts from the value in force at the start of the window', () => {
    expect(stepStats(t, values, 22, 40, 2)).toEqual({
      lowestHealthy: 0,
      secondsBelowFloor: 3,
      secondsBelowFloorWithRoom: 3,
      secondsAtZero: 3,
    });
    expect(stepStats(t, values, 30, 40, 2)).toEqual({
      lowestHealthy: 3,
      secondsBelowFloor: 0,
      secondsBelowFloorWithRoom: 0,
      secondsAtZero: 0,
    });
  });
});

describe('diagnoseShape', () => {
  it('names services that can never drain and standalone tasks that never end', () => {
    const shape = ClusterShape.parse({
      instances: 2,
      services: [
        { name: 'ok', minimumHealthyPercent: 100, maximumPercent: 200 },
        { name: 'stuck', minimumHealthyPercent: 100, maximumPercent: 100 },
        { name: 'agent', daemon: true, minimumHealthyPercent: 100, maximumPercent: 100 },
      ],
      standaloneTasks: [{ family: 'cron', runSeconds: 60 }, { family: 'forever' }],
    });

    const findings = diagnoseShape(shape);

    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatch(/^service stuck /);
    expect(findings[1]).toMatch(/^standalone task forever /);
  });
});

describe('handBack', () => {
  it('measures drains that emptied their host, not those a deadline let go with tasks on them', () => {
    const recorder = new Recorder();
    const action = (instanceId: string, lastTaskStoppedAt: number, endedAt: number) => ({
      instanceId,
      startedAt: 0,
      endedAt,
      endedBy: 'completed',
      group: 'prod-ecs-asg',
      leftOnInstance: [],
      lastTaskStoppedAt,
    });
    recorder.actions.push(action('i-1', 100, 102), action('i-2', 200, 203), action('i-3', 50, 3600));
    recorder.releasedWithTasks.push({ instanceId: 'i-3', at: 3600, groups: ['family:nightly'] });
    recorder.deliveryDelays.push(0.8);

    expect(handBack({ recorder } as Pick<RunResult, 'recorder'> as RunResult)).toEqual({
      medianSeconds: 2.5,
      p99Seconds: 3,
      deliveryMedianSeconds: 0.8,
      drains: 2,
    });
  });
});

describe('savedLine', () => {
  const summary = (tasksKilled: number, below: number, zero: number) =>
    ({
      tasksKilled,
      services: [
        { name: 'web', daemon: false, desiredCount: 2, secondsBelowFloor: below, secondsAtZero: zero },
        { name: 'logs', daemon: true, desiredCount: 0, secondsBelowFloor: 99, secondsAtZero: 99 },
      ],
    }) as unknown as RunSummary;

  it('says what the controller saved, daemon services aside', () => {
    expect(savedLine(summary(19, 702, 109), summary(0, 0, 0))).toBe(
      'the controller saved: tasks killed 19 -> 0, service-seconds below floor 702 -> 0, service-seconds at zero 109 -> 0',
    );
    expect(savedLine(summary(0, 0, 0), summary(0, 0, 0))).toMatch(
      /nothing this time \(both runs kept every floor/,
    );
    // A spot interruption hurts both runs alike: not "kept every floor".
    expect(savedLine(summary(3, 118, 0), summary(3, 118, 0))).toMatch(
      /changed nothing this time: both runs lost the same/,
    );
    expect(savedLine(summary(0, 271, 0), summary(0, 287, 0))).toBe(
      'worse with it: service-seconds below floor 271 -> 287',
    );
  });
});
