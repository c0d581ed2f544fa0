import { createHash } from 'node:crypto';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { type Clock, type Random, simEpoch, type Timer } from './clock';
import type { InvokeResult, LambdaFunction } from './lambda';

/**
 * An SQS standard queue and the Lambda event source mapping that polls it, in simulated time
 * (aws-semantics.md §9.2; Lambda developer guide, "Using Lambda with Amazon SQS").
 *
 * Queue: at-least-once (with `duplicate`, a share of messages is stored twice under one message id),
 * no promised order; a received message is invisible for the visibility timeout and comes back unless
 * deleted with its latest receipt handle; every receive counts; with a redrive policy a message
 * received `maxReceiveCount` times goes to the dead-letter queue when it would become visible again.
 *
 * Event source mapping: gathers records until MaximumBatchingWindowInSeconds has passed since the
 * first one waited, or BatchSize records are there; runs at most ScalingConfig.MaximumConcurrency
 * batches at once; a batch the function throttles is tried again with back-off until its visibility
 * timeout runs out. A batch whose invocation fails (error, timeout) becomes visible again after the
 * visibility timeout; on success its records are deleted, except the ones a ReportBatchItemFailures
 * response lists. A response that lists an empty or unknown itemIdentifier, or is not an object,
 * fails the whole batch. Simplifications: messages are received when a batch closes (not
 * accumulated during the window), and the number of pollers does not ramp up.
 */

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
/** The SenderId of the sample record in the Lambda developer guide. */
const DEFAULT_SENDER = 'AIDAIENQZJOLO23YVJ4VO';

export interface RedrivePolicy {
  deadLetterTargetQueue: SqsQueue;
  maxReceiveCount: number;
}

export interface QueueOptions {
  /** VisibilityTimeout, 0-43200 s. Default 30. */
  visibilityTimeoutSeconds?: number;
  /** MessageRetentionPeriod, 60-1209600 s. Default 345600 (4 days). */
  messageRetentionSeconds?: number;
  /** DelaySeconds, 0-900. Default 0. */
  delaySeconds?: number;
  redrivePolicy?: RedrivePolicy;
  /** Share of messages stored twice (delivered twice), for at-least-once delivery. Default 0. */
  duplicate?: number;
}

export interface QueueStats {
  sent: number;
  received: number;
  deleted: number;
  expired: number;
  /** Messages this queue moved to its dead-letter queue. */
  movedToDeadLetterQueue: number;
}

/** A message as the queue stores it. */
export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: SQSMessageAttributes;
  readonly md5OfMessageAttributes: string | undefined;
  readonly senderId: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** Simulated second it becomes visible (again). */
  visibleAt: number;
  receiptHandle: string | undefined;
  state: 'delayed' | 'visible' | 'inflight' | 'deleted';
  /** Set on messages a redrive policy moved here. */
  deadLetterQueueSourceArn?: string;
}

