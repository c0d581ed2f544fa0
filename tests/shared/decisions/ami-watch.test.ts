import {
  type AmiWatchSnapshot,
  BLUE_GREEN_TAG,
  decideAmiWatch,
  versionDescription,
} from '../../../shared/decisions/ami-watch';

const OLD = 'ami-0aaaaaaaaaaaaaaa1';
const NEW = 'ami-0bbbbbbbbbbbbbbb2';
const LT = 'lt-0123456789abcdef0';

/** A group on launch template version 3 with the old AMI, no refresh ever, and AWS recommending the new one. */
function snapshot(changes: Partial<AmiWatchSnapshot> = {}): AmiWatchSnapshot {
  return {
    autoScalingGroupName: 'prod-ecs-asg',
    recommendedImageId: NEW,
    parameter: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id',
    launchTemplate: { launchTemplateId: LT, launchTemplateName: 'ecs', version: '3' },
    mixedInstancesPolicy: false,
    current: { launchTemplateId: LT, versionNumber: 3, imageId: OLD },
    latest: { launchTemplateId: LT, versionNumber: 3, imageId: OLD },
    tags: {},
    dryRun: false,
    ...changes,
  };
}

describe('decideAmiWatch', () => {
  it('does nothing when the group already launches the recommended AMI', () => {
    expect(
      decideAmiWatch(snapshot({ current: { launchTemplateId: LT, versionNumber: 3, imageId: NEW } })),
    ).toEqual({
      kind: 'up-to-date',
      imageId: NEW,
      reason: expect.stringContaining(NEW),
    });
  });

  it('rolls out a newer AMI from the version the group uses', () => {
    expect(decideAmiWatch(snapshot())).toEqual({
      kind: 'roll-out',
      newImage: NEW,
      currentImage: OLD,
      launchTemplateId: LT,
      fromVersion: 3,
      strategy: 'rolling',
      reason: expect.stringContaining(NEW),
    });
  });

  it('also rolls out after an earlier refresh ended, whatever its outcome', () => {
    for (const status of ['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed'])
      expect(decideAmiWatch(snapshot({ latestRefresh: { instanceRefreshId: 'r-1', status } })).kind).toBe(
        'roll-out',
      );
  });

  it('does not try again a rollout of this very AMI that failed or rolled back, and says what to do', () => {
    const ours = {
      launchTemplateId: LT,
      versionNumber: 4,
      imageId: NEW,
      description: versionDescription(NEW, 3),
    };
    for (const status of ['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']) {
      const decision = decideAmiWatch(
        snapshot({
          latest: ours,
          latestRefresh: { instanceRefreshId: 'r-2', status, desiredVersion: '4', desiredImageId: NEW },
        }),
      );
      expect(decision).toEqual({
        kind: 'cannot',
        reason: expect.stringContaining(`ended ${status}`),
        fix: expect.stringContaining('yourself'),
      });
    }
    // A refresh to another version that failed (an older AMI's) does not hold this one back.
    const older = {
      instanceRefreshId: 'r-1',
      status: 'RollbackSuccessful',
      desiredVersion: '3',
      desiredImageId: OLD,
    };
    expect(decideAmiWatch(snapshot({ latest: ours, latestRefresh: older })).kind).toBe('roll-out');
    // Whichever version pinned it: two runs at once may each have made one (a duplicated schedule).
    const twin = { ...older, desiredVersion: '5', desiredImageId: NEW };
    expect(decideAmiWatch(snapshot({ latest: ours, latestRefresh: twin })).kind).toBe('cannot');
  });

  it('is quiet about its own rollout of this AMI still running, and reuses only a version made from the group’s own', () => {
    const running = {
      instanceRefreshId: 'r-3',
      status: 'InProgress',
      desiredVersion: '4',
      desiredImageId: NEW,
    };
    expect(decideAmiWatch(snapshot({ latestRefresh: running }))).toMatchObject({
      kind: 'refresh-running',
      ownRollout: true,
    });
    const other = { ...running, desiredImageId: OLD };
    expect(decideAmiWatch(snapshot({ latestRefresh: other })).kind).toBe('refresh-running');
    expect(decideAmiWatch(snapshot({ latestRefresh: other }))).not.toHaveProperty('ownRollout');
    // Version 6 was made from another group's version 5 of the same template: not this group's.
    const fromOther = {
      launchTemplateId: LT,
      versionNumber: 6,
      imageId: NEW,
      description: versionDescription(NEW, 5),
    };
    expect(decideAmiWatch(snapshot({ latest: fromOther }))).not.toHaveProperty('existingVersion');
    const fromOwn = { ...fromOther, description: versionDescription(NEW, 3) };
    expect(decideAmiWatch(snapshot({ latest: fromOwn }))).toMatchObject({ existingVersion: 6 });
  });

  it('reuses the version an earlier run created when its refresh never started', () => {
    const latest = {
      launchTemplateId: LT,
      versionNumber: 4,
      imageId: NEW,
      description: versionDescription(NEW, 3),
    };
    expect(decideAmiWatch(snapshot({ latest }))).toMatchObject({ kind: 'roll-out', existingVersion: 4 });
    // Somebody else's version with the same AMI is not ours to refresh to.
    expect(decideAmiWatch(snapshot({ latest: { ...latest, description: 'hand-made' } }))).not.toHaveProperty(
      'existingVersion',
    );
  });

  it.each(['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking'])(
    'refuses while a refresh is %s, and says which',
    (status) => {
      expect(decideAmiWatch(snapshot({ latestRefresh: { instanceRefreshId: 'r-9', status } }))).toEqual({
        kind: 'refresh-running',
        newImage: NEW,
        currentImage: OLD,
        reason: expect.stringMatching(new RegExp(`r-9 is ${status}`)),
      });
    },
  );

  it('refuses while a blue/green rollout holds the group', () => {
    expect(decideAmiWatch(snapshot({ tags: { [BLUE_GREEN_TAG]: 'green' } }))).toMatchObject({
      kind: 'refresh-running',
      reason: expect.stringContaining(BLUE_GREEN_TAG),
    });
  });

  it('only reports in a dry run', () => {
    expect(decideAmiWatch(snapshot({ dryRun: true }))).toEqual({
      kind: 'dry-run',
      newImage: NEW,
      currentImage: OLD,
      launchTemplateId: LT,
      fromVersion: 3,
      strategy: 'rolling',
      reason: expect.stringContaining('dry run'),
    });
  });

  describe('with RolloutStrategy blue-green', () => {
    it('rolls a newer AMI out blue/green, from the version the group uses', () => {
      expect(decideAmiWatch(snapshot({ strategy: 'blue-green' }))).toEqual({
        kind: 'roll-out',
        strategy: 'blue-green',
        newImage: NEW,
        currentImage: OLD,
        launchTemplateId: LT,
        fromVersion: 3,
        reason: expect.stringContaining(NEW),
      });
    });

    it('says in a dry run that it would start a blue/green rollout', () => {
      expect(decideAmiWatch(snapshot({ strategy: 'blue-green', dryRun: true }))).toMatchObject({
        kind: 'dry-run',
        strategy: 'blue-green',
        reason: expect.stringContaining('blue/green rollout'),
      });
    });

    it('still waits while an instance refresh runs, and while a blue/green rollout holds the group', () => {
      const running = { instanceRefreshId: 'r-9', status: 'InProgress' };
      expect(decideAmiWatch(snapshot({ strategy: 'blue-green', latestRefresh: running })).kind).toBe(
        'refresh-running',
      );
      const held = decideAmiWatch(
        snapshot({ strategy: 'blue-green', tags: { [BLUE_GREEN_TAG]: 'v=1;phase=standby' } }),
      );
      expect(held).toMatchObject({
        kind: 'refresh-running',
        reason: expect.stringContaining(BLUE_GREEN_TAG),
      });
      expect(held.reason).not.toContain('RolloutStrategy is rolling');
    });
  });

  it('tells, under rolling, that nothing steps a blue/green rollout it finds', () => {
    expect(decideAmiWatch(snapshot({ tags: { [BLUE_GREEN_TAG]: 'v=1' } })).reason).toContain(
      'RolloutStrategy is rolling',
    );
  });

  it('still refuses in a dry run while a refresh is running', () => {
    expect(
      decideAmiWatch(
        snapshot({ dryRun: true, latestRefresh: { instanceRefreshId: 'r-9', status: 'InProgress' } }),
      ).kind,
    ).toBe('refresh-running');
  });

  describe('cannot, and says what to change', () => {
    it.each<[string, Partial<AmiWatchSnapshot>, RegExp, RegExp]>([
      ['the parameter is missing', { recommendedImageId: undefined }, /does not exist/, /AmiVariant/],
      ['the parameter holds no AMI id', { recommendedImageId: 'hello' }, /"hello", not an AMI id/, /ami-/],
      ['an AMI id with a stray suffix', { recommendedImageId: `${NEW} ` }, /not an AMI id/, /ami-/],
      [
        'a mixed instances policy',
        { mixedInstancesPolicy: true },
        /mixed instances policy/,
        /single launch template/,
      ],
      [
        'a launch configuration',
        { launchTemplate: undefined, launchConfigurationName: 'old-lc', current: undefined },
        /launch configuration old-lc/,
        /launch template/,
      ],
      [
        'no launch template at all',
        { launchTemplate: undefined, current: undefined },
        /no launch template/,
        /launch template/,
      ],
      [
        '$Latest',
        { launchTemplate: { launchTemplateId: LT, version: '$Latest' } },
        /\$Latest.*AutoRollback/,
        /numbered version/,
      ],
      [
        '$Default',
        { launchTemplate: { launchTemplateId: LT, version: '$Default' } },
        /\$Default/,
        /numbered version/,
      ],
      [
        'an AMI from resolve:ssm',
        { current: { launchTemplateId: LT, versionNumber: 3, imageId: 'resolve:ssm:/my/ami' } },
        /resolve:ssm:\/my\/ami.*AutoRollback/,
        /pin an AMI id/,
      ],
      [
        'a version without an AMI',
        { current: { launchTemplateId: LT, versionNumber: 3 } },
        /names no AMI/,
        /ImageId/,
      ],
    ])('when %s', (_, changes, reason, fix) => {
      expect(decideAmiWatch(snapshot(changes))).toEqual({
        kind: 'cannot',
        reason: expect.stringMatching(reason),
        fix: expect.stringMatching(fix),
      });
    });

    it('even in a dry run, and even while a refresh runs: the group needs a change first', () => {
      expect(
        decideAmiWatch(
          snapshot({
            dryRun: true,
            latestRefresh: { instanceRefreshId: 'r-9', status: 'InProgress' },
            launchTemplate: { launchTemplateId: LT, version: '$Latest' },
          }),
        ).kind,
      ).toBe('cannot');
    });
  });
});
