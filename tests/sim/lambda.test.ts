import { Clock, Random } from '../../sim/clock';
import { deliver, NO_DELIVERY_FAULTS } from '../../sim/delivery';
import { currentContainer, type InvokeResult, LambdaFunction, type LambdaHandler } from '../../sim/lambda';

interface Seen {
  event: unknown;
  coldStart: number;
  callsInContainer: number;
  container: string | undefined;
  startedAt: number;
  endedAt?: number;
}

/** A function whose module state (a cold-start number and a call counter) lives in each container. */
function counting(clock: Clock, seen: Seen[], work: (event: unknown) => Promise<void>) {
  let coldStarts = 0;
  return (): LambdaHandler => {
    const coldStart = ++coldStarts;
    let calls = 0;
    return async (event) => {
      calls++;
      const entry: Seen = {
        event,
        coldStart,
        callsInContainer: calls,
        container: currentContainer()?.id,
        startedAt: clock.now,
      };
      seen.push(entry);
      await work(event);
      entry.endedAt = clock.now;
    };
  };
}

describe('LambdaFunction', () => {
  it('runs two concurrent invocations in two containers, each with its own module state', async () => {
    const clock = new Clock();
    const seen: Seen[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: counting(clock, seen, () => clock.sleep(5)),
      timeoutSeconds: 60,
      concurrency: 10,
      coldStartSeconds: 1,
    });
    clock.at(0, () => {
      fn.enqueue('a');
      fn.enqueue('b');
    });

    await clock.run(100);

    expect(seen).toEqual([
      { event: 'a', coldStart: 1, callsInContainer: 1, container: 'f#1', startedAt: 1, endedAt: 6 },
      { event: 'b', coldStart: 2, callsInContainer: 1, container: 'f#2', startedAt: 1, endedAt: 6 },
    ]);
    expect(fn.stats).toMatchObject({ invocations: 2, coldStarts: 2, peakConcurrency: 2, errors: 0 });
  });

  it('reuses a warm container, the most recently used first, without a new cold start', async () => {
    const clock = new Clock();
    const seen: Seen[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: counting(clock, seen, (event) => clock.sleep(event === 'short' ? 3 : 6)),
      timeoutSeconds: 60,
      concurrency: 10,
      coldStartSeconds: 1,
    });
    clock.at(0, () => {
      fn.enqueue('short'); // f#1, idle from 4
      fn.enqueue('long'); // f#2, idle from 7
    });
    clock.at(20, () => fn.enqueue('later'));

    await clock.run(100);

    expect(seen[2]).toEqual({
      event: 'later',
      coldStart: 2,
      callsInContainer: 2,
      container: 'f#2',
      startedAt: 20,
      endedAt: 26,
    });
    expect(fn.stats.coldStarts).toBe(2);
  });

  it('fails an invocation that runs past its timeout, counts an error and discards the container and its work', async () => {
    const clock = new Clock();
    const seen: Seen[] = [];
    const effects: string[] = [];
    let remainingAtStart = 0;
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: counting(clock, seen, async (event) => {
        if (event !== 'slow') return;
        await clock.sleep(10);
        effects.push('work after the timeout');
      }),
      timeoutSeconds: 3,
      concurrency: 10,
      coldStartSeconds: 0,
    });
    const probe = new LambdaFunction(clock, {
      name: 'probe',
      factory: () => (_event, context) => {
        remainingAtStart = context.getRemainingTimeInMillis();
      },
      timeoutSeconds: 3,
      concurrency: 1,
      coldStartSeconds: 0,
    });
    const outcomes: InvokeResult[] = [];
    clock.at(0, () => {
      void fn.invoke('slow').then((outcome) => outcomes.push(outcome));
    });
    clock.at(5, () => {
      void fn.invoke('quick').then((outcome) => outcomes.push(outcome));
      void probe.invoke('probe');
    });

    await clock.run(100);

    expect(outcomes[0]).toMatchObject({ ok: false, reason: 'timeout', error: { name: 'Sandbox.Timedout' } });
    expect(outcomes[0]?.ok === false && outcomes[0].error.message).toBe('Task timed out after 3.00 seconds');
    expect(outcomes[1]).toEqual({ ok: true, result: undefined });
    expect(effects).toEqual([]);
    expect(seen.map((s) => s.container)).toEqual(['f#1', 'f#2']);
    expect(fn.stats).toMatchObject({ invocations: 2, errors: 1, timeouts: 1, coldStarts: 2 });
    expect(remainingAtStart).toBe(3000);
  });

  it('marks the timed-out container dead, so a transport can refuse its calls', async () => {
    const clock = new Clock();
    const containers: ReturnType<typeof currentContainer>[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async () => {
        containers.push(currentContainer());
        await clock.sleep(10);
      },
      timeoutSeconds: 2,
      concurrency: 1,
      coldStartSeconds: 0,
    });
    clock.at(0, () => fn.enqueue('x'));

    await clock.run(1);
    expect(containers[0]).toMatchObject({ dead: false, frozen: false, busy: true });
    await clock.run(3);
    expect(containers[0]).toMatchObject({ dead: true });
  });

  it('crashes a share of invocations half-way: what ran before the crash stays done, nothing after it happens', async () => {
    const clock = new Clock();
    const effects: string[] = [];
    const containers: ReturnType<typeof currentContainer>[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async (event) => {
        containers.push(currentContainer());
        effects.push(`${String(event)}: first call`);
        await clock.sleep(10);
        effects.push(`${String(event)}: second call`);
      },
      timeoutSeconds: 60,
      concurrency: 10,
      coldStartSeconds: 0,
      random: new Random(3),
      crashShare: 1,
      crashWithinSeconds: 5,
    });
    const outcomes: InvokeResult[] = [];
    clock.at(0, () => {
      void fn.invoke('a').then((outcome) => outcomes.push(outcome));
    });

    await clock.run(100);

    expect(outcomes).toEqual([
      { ok: false, reason: 'crash', error: expect.objectContaining({ name: 'Runtime.ExitError' }) },
    ]);
    expect(effects).toEqual(['a: first call']);
    expect(containers[0]).toMatchObject({ dead: true });
    expect(fn.stats).toMatchObject({ invocations: 1, errors: 1, crashes: 1, timeouts: 0 });
  });

  it('spares every invocation when the crash share is 0, and draws nothing from the run randomness', async () => {
    const clock = new Clock();
    const random = new Random(3);
    const untouched = new Random(3);
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async () => clock.sleep(1),
      timeoutSeconds: 60,
      concurrency: 10,
      coldStartSeconds: 0,
      random,
      crashShare: 0,
    });
    const outcomes: InvokeResult[] = [];
    clock.at(0, () => {
      for (const event of ['a', 'b', 'c']) void fn.invoke(event).then((outcome) => outcomes.push(outcome));
    });

    await clock.run(100);

    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true]);
    expect(fn.stats.crashes).toBe(0);
    // Request ids draw from it; the crash fault does not when it is off.
    expect(random.uuid()).toBe(
      (() => {
        for (let n = 0; n < 3; n++) untouched.uuid();
        return untouched.uuid();
      })(),
    );
  });

  it('retries a failed asynchronous event after 60 and then 120 s, then sends it to the failure destination', async () => {
    const clock = new Clock();
    const attempts: number[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async () => {
        attempts.push(clock.now);
        throw new Error('ThrottlingException: Rate exceeded');
      },
      timeoutSeconds: 30,
      concurrency: 10,
      coldStartSeconds: 0,
    });
    clock.at(10, () => fn.enqueue({ id: 'e1' }));

    await clock.run(1000);

    expect(attempts).toEqual([10, 70, 190]);
    expect(fn.failureDestination).toEqual([
      { event: { id: 'e1' }, error: 'Error: ThrottlingException: Rate exceeded', attempts: 3, at: 190 },
    ]);
    expect(fn.stats).toMatchObject({ invocations: 3, errors: 3 });
  });

  it('keeps asynchronous events queued at the concurrency limit and refuses synchronous invokes', async () => {
    const clock = new Clock();
    const started: string[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async (event) => {
        started.push(`${String(event)}@${clock.now}`);
        await clock.sleep(5);
      },
      timeoutSeconds: 30,
      concurrency: 1,
      coldStartSeconds: 0,
    });
    let refused: InvokeResult | undefined;
    clock.at(0, () => {
      fn.enqueue('a');
      fn.enqueue('b');
    });
    clock.at(1, () => {
      void fn.invoke('sync').then((outcome) => (refused = outcome));
    });

    await clock.run(100);

    expect(started).toEqual(['a@0', 'b@5']);
    expect(refused).toMatchObject({
      ok: false,
      reason: 'throttled',
      error: { name: 'TooManyRequestsException' },
    });
    expect(fn.stats).toMatchObject({ throttled: 1, queued: 1, peakConcurrency: 1 });
  });

  it('freezes an idle container: work a handler left running waits for the next invocation', async () => {
    const clock = new Clock();
    const log: string[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: () => async (event) => {
        log.push(`${String(event)}@${clock.now}`);
        if (event === 'first') void clock.sleep(10).then(() => log.push(`background@${clock.now}`));
      },
      timeoutSeconds: 30,
      concurrency: 1,
      coldStartSeconds: 0,
    });
    clock.at(0, () => fn.enqueue('first'));
    clock.at(50, () => fn.enqueue('second'));

    await clock.run(100);

    expect(log).toEqual(['first@0', 'second@50', 'background@50']);
  });

  it('starts a new container once a warm one has been idle longer than maxIdleSeconds', async () => {
    const clock = new Clock();
    const seen: Seen[] = [];
    const fn = new LambdaFunction(clock, {
      name: 'f',
      factory: counting(clock, seen, async () => undefined),
      timeoutSeconds: 30,
      concurrency: 1,
      coldStartSeconds: 0,
      maxIdleSeconds: 300,
    });
    clock.at(0, () => fn.enqueue('a'));
    clock.at(200, () => fn.enqueue('b'));
    clock.at(600, () => fn.enqueue('c'));

    await clock.run(1000);

    expect(seen.map((s) => s.container)).toEqual(['f#1', 'f#1', 'f#2']);
  });
});

