import { ECSClient, ListClustersCommand, type ListClustersCommandOutput } from '@aws-sdk/client-ecs';
import { RetryCounter, SimulatedRetryStrategy } from '../../sim/api/retry';
import { Clock, Random } from '../../sim/clock';

interface Answer {
  status: number;
  body: string;
}

const throttled: Answer = { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' };
const invalid: Answer = {
  status: 400,
  body: '{"__type":"InvalidParameterException","message":"Invalid identifier: Identifier is for 123456789012. Your accountId is 210987654321"}',
};
const serverError: Answer = { status: 500, body: '{"__type":"ServerException","message":"internal error"}' };
const clusters: Answer = {
  status: 200,
  body: '{"clusterArns":["arn:aws:ecs:us-east-1:123456789012:cluster/prod"]}',
};

/** A request handler in the shape the SDK accepts (see sim/api/in-process.ts) that plays a script of answers. */
function scripted(answers: Answer[]) {
  const sent: string[] = [];
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: { headers: Record<string, string> }) {
      sent.push(request.headers['amz-sdk-request'] ?? '');
      const answer = answers[Math.min(sent.length - 1, answers.length - 1)] as Answer;
      return {
        response: {
          statusCode: answer.status,
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'sim' },
          body: Buffer.from(answer.body),
        },
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  return { handler, sent };
}

function ecsWith(answers: Answer[], seed = 5) {
  const clock = new Clock();
  const counter = new RetryCounter(clock, new Random(seed));
  const { handler, sent } = scripted(answers);
  const client = new ECSClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'simulated', secretAccessKey: 'simulated' },
    maxAttempts: 3,
    requestHandler: handler as unknown as ECSClient['config']['requestHandler'],
  });
  const strategy = counter.install('ecs', client);
  /** Sends one ListClusters from inside a clock action and runs the clock until nothing is left. */
  const call = async (): Promise<{
    output?: ListClustersCommandOutput;
    error?: Error & { $metadata?: { attempts?: number } };
  }> => {
    const outcome: { output?: ListClustersCommandOutput; error?: Error } = {};
    clock.at(0, async () => {
      try {
        outcome.output = await client.send(new ListClustersCommand({}));
      } catch (error) {
        outcome.error = error as Error;
      }
    });
    await clock.run(Infinity);
    return outcome;
  };
  return { clock, counter, strategy, client, sent, call };
}