export class SqsQueue {
  readonly arn: string;
  readonly url: string;
  readonly stats: QueueStats = { sent: 0, received: 0, deleted: 0, expired: 0, movedToDeadLetterQueue: 0 };
  readonly visibilityTimeoutSeconds: number;
  readonly redrivePolicy: RedrivePolicy | undefined;
  private readonly retention: number;
  private readonly delaySeconds: number;
  private readonly duplicate: number;
  /** Every message not deleted, in the order it was sent. */
  private readonly stored: StoredMessage[] = [];
  private readonly counts: Record<StoredMessage['state'], number> = {
    delayed: 0,
    visible: 0,
    inflight: 0,
    deleted: 0,
  };
  private readonly byHandle = new Map<string, StoredMessage>();
  private readonly availableListeners: (() => void)[] = [];
  private readonly deadLetterListeners: ((message: StoredMessage) => void)[] = [];

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly random: Random,
    options: QueueOptions = {},
  ) {
    this.arn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
    this.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.retention = options.messageRetentionSeconds ?? 345600;
    this.delaySeconds = options.delaySeconds ?? 0;
    this.duplicate = options.duplicate ?? 0;
    this.redrivePolicy = options.redrivePolicy;
    if (
      this.redrivePolicy &&
      !(this.redrivePolicy.maxReceiveCount >= 1 && this.redrivePolicy.maxReceiveCount <= 1000)
    )
      throw new Error(`${name}: maxReceiveCount must be 1-1000`);
  }

  /** SendMessage. */
  sendMessage(
    body: string,
    options: { delaySeconds?: number; messageAttributes?: SQSMessageAttributes; senderId?: string } = {},
  ): { messageId: string; md5OfMessageBody: string } {
    const messageId = this.random.uuid();
    const attributes = options.messageAttributes ?? {};
    const copies = this.random.chance(this.duplicate) ? 2 : 1;
    let md5 = '';
    for (let copy = 0; copy < copies; copy++) {
      const message = this.store({
        messageId,
        body,
        messageAttributes: attributes,
        senderId: options.senderId ?? DEFAULT_SENDER,
        delaySeconds: options.delaySeconds ?? this.delaySeconds,
      });
      md5 = message.md5OfBody;
    }
    this.stats.sent++;
    return { messageId, md5OfMessageBody: md5 };
  }

  /**
   * ReceiveMessage: up to `max` visible messages, each made invisible for the visibility timeout.
   * Returns copies: what the receiver saw, with this receive's handle.
   */
  receiveMessage(max: number, visibilityTimeoutSeconds = this.visibilityTimeoutSeconds): StoredMessage[] {
    const now = this.clock.now;
    const out: StoredMessage[] = [];
    for (const message of this.stored) {
      if (out.length >= max) break;
      if (message.state !== 'visible') continue;
      if (now - message.sentAt >= this.retention) {
        this.remove(message);
        this.stats.expired++;
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      this.setState(message, 'inflight');
      if (message.receiptHandle !== undefined) this.byHandle.delete(message.receiptHandle);
      message.receiptHandle = `${message.messageId}#${message.receiveCount}#${this.random.hex(24)}`;
      this.byHandle.set(message.receiptHandle, message);
      out.push(message);
    }
    this.compact();
    if (out.length > 0) {
      this.stats.received += out.length;
      this.setVisibility(out, visibilityTimeoutSeconds);
    }
    return out.map((message) => ({ ...message }));
  }

  /** DeleteMessage. Only the latest receipt handle of a message deletes it; others succeed and do nothing. */
  deleteMessage(receiptHandle: string): boolean {
    const message = this.byHandle.get(receiptHandle);
    if (message === undefined || message.state === 'deleted') return false;
    this.remove(message);
    this.stats.deleted++;
    this.compact();
    return true;
  }

  /** ChangeMessageVisibility of a message in flight, counted from now. */
  changeMessageVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): boolean {
    const message = this.byHandle.get(receiptHandle);
    if (message === undefined || message.state !== 'inflight') return false;
    this.setVisibility([message], visibilityTimeoutSeconds);
    return true;
  }

  /** ApproximateNumberOfMessages: visible now. */
  get visibleCount(): number {
    return this.count('visible');
  }

  /** ApproximateNumberOfMessagesNotVisible: in flight. */
  get inFlightCount(): number {
    return this.count('inflight');
  }

  /** ApproximateNumberOfMessagesDelayed. */
  get delayedCount(): number {
    return this.count('delayed');
  }

  /** What the queue holds (for a dead-letter queue: what reached it), oldest first. */
  messages(): readonly StoredMessage[] {
    return this.stored.filter((message) => message.state !== 'deleted');
  }

  /** Called (synchronously) whenever messages may have become visible. */
  onAvailable(listener: () => void): void {
    this.availableListeners.push(listener);
  }

  /** Called when a message of this queue goes to the dead-letter queue. */
  onDeadLetter(listener: (message: StoredMessage) => void): void {
    this.deadLetterListeners.push(listener);
  }

  private store(input: {
    messageId: string;
    body: string;
    messageAttributes: SQSMessageAttributes;
    senderId: string;
    delaySeconds: number;
    sentAt?: number;
    deadLetterQueueSourceArn?: string;
  }): StoredMessage {
    const now = this.clock.now;
    const message: StoredMessage = {
      messageId: input.messageId,
      body: input.body,
      md5OfBody: createHash('md5').update(input.body, 'utf8').digest('hex'),
      messageAttributes: input.messageAttributes,
      md5OfMessageAttributes: md5OfMessageAttributes(input.messageAttributes),
      senderId: input.senderId,
      sentAt: input.sentAt ?? now,
      receiveCount: 0,
      firstReceivedAt: undefined,
      visibleAt: now + input.delaySeconds,
      receiptHandle: undefined,
      state: input.delaySeconds > 0 ? 'delayed' : 'visible',
      ...(input.deadLetterQueueSourceArn !== undefined && {
        deadLetterQueueSourceArn: input.deadLetterQueueSourceArn,
      }),
    };
    this.stored.push(message);
    this.counts[message.state]++;
    if (message.state === 'delayed') {
      this.clock.at(message.visibleAt, () => {
        if (message.state !== 'delayed') return;
        this.setState(message, 'visible');
        this.available();
      });
    } else this.available();
    return message;
  }

  /** Makes messages invisible until now + seconds; they come back then unless deleted or moved again. */
  private setVisibility(messages: StoredMessage[], seconds: number): void {
    const visibleAt = this.clock.now + seconds;
    const handles = messages.map((message) => {
      message.visibleAt = visibleAt;
      return message.receiptHandle;
    });
    this.clock.at(visibleAt, () => {
      let any = false;
      messages.forEach((message, i) => {
        // Deleted, received again, or given another visibility timeout since: not this timer's business.
        if (
          message.state !== 'inflight' ||
          message.receiptHandle !== handles[i] ||
          message.visibleAt !== visibleAt
        )
          return;
        const redrive = this.redrivePolicy;
        if (redrive !== undefined && message.receiveCount >= redrive.maxReceiveCount) {
          this.remove(message);
          this.stats.movedToDeadLetterQueue++;
          redrive.deadLetterTargetQueue.store({
            messageId: message.messageId,
            body: message.body,
            messageAttributes: message.messageAttributes,
            senderId: message.senderId,
            delaySeconds: 0,
            sentAt: message.sentAt,
            deadLetterQueueSourceArn: this.arn,
          });
          redrive.deadLetterTargetQueue.stats.sent++;
          for (const listener of this.deadLetterListeners) listener(message);
          return;
        }
        this.setState(message, 'visible');
        any = true;
      });
      this.compact();
      if (any) this.available();
    });
  }

  private remove(message: StoredMessage): void {
    this.setState(message, 'deleted');
    if (message.receiptHandle !== undefined) this.byHandle.delete(message.receiptHandle);
  }

  /** Drops deleted messages once they are a good share of the store. */
  private compact(): void {
    const deleted = this.counts.deleted;
    if (deleted < 64 || deleted * 2 < this.stored.length) return;
    const kept = this.stored.filter((message) => message.state !== 'deleted');
    this.stored.length = 0;
    this.stored.push(...kept);
    this.counts.deleted = 0;
  }

  private count(state: StoredMessage['state']): number {
    return this.counts[state];
  }

  private setState(message: StoredMessage, state: StoredMessage['state']): void {
    this.counts[message.state]--;
    this.counts[state]++;
    message.state = state;
  }

  private available(): void {
    for (const listener of this.availableListeners) listener();
  }
}

