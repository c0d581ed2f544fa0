import {
  ASSUMED_AUTO_SCALING_LIMIT,
  AUTO_SCALING_SHARES,
  AUTO_SCALING_STACK_SHARE,
  autoScalingPacer,
  ECS_READ_SHARES,
  ecsReadPacer,
  Pacer,
  type Priority,
  type Timing,
} from '../../../shared/aws/pacer';
import { BUCKET_SIZES } from '../../../sim/api/server';
import { InstantTiming, ManualTiming, PACER_EPOCH, settle } from '../../helpers/timing';

function twinBucket(name: string): [number, number] {
  const size = BUCKET_SIZES[name];
  if (size === undefined) throw new Error(`the twin has no ${name} bucket`);
  return size;
}

/** Asks the pacer for a call under `name`, and notes when (ms after the epoch) each call was let through. */
function caller(pacer: Pacer, timing: { now(): number }) {
  const granted: [string, number][] = [];
  const ask = (name: string, priority?: Priority) =>
    pacer.take(priority).then(() => {
      granted.push([name, timing.now() - PACER_EPOCH]);
    });
  return { granted, ask };
}

describe('Pacer', () => {
  it('lets a burst through at once, then one call per 1/rate seconds', async () => {
    const timing = new ManualTiming();
    const { granted, ask } = caller(new Pacer(10, 3, timing), timing);

    for (const name of ['a', 'b', 'c', 'd', 'e']) void ask(name);
    await settle();

    expect(granted).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
    await timing.advance(99);
    expect(granted).toHaveLength(3);
    await timing.advance(1);
    expect(granted.slice(3)).toEqual([['d', 100]]);
    await timing.advance(100);
    expect(granted.slice(3)).toEqual([
      ['d', 100],
      ['e', 200],
    ]);
  });

  it('refills while idle, but never beyond the burst', async () => {
    const timing = new ManualTiming();
    const { granted, ask } = caller(new Pacer(10, 3, timing), timing);
    for (const name of ['a', 'b', 'c']) void ask(name);
    await settle();

    await timing.advance(60_000);
    for (const name of ['d', 'e', 'f', 'g']) void ask(name);
    await settle();

    expect(granted.map(([name]) => name)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    await timing.advance(100);
    expect(granted.at(-1)).toEqual(['g', 60_100]);
  });

  it('serves urgent callers before background ones that were already waiting, each in the order they asked', async () => {
    const timing = new ManualTiming();
    const { granted, ask } = caller(new Pacer(10, 1, timing), timing);

    void ask('background-1', 'background');
    void ask('background-2', 'background');
    void ask('background-3', 'background');
    await settle();
    void ask('urgent-1', 'urgent');
    void ask('urgent-2');
    for (let step = 0; step < 4; step++) await timing.advance(100);

    expect(granted).toEqual([
      ['background-1', 0],
      ['urgent-1', 100],
      ['urgent-2', 200],
      ['background-2', 300],
      ['background-3', 400],
    ]);
  });

  it('sleeps on the Timing it is given, never on real timers', async () => {
    const timing = new InstantTiming();
    const pacer = new Pacer(10, 1, timing);

    await Promise.all(Array.from({ length: 4 }, () => pacer.take()));

    expect(timing.sleeps).toEqual([100, 100, 100]);
    expect(timing.now() - PACER_EPOCH).toBe(300);
  });
});

describe('the pacers of the functions', () => {
  // 30 calls at once: the burst goes through, the rest at the pacer's rate.
  it.each([
    [
      'ECS reads of a task events container: 3.5 per second of 10, one at a time',
      (t: Timing) => ecsReadPacer('event', 10, t),
      (29 / 3.5) * 1000,
    ],
    [
      'ECS reads of a launch readiness container: 0.25 per second of 10',
      (t: Timing) => ecsReadPacer('launch', 10, t),
      116000,
    ],
    [
      'ECS reads of a notifications container: 0.5 per second of 10',
      (t: Timing) => ecsReadPacer('start', 10, t),
      58000,
    ],
    [
      'ECS reads of the reconciler: 1 per second of 10',
      (t: Timing) => ecsReadPacer('reconciler', 10, t),
      29000,
    ],
    [
      'ECS reads of a task events container with EcsReadsPerSecond 20: 7 per second',
      (t: Timing) => ecsReadPacer('event', 20, t),
      (29 / 7) * 1000,
    ],
    [
      'Auto Scaling calls of a task events container: 1.9 per second, in bursts of 5',
      (t: Timing) => autoScalingPacer('event', t),
      (25 / 1.9) * 1000,
    ],
    [
      'Auto Scaling calls of a launch readiness container: 1.2 per second, in bursts of 5',
      (t: Timing) => autoScalingPacer('launch', t),
      (25 / 1.2) * 1000,
    ],
    [
      'Auto Scaling calls of the reconciler: 1 per second, in bursts of 6',
      (t: Timing) => autoScalingPacer('reconciler', t),
      24 * 1000,
    ],
  ])('%s', async (_case, build, expectedMilliseconds) => {
    const timing = new InstantTiming();
    const pacer = build(timing);

    await Promise.all(Array.from({ length: 30 }, () => pacer.take()));

    expect(timing.now() - PACER_EPOCH).toBeCloseTo(expectedMilliseconds, 0);
  });

  it('never lets the whole stack read faster than its share, with every container busy', () => {
    const total = Object.values(ECS_READ_SHARES).reduce(
      (sum, { share, containers }) => sum + share * containers,
      0,
    );
    // A twentieth is kept for the bursts of one each container may take, and for the jitter of the
    // calls on their way: the busiest second of a refresh of 1,000 instances stays at the share.
    expect(total).toBeLessThanOrEqual(0.95 + 1e-9);
    expect(total).toBeGreaterThan(0.9);
  });

  it('never lets the whole stack call Auto Scaling faster than its part of the one account-wide limit, with every container busy', () => {
    // Auto Scaling has a single bucket for every call of the account and Region: what each container
    // may take, times the containers that may run at once, over every caller.
    const shares = Object.values(AUTO_SCALING_SHARES);
    const rate = shares.reduce((sum, { perSecond, containers }) => sum + perSecond * containers, 0);
    const bursts = shares.reduce((sum, { burst, containers }) => sum + burst * containers, 0);

    expect(rate).toBeLessThanOrEqual(AUTO_SCALING_STACK_SHARE * ASSUMED_AUTO_SCALING_LIMIT.perSecond + 1e-9);
    expect(bursts).toBeLessThanOrEqual(AUTO_SCALING_STACK_SHARE * ASSUMED_AUTO_SCALING_LIMIT.burst);
    // Each drain and each launch is one completion: the containers that complete them get the most.
    const completers = ['event', 'launch'] as const;
    for (const caller of Object.keys(AUTO_SCALING_SHARES) as (keyof typeof AUTO_SCALING_SHARES)[]) {
      if ((completers as readonly string[]).includes(caller)) continue;
      for (const completer of completers)
        expect(AUTO_SCALING_SHARES[caller].perSecond).toBeLessThan(AUTO_SCALING_SHARES[completer].perSecond);
    }
  });

  it('assumes the Auto Scaling limit the twin throttles at', () => {
    // Auto Scaling publishes no limit: the stack's pacing and the twin's bucket make one assumption,
    // so that a run the twin does not throttle keeps within what the pacing was sized for.
    const [burst, perSecond] = twinBucket('auto-scaling');
    expect(ASSUMED_AUTO_SCALING_LIMIT).toEqual({ perSecond, burst });
  });
});