describe('the SDK standard retry strategy in simulated time', () => {
  let timeouts: jest.SpyInstance;
  beforeEach(() => {
    timeouts = jest.spyOn(global, 'setTimeout');
  });
  afterEach(() => timeouts.mockRestore());
  // A back-off is tens of milliseconds at least; a 1 ms timer is some library yielding a tick (seen
  // once in a while under load), not a sleep.
  const wallClockSleeps = () => timeouts.mock.calls.filter(([, ms]) => typeof ms === 'number' && ms > 1);

  it('succeeds on the third attempt after two throttles, backing off in simulated time only', async () => {
    const { clock, counter, sent, call } = ecsWith([throttled, throttled, clusters], 5);
    const started = Date.now();

    const { output, error } = await call();

    expect(error).toBeUndefined();
    expect(output?.clusterArns).toEqual(['arn:aws:ecs:us-east-1:123456789012:cluster/prod']);
    expect(output?.$metadata.attempts).toBe(3);
    expect(sent).toEqual(['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
    // Throttling back-off: random * min(1000 ms * 2^retry, 20 s), so under 1 s, then under 2 s.
    const random = new Random(5);
    const first = Math.floor(random.next() * 1000);
    const second = Math.floor(random.next() * 2000);
    expect(clock.now).toBeCloseTo((first + second) / 1000, 9);
    expect(clock.now).toBeGreaterThan(0);
    expect(clock.now).toBeLessThan(3);
    expect(output?.$metadata.totalRetryDelay).toBe(first + second);
    expect(wallClockSleeps()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(first + second);
    expect(counter.report()).toEqual({
      ecs: expect.objectContaining({ calls: 1, attempts: 3, retries: 2, throttlingRetries: 2, gaveUp: 0 }),
    });
  });

  it('does not retry a client error such as InvalidParameterException', async () => {
    const { clock, sent, call, counter } = ecsWith([invalid, clusters]);

    const { error } = await call();

    expect(error?.name).toBe('InvalidParameterException');
    expect(error?.$metadata?.attempts).toBe(1);
    expect(sent).toHaveLength(1);
    expect(clock.now).toBe(0);
    expect(counter.report().ecs).toMatchObject({ attempts: 1, retries: 0, gaveUp: 1 });
  });

  it('fails after exactly three attempts when every answer is a throttle', async () => {
    const { clock, sent, call, strategy } = ecsWith([throttled]);

    const { error } = await call();

    expect(error?.name).toBe('ThrottlingException');
    expect(error?.$metadata?.attempts).toBe(3);
    expect(sent).toHaveLength(3);
    expect(clock.now).toBeLessThan(3);
    expect(strategy.getCapacity()).toBe(500 - 2 * 5);
    expect(wallClockSleeps()).toEqual([]);
  });

  it('retries a 5xx as TRANSIENT with the 50 ms base delay', async () => {
    const { clock, sent, call } = ecsWith([serverError, clusters], 11);

    const { output } = await call();

    expect(output?.$metadata.attempts).toBe(2);
    expect(sent).toHaveLength(2);
    expect(clock.now).toBeCloseTo(Math.floor(new Random(11).next() * 50) / 1000, 9);
  });

  it('spends a 500-token quota at 14 per transient retry and 5 per throttling retry, and refunds on success', async () => {
    const clock = new Clock();
    const strategy = new SimulatedRetryStrategy({ clock, random: new Random(1), maxAttempts: 1000 });
    const granted = { TRANSIENT: 0, THROTTLING: 0 };
    clock.at(0, async () => {
      let token = await strategy.acquireInitialRetryToken('');
      for (;;) {
        try {
          token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' });
          granted.TRANSIENT++;
        } catch {
          break;
        }
      }
      strategy.recordSuccess(token);
    });
    await clock.run(Infinity);

    expect(granted.TRANSIENT).toBe(35);
    expect(strategy.getCapacity()).toBe(500 - 35 * 14 + 14);

    const fresh = new SimulatedRetryStrategy({ clock, random: new Random(1), maxAttempts: 1000 });
    clock.at(clock.now, async () => {
      let token = await fresh.acquireInitialRetryToken('');
      for (;;) {
        try {
          token = await fresh.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
          granted.THROTTLING++;
        } catch {
          break;
        }
      }
      fresh.recordSuccess(await fresh.acquireInitialRetryToken(''));
    });
    await clock.run(Infinity);

    expect(granted.THROTTLING).toBe(100);
    expect(fresh.getCapacity()).toBe(1);
    expect(fresh.stats.quotaExhausted).toBe(1);
  });

  it('never retries SERVER_ERROR or CLIENT_ERROR and returns tokens the middleware will not sleep on', async () => {
    const clock = new Clock();
    const strategy = new SimulatedRetryStrategy({ clock, random: new Random(1) });
    const token = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'SERVER_ERROR' })).rejects.toThrow(
      'No retry token available',
    );
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' })).rejects.toThrow(
      'No retry token available',
    );
    let next: Awaited<ReturnType<typeof strategy.refreshRetryTokenForRetry>> | undefined;
    clock.at(0, async () => {
      next = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
    });
    await clock.run(Infinity);

    expect(next?.getRetryCount()).toBe(1);
    expect(next?.getRetryDelay()).toBe(0);
    expect(next?.$retryLog?.acquisitionDelay).toBe(Math.round(clock.now * 1000));
  });
});