/** A stored message as the record Lambda receives from the event source mapping. */
export function toSqsRecord(queue: SqsQueue, message: StoredMessage): SQSRecord {
  const record: SQSRecord = {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle ?? '',
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(Math.round(simEpoch() + message.sentAt * 1000)),
      SenderId: message.senderId,
      ApproximateFirstReceiveTimestamp: String(
        Math.round(simEpoch() + (message.firstReceivedAt ?? 0) * 1000),
      ),
      ...(message.deadLetterQueueSourceArn !== undefined && {
        DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn,
      }),
    },
    messageAttributes: message.messageAttributes,
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: REGION,
  };
  if (message.md5OfMessageAttributes !== undefined)
    record.md5OfMessageAttributes = message.md5OfMessageAttributes;
  return record;
}

/**
 * SQS's MD5 of message attributes: for each attribute in name order, the name, the data type and the
 * value, each as a 4-byte big-endian length and its bytes, with a transport byte (1 string, 2 binary)
 * before the value. Undefined when there are no attributes.
 */
export function md5OfMessageAttributes(attributes: SQSMessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as SQSMessageAttributes[string];
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(attribute.dataType, 'utf8'));
    if (attribute.binaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(attribute.binaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(attribute.stringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** The event source mapping's settings, named as in CreateEventSourceMapping and SAM's SQS event. */
export interface SqsEventSourceConfig {
  /** 1-10000, default 10; above 10 needs MaximumBatchingWindowInSeconds of at least 1. */
  BatchSize?: number;
  /** 0-300, default 0. */
  MaximumBatchingWindowInSeconds?: number;
  /** MaximumConcurrency 2-1000; without it only the function's concurrency limits the batches in flight. */
  ScalingConfig?: { MaximumConcurrency?: number };
  FunctionResponseTypes?: 'ReportBatchItemFailures'[];
  Enabled?: boolean;
}

export interface EventSourceStats {
  /** Invocations that got an answer (throttled attempts not counted). */
  batches: number;
  /** Records handed to the function, redeliveries included. */
  recordsDelivered: number;
  /** Size of every batch, in order. */
  batchSizes: number[];
  /** Records left to come back after the visibility timeout: failed batches and reported item failures. */
  recordsRetried: number;
  recordsDeleted: number;
  /** Records the queue's redrive policy moved to the dead-letter queue. */
  recordsToDeadLetterQueue: number;
  /** Batches that failed as a whole (error, timeout, invalid response). */
  failedBatches: number;
  /** Batches whose response listed some records as failed. */
  partialBatches: number;
  /** Invoke attempts refused by the function's concurrency limit. */
  throttledInvokes: number;
  /** Most batches in flight at once. */
  peakConcurrency: number;
}

/** Back-off of a throttled batch: doubles from one second, at most a minute [inferred]. */
const THROTTLE_BACKOFF_SECONDS = [1, 2, 4, 8, 16, 32, 60];

export class SqsEventSource {
  readonly stats: EventSourceStats = {
    batches: 0,
    recordsDelivered: 0,
    batchSizes: [],
    recordsRetried: 0,
    recordsDeleted: 0,
    recordsToDeadLetterQueue: 0,
    failedBatches: 0,
    partialBatches: 0,
    throttledInvokes: 0,
    peakConcurrency: 0,
  };
  readonly batchSize: number;
  readonly windowSeconds: number;
  readonly maximumConcurrency: number | undefined;
  readonly reportBatchItemFailures: boolean;
  private enabled: boolean;
  private inFlight = 0;
  /** When the records now waiting began to wait for a batch. */
  private gatheringSince: number | undefined;
  private windowTimer: Timer | undefined;
  private pumpScheduled = false;

  constructor(
    readonly queue: SqsQueue,
    readonly fn: LambdaFunction,
    private readonly clock: Clock,
    config: SqsEventSourceConfig = {},
  ) {
    this.batchSize = config.BatchSize ?? 10;
    this.windowSeconds = config.MaximumBatchingWindowInSeconds ?? 0;
    this.maximumConcurrency = config.ScalingConfig?.MaximumConcurrency;
    this.reportBatchItemFailures = config.FunctionResponseTypes?.includes('ReportBatchItemFailures') ?? false;
    this.enabled = config.Enabled ?? true;
    const invalid = (message: string): never => {
      throw new Error(`InvalidParameterValueException: ${message}`);
    };
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10000)
      invalid(`BatchSize must be 1-10000 for a standard queue, got ${this.batchSize}`);
    if (!(this.windowSeconds >= 0 && this.windowSeconds <= 300))
      invalid(`MaximumBatchingWindowInSeconds must be 0-300, got ${this.windowSeconds}`);
    if (this.batchSize > 10 && this.windowSeconds < 1)
      invalid(
        'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10',
      );
    const max = this.maximumConcurrency;
    if (max !== undefined && !(Number.isInteger(max) && max >= 2 && max <= 1000))
      invalid(`ScalingConfig.MaximumConcurrency must be 2-1000, got ${max}`);
    if (queue.visibilityTimeoutSeconds < fn.timeoutSeconds)
      invalid(
        `Queue visibility timeout: ${queue.visibilityTimeoutSeconds} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds`,
      );
    queue.onAvailable(() => this.schedulePump());
    queue.onDeadLetter(() => this.stats.recordsToDeadLetterQueue++);
    this.schedulePump();
  }

  /** Batches in flight now. */
  get concurrency(): number {
    return this.inFlight;
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (enabled) this.schedulePump();
  }

  /** Looks at the queue once the current instant's sends are all in, so they can share a batch. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    this.clock.after(0, () => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.enabled && this.inFlight < (this.maximumConcurrency ?? Infinity)) {
      const visible = this.queue.visibleCount;
      if (visible === 0) {
        this.gatheringSince = undefined;
        this.windowTimer?.cancel();
        this.windowTimer = undefined;
        return;
      }
      const now = this.clock.now;
      this.gatheringSince ??= now;
      const closesAt = this.gatheringSince + this.windowSeconds;
      if (visible < this.batchSize && now < closesAt) {
        this.windowTimer ??= this.clock.at(closesAt, () => {
          this.windowTimer = undefined;
          this.pump();
        });
        return;
      }
      this.windowTimer?.cancel();
      this.windowTimer = undefined;
      this.gatheringSince = undefined;
      this.startBatch();
    }
  }

  private startBatch(): void {
    const messages = this.queue.receiveMessage(this.batchSize);
    if (messages.length === 0) return;
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(this.queue, message)) };
    this.inFlight++;
    this.stats.peakConcurrency = Math.max(this.stats.peakConcurrency, this.inFlight);
    const visibleAt = messages[0]?.visibleAt ?? this.clock.now;
    this.invoke(event, messages, visibleAt, 0);
  }

  private invoke(event: SQSEvent, messages: StoredMessage[], visibleAt: number, attempt: number): void {
    void this.fn.invoke(event).then((outcome) => {
      if (!outcome.ok && outcome.reason === 'throttled') {
        this.stats.throttledInvokes++;
        const backoff = THROTTLE_BACKOFF_SECONDS[
          Math.min(attempt, THROTTLE_BACKOFF_SECONDS.length - 1)
        ] as number;
        if (this.clock.now + backoff < visibleAt) {
          this.clock.after(backoff, () => this.invoke(event, messages, visibleAt, attempt + 1));
        } else {
          // Given up: the records come back when their visibility timeout ends.
          this.stats.recordsRetried += messages.length;
          this.done();
        }
        return;
      }
      this.stats.batches++;
      this.stats.recordsDelivered += messages.length;
      this.stats.batchSizes.push(messages.length);
      this.settleBatch(outcome, event, messages.length);
      this.done();
    });
  }

  private settleBatch(outcome: InvokeResult, event: SQSEvent, size: number): void {
    let failed: Set<string> | 'all';
    if (!outcome.ok) failed = 'all';
    else if (!this.reportBatchItemFailures) failed = new Set();
    else failed = batchItemFailures(outcome.result, new Set(event.Records.map((record) => record.messageId)));
    if (failed === 'all') {
      this.stats.failedBatches++;
      this.stats.recordsRetried += size;
      return;
    }
    if (failed.size > 0) this.stats.partialBatches++;
    for (const record of event.Records) {
      if (failed.has(record.messageId)) this.stats.recordsRetried++;
      // A stale handle (the visibility ran out and the message was received again) deletes nothing.
      else if (this.queue.deleteMessage(record.receiptHandle)) this.stats.recordsDeleted++;
    }
  }

  private done(): void {
    this.inFlight--;
    this.schedulePump();
  }
}

/**
 * The record ids a ReportBatchItemFailures response lists, or 'all' when Lambda would fail the whole
 * batch: a response that is not an object, a batchItemFailures that is not a list, or an entry whose
 * itemIdentifier is missing, empty or not a message of the batch. Nothing, null, `{}` and an empty
 * list are complete success.
 */
export function batchItemFailures(result: unknown, batch: Set<string>): Set<string> | 'all' {
  if (result === undefined || result === null) return new Set();
  if (typeof result !== 'object' || Array.isArray(result)) return 'all';
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !batch.has(id)) return 'all';
    ids.add(id);
  }
  return ids;
}
