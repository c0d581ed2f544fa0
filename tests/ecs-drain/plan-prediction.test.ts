import {
  impactOf,
  type PlanHost,
  type PlanInstance,
  type PlanService,
  type PlanTask,
  refreshBatches,
  refreshBatchSize,
  scaleInOrder,
} from '../../scripts/ecs-drain/commands/plan-prediction';

const instance = (instanceId: string, zone: string, extra: Partial<PlanInstance> = {}): PlanInstance => ({
  instanceId,
  availabilityZone: `us-east-1${zone}`,
  lifecycleState: 'InService',
  protectedFromScaleIn: false,
  usesLaunchConfiguration: false,
  ...extra,
});

describe('scaleInOrder (the default termination policy)', () => {
  it('takes from the zone with the most instances before anything else', () => {
    // i-1 is first in the listing, but its zone has one instance; zone b has two.
    const steps = scaleInOrder([instance('i-1', 'a'), instance('i-2', 'b'), instance('i-3', 'b')], 1);
    expect(steps[0]).toMatchObject({ instanceId: 'i-2', alternatives: ['i-3'] });
  });

  it('keeps zones balanced step after step', () => {
    const steps = scaleInOrder(
      ['a', 'b', 'c', 'a', 'b', 'c'].map((zone, n) => instance(`i-${n + 1}`, zone)),
      3,
    );
    expect(steps.map((s) => s.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
  });

  it('takes launch configuration instances before launch template ones, then outdated ones', () => {
    const instances = [
      instance('i-new', 'a', { outdated: false }),
      instance('i-old', 'a', { outdated: true }),
      instance('i-lc', 'a', { usesLaunchConfiguration: true, outdated: false }),
    ];
    expect(scaleInOrder(instances, 2).map((s) => s.instanceId)).toEqual(['i-lc', 'i-old']);
  });

  it('never takes a protected instance, nor one not InService', () => {
    const steps = scaleInOrder(
      [
        instance('i-1', 'a', { protectedFromScaleIn: true }),
        instance('i-2', 'a', { lifecycleState: 'Terminating:Wait' }),
        instance('i-3', 'b'),
      ],
      3,
    );
    expect(steps.map((s) => s.instanceId)).toEqual(['i-3']);
  });

  it('names the instances AWS could pick just as well', () => {
    const steps = scaleInOrder([instance('i-1', 'a'), instance('i-2', 'a')], 1);
    expect(steps[0]?.alternatives).toEqual(['i-2']);
    expect(steps[0]?.because.join()).toMatch(/tie of 2/);
  });
});

describe('refresh batches', () => {
  it.each<[{ min: number; max?: number }, number, number]>([
    [{ min: 90 }, 1, 0],
    [{ min: 50 }, 3, 0],
    [{ min: 100, max: 200 }, 6, 6],
    [{ min: 100, max: 150 }, 3, 3],
    [{ min: 100, max: 100 }, 1, 1],
  ])('%j on 6 instances: %d at a time, %d launched ahead', (bounds, size, ahead) => {
    expect(
      refreshBatchSize({
        desiredCapacity: 6,
        minHealthyPercentage: bounds.min,
        ...(bounds.max !== undefined && { maxHealthyPercentage: bounds.max }),
        skipMatching: false,
      }),
    ).toEqual({ size, ahead });
  });

  it('with skip matching, replaces only the instances not on the desired configuration', () => {
    const batches = refreshBatches(
      [
        instance('i-1', 'a', { outdated: false }),
        instance('i-2', 'b', { outdated: true }),
        instance('i-3', 'c', { outdated: true }),
      ],
      { desiredCapacity: 3, minHealthyPercentage: 90, skipMatching: true },
    );
    expect(batches.map((b) => b.instanceIds)).toEqual([['i-2'], ['i-3']]);
  });
});

describe('impactOf', () => {
  const host = (id: string, memory = 4096): PlanHost => ({
    containerInstanceArn: `arn:${id}`,
    ec2InstanceId: id,
    canReceive: true,
    registered: { cpu: 2048, memory: 8192 },
    remaining: { cpu: 2048, memory },
  });
  const task = (id: string, service: string, memory = 1024): PlanTask => ({
    containerInstanceArn: `arn:${id}`,
    group: `service:${service}`,
    cpu: 256,
    memory,
  });
  const service = (name: string, extra: Partial<PlanService> = {}): PlanService => ({
    name,
    daemon: false,
    desiredCount: 2,
    runningCount: 2,
    minimumHealthyPercent: 50,
    maximumPercent: 200,
    ...extra,
  });

  it('a min 100 / max 100 service cannot move, with a warning', () => {
    const impact = impactOf(
      [host('i-1'), host('i-2')],
      [task('i-1', 'pinned')],
      [service('pinned', { minimumHealthyPercent: 100, maximumPercent: 100 })],
      ['i-1'],
    );
    expect(impact.services[0]?.verdict.kind).toBe('cannot-move');
    expect(impact.warnings.join()).toMatch(/pinned cannot move/);
  });

  it('keeps its floor when its tasks fit on the instances that stay', () => {
    const impact = impactOf(
      [host('i-1'), host('i-2')],
      [task('i-1', 'web'), task('i-2', 'web')],
      [service('web')],
      ['i-1'],
    );
    expect(impact.services[0]).toMatchObject({
      placeable: 1,
      verdict: { kind: 'keeps-floor', floor: 1, lowest: 2 },
    });
  });

  it('drops below its floor when no memory is left for its tasks', () => {
    const impact = impactOf(
      [host('i-1'), host('i-2', 512)],
      [task('i-1', 'web'), task('i-1', 'web')],
      [service('web', { minimumHealthyPercent: 100 })],
      ['i-1'],
    );
    expect(impact.services[0]?.verdict).toEqual({
      kind: 'below-floor',
      floor: 2,
      lowest: 0,
      unplaced: 2,
      why: 'no CPU or memory left for 2 of its tasks',
    });
  });

  it('a fixed host port takes one task per instance: no spare instance, below floor and a warning', () => {
    const services = [
      service('api', { staticHostPort: true, desiredCount: 2, runningCount: 2, minimumHealthyPercent: 100 }),
    ];
    const tasks = [task('i-1', 'api'), task('i-2', 'api')];
    const impact = impactOf([host('i-1'), host('i-2')], tasks, services, ['i-1']);
    expect(impact.services[0]?.verdict.kind).toBe('below-floor');
    expect(impact.warnings.join()).toMatch(/api: static host port and no spare instance/);
    // With a new instance joining (a refresh's replacement), it fits.
    expect(impactOf([host('i-1'), host('i-2')], tasks, services, ['i-1'], 1).services[0]?.verdict.kind).toBe(
      'keeps-floor',
    );
  });

  it('standalone tasks on the instances that go are counted and warned about; daemon tasks are not moved', () => {
    const tasks: PlanTask[] = [
      { containerInstanceArn: 'arn:i-1', group: 'family:batch', cpu: 256, memory: 512 },
      { containerInstanceArn: 'arn:i-1', group: 'service:log-router', daemon: true, cpu: 64, memory: 128 },
    ];
    const impact = impactOf(
      [host('i-1'), host('i-2')],
      tasks,
      [service('log-router', { daemon: true })],
      ['i-1'],
    );
    expect(impact.standalone).toBe(1);
    expect(impact.services).toEqual([]);
    expect(impact.warnings.join()).toMatch(/1 standalone task\(s\).*never moves them/);
  });
});
