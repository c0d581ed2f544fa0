import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Clock, Random } from '../../sim/clock';
import { LambdaFunction } from '../../sim/lambda';
import {
  batchItemFailures,
  md5OfMessageAttributes,
  type SqsEventSourceConfig,
  SqsEventSource,
  SqsQueue,
  type QueueOptions,
} from '../../sim/sqs';

interface Batch {
  at: number;
  bodies: string[];
  receiveCounts: string[];
}

/** A queue, a function and the mapping between them; `respond` decides what each invocation returns. */
function pipeline(
  config: SqsEventSourceConfig,
  respond: (event: SQSEvent, call: number) => unknown = () => undefined,
  options: {
    queue?: QueueOptions;
    concurrency?: number;
    workSeconds?: number;
    dlq?: boolean;
    maxReceiveCount?: number;
  } = {},
) {
  const clock = new Clock();
  const random = new Random(3);
  const dlq = options.dlq ? new SqsQueue('drain-events-dlq', clock, random) : undefined;
  const queue = new SqsQueue('drain-events', clock, random, {
    visibilityTimeoutSeconds: 30,
    ...options.queue,
    ...(dlq && {
      redrivePolicy: { deadLetterTargetQueue: dlq, maxReceiveCount: options.maxReceiveCount ?? 3 },
    }),
  });
  const batches: Batch[] = [];
  let running = 0;
  let peak = 0;
  const fn = new LambdaFunction(clock, {
    name: 'finish-drain',
    factory: () => async (event) => {
      const sqs = event as SQSEvent;
      batches.push({
        at: clock.now,
        bodies: sqs.Records.map((record) => record.body),
        receiveCounts: sqs.Records.map((record) => record.attributes.ApproximateReceiveCount),
      });
      running++;
      peak = Math.max(peak, running);
      if (options.workSeconds) await clock.sleep(options.workSeconds);
      running--;
      return respond(sqs, batches.length);
    },
    timeoutSeconds: 5,
    concurrency: options.concurrency ?? 100,
    coldStartSeconds: 0,
  });
  const mapping = new SqsEventSource(queue, fn, clock, config);
  return { clock, queue, dlq, fn, mapping, batches, peak: () => peak };
}

const send = (queue: SqsQueue, ...bodies: string[]) =>
  bodies.map((body) => queue.sendMessage(body).messageId);

