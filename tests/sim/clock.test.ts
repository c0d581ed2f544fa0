import { Clock, ClockStallError, currentActivity, Random } from '../../sim/clock';

/** A real-time wait: a macrotask the clock cannot see, as a socket read would be. */
const realDelay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('Clock with async actions', () => {
  it('interleaves two async actions at their sleeps instead of running one to completion first', async () => {
    const clock = new Clock();
    const log: string[] = [];
    const note = (what: string) => log.push(`${what}@${clock.now}`);
    clock.at(0, async () => {
      note('a-start');
      await clock.sleep(2);
      note('a-after-2');
      await clock.sleep(2);
      note('a-end');
    });
    clock.at(0, async () => {
      note('b-start');
      await clock.sleep(1);
      note('b-after-1');
      await clock.sleep(2);
      note('b-end');
    });

    await clock.run(10);

    expect(log).toEqual(['a-start@0', 'b-start@0', 'b-after-1@1', 'a-after-2@2', 'b-end@3', 'a-end@4']);
    expect(clock.now).toBe(10);
  });

  it('gives the same interleaving for the same seed', async () => {
    const play = async (seed: number) => {
      const clock = new Clock();
      const random = new Random(seed);
      const log: string[] = [];
      for (let n = 0; n < 20; n++) {
        clock.at(Math.floor(random.between(0, 5)), async () => {
          for (let step = 0; step < 4; step++) {
            log.push(`${n}.${step}@${clock.now}`);
            await Promise.resolve();
            await clock.sleep(Math.floor(random.between(0, 3)));
          }
        });
      }
      await clock.run(100);
      return log;
    };

    const first = await play(7);
    expect(await play(7)).toEqual(first);
    expect(await play(8)).not.toEqual(first);
  });

  it('does not move time on while an action waits on something outside the clock (a socket)', async () => {
    const clock = new Clock();
    const log: string[] = [];
    clock.at(0, async () => {
      await realDelay(30);
      log.push(`reply read at ${clock.now}`);
      await clock.sleep(5);
      log.push(`done at ${clock.now}`);
    });
    clock.at(1, () => void log.push('next event at 1'));

    await clock.run(10);

    expect(log).toEqual(['reply read at 0', 'next event at 1', 'done at 5']);
  });

  it('lets the continuation of any sleep that came due run before the next event, inside an action or not', async () => {
    const clock = new Clock();
    const log: string[] = [];
    void clock.sleep(1).then(() => log.push(`sleeper resumed at ${clock.now}`));
    clock.at(1, () => void log.push('event at 1'));
    clock.at(0, () => {
      // Work an action leaves running after it returns (not awaited) still runs in order.
      void clock.sleep(1.5).then(() => log.push(`background resumed at ${clock.now}`));
    });
    clock.at(2, () => void log.push('event at 2'));

    await clock.run(5);

    expect(log).toEqual(['sleeper resumed at 1', 'event at 1', 'background resumed at 1.5', 'event at 2']);
  });

  it('is idle only when every activity has finished or is blocked on the clock', async () => {
    const clock = new Clock();
    let reachedSleep = false;
    void clock.spawn(async () => {
      await realDelay(20);
      reachedSleep = true;
      await clock.sleep(5);
    });

    expect(clock.idle()).toBe(false);
    await clock.settle();
    expect(reachedSleep).toBe(true);
    expect(clock.idle()).toBe(true);
    expect(clock.activities).toBe(1);

    await clock.run(10);
    expect(clock.activities).toBe(0);
  });

  it('throws a stall error, without moving time on, when an action waits on something that never comes', async () => {
    const clock = new Clock({ stallTimeoutMs: 100 });
    clock.after(1, () => new Promise<void>(() => undefined), { id: 'stuck-container' });
    const started = Date.now();

    await expect(clock.run(10)).rejects.toThrow(ClockStallError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(clock.now).toBe(1);
  });

  it('names the stuck activity in the stall error', async () => {
    const clock = new Clock({ stallTimeoutMs: 50 });
    clock.after(1, () => new Promise<void>(() => undefined), { id: 'stuck-container' });

    await expect(clock.run(10)).rejects.toThrow(/stuck-container.*clock\.waitFor/);
  });

  it('counts an activity awaiting another through waitFor as blocked', async () => {
    const clock = new Clock({ stallTimeoutMs: 200 });
    const log: string[] = [];
    clock.at(0, async () => {
      const value = await clock.waitFor(
        clock.spawn(async () => {
          await clock.sleep(3);
          return 'inner result';
        }),
      );
      log.push(`${value} at ${clock.now}`);
    });

    await clock.run(10);

    expect(log).toEqual(['inner result at 3']);
  });

  it('lets an activity waiting on a promise a plain action settles see it at that second, once touched', async () => {
    const clock = new Clock({ stallTimeoutMs: 200 });
    const log: string[] = [];
    let settle: (value: string) => void = () => undefined;
    clock.at(0, async () => {
      const value = await clock.waitFor(new Promise<string>((resolve) => (settle = resolve)));
      log.push(`${value} at ${clock.now}`);
    });
    clock.at(2, () => {
      clock.touch();
      settle('answer');
    });
    clock.at(7, () => undefined);

    await clock.run(10);

    expect(log).toEqual(['answer at 2']);
  });

  it('lets code inside an action find the context object its creator attached, across awaits', async () => {
    const clock = new Clock();
    const seen: string[] = [];
    for (const id of ['c1', 'c2']) {
      clock.at(
        0,
        async () => {
          await clock.sleep(id === 'c1' ? 2 : 1);
          seen.push(`${id}:${currentActivity<{ id: string }>()?.id}`);
          await Promise.resolve();
          seen.push(`${id}:${currentActivity<{ id: string }>()?.id}`);
        },
        { id },
      );
    }

    await clock.run(5);

    expect(seen).toEqual(['c2:c2', 'c2:c2', 'c1:c1', 'c1:c1']);
    expect(currentActivity()).toBeUndefined();
  });

  it('never resumes the sleeps of an abandoned context and does not wait for it', async () => {
    const clock = new Clock({ stallTimeoutMs: 200 });
    const container = { id: 'timed-out' };
    const log: string[] = [];
    clock.at(
      0,
      async () => {
        await clock.sleep(10);
        log.push('woke');
      },
      container,
    );
    clock.at(5, () => clock.abandon(container));

    await clock.run(100);

    expect(log).toEqual([]);
    expect(clock.activities).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('holds the wake-ups of a suspended context until it is resumed', async () => {
    const clock = new Clock();
    const container = { id: 'frozen' };
    const log: string[] = [];
    clock.at(
      0,
      async () => {
        await clock.sleep(1);
        log.push(`background work at ${clock.now}`);
      },
      container,
    );
    clock.at(0.5, () => clock.suspend(container));
    clock.at(30, () => clock.resume(container));

    await clock.run(60);

    expect(log).toEqual(['background work at 30']);
  });

  it('ends the run with the error of an async action that rejects', async () => {
    const clock = new Clock();
    clock.at(1, async () => {
      await clock.sleep(1);
      throw new Error('handler bug');
    });
    clock.at(5, () => undefined);

    await expect(clock.run(10)).rejects.toThrow('handler bug');
    expect(clock.now).toBe(2);
  });

  it('skips a cancelled timer and leaves it out of pending', async () => {
    const clock = new Clock();
    const log: number[] = [];
    const timer = clock.at(3, () => void log.push(3));
    clock.at(4, () => void log.push(4));
    timer.cancel();

    expect(clock.pending).toBe(1);
    await clock.run(10);
    expect(log).toEqual([4]);
  });

  it('runs synchronous actions at one instant in the order they were scheduled, and stops when asked', async () => {
    const clock = new Clock();
    const log: string[] = [];
    clock.at(2, () => void log.push('first'));
    clock.at(1, () => void log.push('earlier'));
    clock.at(2, () => void log.push('second'));
    clock.at(3, () => void log.push('after stop'));

    await clock.run(10, () => log.length === 3);

    expect(log).toEqual(['earlier', 'first', 'second']);
    expect(clock.now).toBe(2);
  });
});