describe('delivery to a target', () => {
  function delivered(faults: Partial<typeof NO_DELIVERY_FAULTS>, count = 200) {
    const clock = new Clock();
    const random = new Random(1);
    const arrivals: { id: number; at: number }[] = [];
    let lost = 0;
    let twice = 0;
    for (let id = 0; id < count; id++) {
      const copies = deliver(clock, random, { ...NO_DELIVERY_FAULTS, ...faults }, [0.2, 1.5], () =>
        arrivals.push({ id, at: clock.now }),
      );
      if (copies === 0) lost++;
      if (copies === 2) twice++;
    }
    return clock.run(1000).then(() => ({ arrivals, lost, twice }));
  }

  it('hands every event over once, after the latency, when no fault is asked for', async () => {
    const { arrivals, lost, twice } = await delivered({});

    expect(lost).toBe(0);
    expect(twice).toBe(0);
    expect(arrivals).toHaveLength(200);
    expect(Math.min(...arrivals.map((a) => a.at))).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...arrivals.map((a) => a.at))).toBeLessThanOrEqual(1.5);
  });

  it('loses, duplicates and reorders events in the shares asked for', async () => {
    const lossy = await delivered({ drop: 1 });
    expect(lossy).toEqual({ arrivals: [], lost: 200, twice: 0 });

    const twice = await delivered({ duplicate: 1 });
    expect(twice.arrivals).toHaveLength(400);
    expect(twice.twice).toBe(200);

    const late = await delivered({ delay: 1, maxDelaySeconds: 100 });
    expect(Math.max(...late.arrivals.map((a) => a.at))).toBeGreaterThan(10);
  });
});