describe('SQS queue and Lambda event source mapping', () => {
  it('gathers records until the batching window has passed', async () => {
    const { clock, queue, batches } = pipeline({ BatchSize: 10, MaximumBatchingWindowInSeconds: 5 });
    clock.at(0, () => void send(queue, 'a', 'b', 'c'));
    clock.at(2, () => void send(queue, 'd', 'e'));

    await clock.run(100);

    expect(batches).toEqual([
      { at: 5, bodies: ['a', 'b', 'c', 'd', 'e'], receiveCounts: ['1', '1', '1', '1', '1'] },
    ]);
  });

  it('sends a full batch at once without waiting for the window', async () => {
    const { clock, queue, batches, mapping } = pipeline({
      BatchSize: 20,
      MaximumBatchingWindowInSeconds: 60,
    });
    const bodies = Array.from({ length: 25 }, (_, n) => `m${n}`);
    clock.at(1, () => void send(queue, ...bodies));

    await clock.run(200);

    expect(batches.map((batch) => [batch.at, batch.bodies.length])).toEqual([
      [1, 20],
      [61, 5],
    ]);
    expect(mapping.stats).toMatchObject({
      batches: 2,
      recordsDelivered: 25,
      batchSizes: [20, 5],
      recordsDeleted: 25,
    });
    expect(queue.visibleCount + queue.inFlightCount).toBe(0);
  });

  it('with ReportBatchItemFailures deletes the others and delivers only the failed records again after the visibility timeout', async () => {
    const { clock, queue, batches, mapping } = pipeline(
      { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] },
      (event, call): SQSBatchResponse => ({
        batchItemFailures:
          call === 1
            ? event.Records.filter((record) => record.body === 'b' || record.body === 'd').map((record) => ({
                itemIdentifier: record.messageId,
              }))
            : [],
      }),
    );
    clock.at(0, () => void send(queue, 'a', 'b', 'c', 'd', 'e'));

    await clock.run(200);

    expect(batches).toEqual([
      { at: 0, bodies: ['a', 'b', 'c', 'd', 'e'], receiveCounts: ['1', '1', '1', '1', '1'] },
      { at: 30, bodies: ['b', 'd'], receiveCounts: ['2', '2'] },
    ]);
    expect(mapping.stats).toMatchObject({ recordsRetried: 2, partialBatches: 1, recordsDeleted: 5 });
  });

  it.each([
    ['an empty itemIdentifier', () => ({ batchItemFailures: [{ itemIdentifier: '' }] })],
    [
      'an itemIdentifier that is not in the batch',
      () => ({ batchItemFailures: [{ itemIdentifier: 'not-a-message-of-this-batch' }] }),
    ],
    ['a thrown error', () => Promise.reject(new Error('ECS throttled us'))],
  ])(
    'fails the whole batch on %s: every record comes back after the visibility timeout',
    async (_, answer) => {
      const { clock, queue, batches, mapping } = pipeline(
        { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] },
        (_event, call) => (call === 1 ? answer() : undefined),
      );
      clock.at(0, () => void send(queue, 'a', 'b', 'c'));

      await clock.run(200);

      expect(batches.map((batch) => [batch.at, batch.bodies, batch.receiveCounts])).toEqual([
        [0, ['a', 'b', 'c'], ['1', '1', '1']],
        [30, ['a', 'b', 'c'], ['2', '2', '2']],
      ]);
      expect(mapping.stats).toMatchObject({ failedBatches: 1, recordsRetried: 3 });
    },
  );

  it('makes a timed-out batch visible again after the visibility timeout', async () => {
    const { clock, queue, batches, fn } = pipeline({ BatchSize: 10 }, () => undefined, { workSeconds: 8 });
    clock.at(0, () => void send(queue, 'a'));

    await clock.run(45);

    expect(batches.map((batch) => batch.at)).toEqual([0, 30]);
    expect(fn.stats.timeouts).toBe(2);
  });

  it('moves a record to the dead-letter queue once it has been received maxReceiveCount times', async () => {
    const { clock, queue, dlq, batches, mapping } = pipeline(
      { BatchSize: 10 },
      () => {
        throw new Error('always fails');
      },
      { dlq: true, maxReceiveCount: 3 },
    );
    let messageId = '';
    clock.at(0, () => {
      messageId = queue.sendMessage('poison').messageId;
    });

    await clock.run(500);

    expect(batches.map((batch) => [batch.at, batch.receiveCounts])).toEqual([
      [0, ['1']],
      [30, ['2']],
      [60, ['3']],
    ]);
    expect(dlq?.messages().map((message) => [message.messageId, message.body])).toEqual([
      [messageId, 'poison'],
    ]);
    expect(dlq?.messages()[0]?.deadLetterQueueSourceArn).toBe(queue.arn);
    expect(queue.stats.movedToDeadLetterQueue).toBe(1);
    expect(mapping.stats.recordsToDeadLetterQueue).toBe(1);
    expect(queue.visibleCount + queue.inFlightCount).toBe(0);
  });

  it('never runs more batches at once than ScalingConfig.MaximumConcurrency', async () => {
    const { clock, queue, batches, mapping, peak } = pipeline(
      { BatchSize: 1, ScalingConfig: { MaximumConcurrency: 2 } },
      () => undefined,
      { workSeconds: 4 },
    );
    clock.at(0, () => void send(queue, ...Array.from({ length: 10 }, (_, n) => `m${n}`)));

    await clock.run(100);

    expect(peak()).toBe(2);
    expect(mapping.stats.peakConcurrency).toBe(2);
    expect(batches.map((batch) => batch.at)).toEqual([0, 0, 4, 4, 8, 8, 12, 12, 16, 16]);
  });

  it('tries a batch the function throttles again, and delivers every record in the end', async () => {
    const { clock, queue, batches, mapping, fn } = pipeline(
      { BatchSize: 1, ScalingConfig: { MaximumConcurrency: 3 } },
      () => undefined,
      { workSeconds: 2, concurrency: 1 },
    );
    clock.at(0, () => void send(queue, 'a', 'b', 'c'));

    await clock.run(100);

    expect(batches.map((batch) => batch.bodies[0]).sort()).toEqual(['a', 'b', 'c']);
    expect(mapping.stats.throttledInvokes).toBeGreaterThan(0);
    expect(fn.stats.throttled).toBe(mapping.stats.throttledInvokes);
    expect(fn.stats.peakConcurrency).toBe(1);
  });

  it('hands the function records shaped as Lambda delivers them', async () => {
    const clock = new Clock();
    let event: SQSEvent | undefined;
    const fn = new LambdaFunction(clock, {
      name: 'probe',
      factory: () => (e) => void (event = e as SQSEvent),
      timeoutSeconds: 5,
      concurrency: 1,
      coldStartSeconds: 0,
    });
    const probeQueue = new SqsQueue('probe', clock, new Random(9));
    new SqsEventSource(probeQueue, fn, clock, {});
    const body = JSON.stringify({ 'detail-type': 'ECS Task State Change' });
    clock.at(12, () => {
      probeQueue.sendMessage(body, {
        messageAttributes: { timestamp: { dataType: 'Number', stringValue: '1493147359900' } },
      });
    });

    await clock.run(20);

    const record = event?.Records[0];
    expect(record).toMatchObject({
      body,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:probe',
      awsRegion: 'us-east-1',
      md5OfBody: createHash('md5').update(body).digest('hex'),
      md5OfMessageAttributes: '235c5c510d26fb653d073faed50ae77c',
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
    });
    expect(record?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.receiptHandle).toEqual(expect.any(String));
    expect(Number(record?.attributes.SentTimestamp)).toBe(Date.UTC(2026, 0, 10, 12, 0, 12));
  });

  it('refuses settings CreateEventSourceMapping refuses', () => {
    const make =
      (config: SqsEventSourceConfig, visibility = 30) =>
      () => {
        const clock = new Clock();
        const queue = new SqsQueue('q', clock, new Random(1), { visibilityTimeoutSeconds: visibility });
        const fn = new LambdaFunction(clock, {
          name: 'f',
          factory: () => () => undefined,
          timeoutSeconds: 60,
          concurrency: 1,
          coldStartSeconds: 0,
        });
        return new SqsEventSource(queue, fn, clock, config);
      };

    expect(make({}, 30)).toThrow(/visibility timeout: 30 seconds is less than Function timeout: 60/);
    expect(make({ BatchSize: 100 }, 360)).toThrow(/batch window/);
    expect(make({ BatchSize: 10001, MaximumBatchingWindowInSeconds: 1 }, 360)).toThrow(/BatchSize/);
    expect(make({ ScalingConfig: { MaximumConcurrency: 1 } }, 360)).toThrow(/MaximumConcurrency/);
    expect(
      make(
        {
          BatchSize: 10000,
          MaximumBatchingWindowInSeconds: 300,
          ScalingConfig: { MaximumConcurrency: 1000 },
        },
        360,
      ),
    ).not.toThrow();
  });

  it('reads a batch response as Lambda does', () => {
    const batch = new Set(['m1', 'm2']);
    expect(batchItemFailures(undefined, batch)).toEqual(new Set());
    expect(batchItemFailures({}, batch)).toEqual(new Set());
    expect(batchItemFailures({ batchItemFailures: null }, batch)).toEqual(new Set());
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, batch)).toEqual(
      new Set(['m2']),
    );
    expect(batchItemFailures({ batchItemFailures: [{ itemIdentifier: null }] }, batch)).toBe('all');
    expect(batchItemFailures({ batchItemFailures: [{ id: 'm1' }] }, batch)).toBe('all');
    expect(batchItemFailures({ batchItemFailures: 'm1' }, batch)).toBe('all');
    expect(batchItemFailures('ok', batch)).toBe('all');
  });

  it('computes the MD5 of message attributes as SQS does', () => {
    // Vectors from third-party SQS emulators' tests (localstack, sqslite), checked against SQS.
    expect(md5OfMessageAttributes({ timestamp: { dataType: 'Number', stringValue: '1493147359900' } })).toBe(
      '235c5c510d26fb653d073faed50ae77c',
    );
    expect(
      md5OfMessageAttributes({
        ordinal: { dataType: 'Number', stringValue: '1' },
        category: { dataType: 'String', stringValue: 'test' },
      }),
    ).toBe('d21ae90c49061e927f57df5f5d72be1f');
    expect(md5OfMessageAttributes({})).toBeUndefined();
  });

  it('only deletes a message with its latest receipt handle', async () => {
    const clock = new Clock();
    const queue = new SqsQueue('q', clock, new Random(1), { visibilityTimeoutSeconds: 10 });
    queue.sendMessage('x');
    const [first] = queue.receiveMessage(1);
    await clock.run(11);
    const [second] = queue.receiveMessage(1);

    expect(second?.receiveCount).toBe(2);
    expect(queue.deleteMessage(first?.receiptHandle ?? '')).toBe(false);
    expect(queue.inFlightCount).toBe(1);
    expect(queue.deleteMessage(second?.receiptHandle ?? '')).toBe(true);
    expect(queue.inFlightCount).toBe(0);
  });
});
