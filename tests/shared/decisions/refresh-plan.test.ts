import {
  planRefresh,
  REFRESH_DEFAULTS,
  refreshSettingsProblems,
} from '../../../shared/decisions/refresh-plan';

const target = { autoScalingGroupName: 'prod-ecs-asg', launchTemplateId: 'lt-0123456789abcdef0', version: 7 };

describe('planRefresh', () => {
  it('launches before terminating, skips matching instances, burns in at checkpoints and rolls back on failure', () => {
    expect(
      planRefresh(target, { ...REFRESH_DEFAULTS, alarmNames: ['ecs-drain-DeadlineReached', 'my-5xx'] }),
    ).toEqual({
      AutoScalingGroupName: 'prod-ecs-asg',
      Strategy: 'Rolling',
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '7' } },
      Preferences: {
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 200,
        InstanceWarmup: 300,
        SkipMatching: true,
        CheckpointPercentages: [10, 50, 100],
        CheckpointDelay: 900,
        AutoRollback: true,
        AlarmSpecification: { Alarms: ['ecs-drain-DeadlineReached', 'my-5xx'] },
        ScaleInProtectedInstances: 'Refresh',
        StandbyInstances: 'Ignore',
      },
    });
  });

  it("leaves out the alarm specification without alarms, and the warmup to the group's when not given", () => {
    const settings = { ...REFRESH_DEFAULTS, alarmNames: [], instanceWarmupSeconds: undefined };
    const { Preferences } = planRefresh(target, settings);
    expect(Preferences?.AlarmSpecification).toBeUndefined();
    expect(Preferences).not.toHaveProperty('InstanceWarmup');
  });

  it('allows MaxHealthyPercentage 100 (one new instance before each old one goes) up to 200', () => {
    for (const max of [100, 150, 200])
      expect(
        planRefresh(target, { ...REFRESH_DEFAULTS, maxHealthyPercentage: max }).Preferences,
      ).toMatchObject({ MinHealthyPercentage: 100, MaxHealthyPercentage: max });
  });

  it.each([
    ['MaxHealthyPercentage below 100', { maxHealthyPercentage: 99 }, /MaxHealthyPercentage 99/],
    [
      'MaxHealthyPercentage more than 100 above the minimum',
      { maxHealthyPercentage: 201 },
      /MaxHealthyPercentage 201/,
    ],
    ['a negative warmup', { instanceWarmupSeconds: -1 }, /InstanceWarmup -1/],
    ['no checkpoint', { checkpointPercentages: [] }, /at least one/],
    ['descending checkpoints', { checkpointPercentages: [50, 10, 100] }, /unique and ascending/],
    ['repeated checkpoints', { checkpointPercentages: [50, 50, 100] }, /unique and ascending/],
    ['a checkpoint outside 1..100', { checkpointPercentages: [0, 100] }, /from 1 to 100/],
    ['a last checkpoint below 100', { checkpointPercentages: [10, 50] }, /last must be 100/],
    ['a burn-in beyond 48 hours', { checkpointDelaySeconds: 172_801 }, /CheckpointDelay 172801/],
    ['eleven alarms', { alarmNames: Array.from({ length: 11 }, (_, n) => `a${n}`) }, /at most 10/],
  ])('refuses %s, as Auto Scaling would', (_, change, message) => {
    const settings = { ...REFRESH_DEFAULTS, ...change };
    expect(refreshSettingsProblems(settings)).toEqual([expect.stringMatching(message)]);
    expect(() => planRefresh(target, settings)).toThrow(message);
  });

  it('refuses a version that is not a number (AutoRollback needs one)', () => {
    expect(() => planRefresh({ ...target, version: 0 }, REFRESH_DEFAULTS)).toThrow(/version 0/);
  });

  it('finds nothing wrong with the defaults', () => {
    expect(refreshSettingsProblems(REFRESH_DEFAULTS)).toEqual([]);
  });
});
