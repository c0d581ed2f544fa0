import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SqsEnvelope, SqsRecord } from '../events/sqs';
import type { Telemetry } from '../observability';
import { RetryLaterError } from './act';
import type { DecisionPath } from '../decisions/host';
import {
  type BatchHost,
  containerDeps,
  type DrainDeps,
  driveHosts,
  type FunctionDependencies,
  type HostResult,
} from './drive-hosts';

/**
 * The handler of a function fed by an SQS queue, for one Lambda container: each readable record is
 * turned into hosts by `take` (or logged and dropped), all hosts of the batch are driven together,
 * and the messages of the hosts that failed come back (ReportBatchItemFailures). Given Lambda's
 * context, it acts on no host once the invocation is within ACT_MARGIN_MS of its timeout: those
 * hosts' messages come back, instead of the whole batch's when Lambda ends the invocation.
 */
export function sqsBatchHandler(
  dependencies: FunctionDependencies,
  path: DecisionPath,
  take: (record: SqsRecord, hosts: Map<string, BatchHost>, deps: DrainDeps) => void,
): (event: SQSEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SQSBatchResponse> {
  const { telemetry } = dependencies;
  const deps = containerDeps(dependencies, path);
  return async (event, context) => {
    // One invocation at a time per container: its deadline is the container's for this batch. (A
    // caller without Lambda's context, such as a test passing {}, sets none.)
    setDeadlines(deps, context);
    try {
      const hosts = new Map<string, BatchHost>();
      const records = readSqsBatch(event, telemetry);
      telemetry.measure('BatchSize', records.length);
      for (const record of records) take(record, hosts, deps);
      const results = await driveHosts([...hosts.values()], deps);
      return {
        batchItemFailures: failedMessages(results, ({ host }) => (host as BatchHost).messageIds, telemetry),
      };
    } finally {
      telemetry.publish();
    }
  };
}

/**
 * The records of an SQS batch that can be read at all. A record without a messageId or a body can
 * never succeed: it is logged once, naming the field, and dropped (not reported as a failure).
 */
export function readSqsBatch(event: unknown, telemetry: Telemetry): SqsRecord[] {
  const envelope = SqsEnvelope.safeParse(event);
  if (!envelope.success) {
    reject(telemetry, 'event is not an SQS batch', { field: 'Records' });
    return [];
  }
  const records: SqsRecord[] = [];
  for (const [index, raw] of envelope.data.Records.entries()) {
    const record = SqsRecord.safeParse(raw);
    if (record.success) records.push(record.data);
    else {
      const issue = record.error.issues[0];
      reject(telemetry, 'SQS record has no messageId or body', {
        field: [`Records[${index}]`, ...(issue?.path ?? [])].join('.'),
      });
    }
  }
  return records;
}

/** A message that can never succeed: one error line naming what was wrong, one metric, no AWS call. */
export function reject(telemetry: Telemetry, reason: string, details: Record<string, unknown>): void {
  telemetry.count('MessageRejected');
  telemetry.logger.error('message rejected and dropped: it can never succeed', {
    reason,
    ...Object.fromEntries(Object.entries(details).map(([key, value]) => [key, shortened(value)])),
  });
}

/**
 * Time kept at the end of an invocation: acting on a host waits for the container's Auto Scaling
 * share (shared/aws/pacer.ts), a few seconds at most for the calls already queued; starting no
 * action in the last 15 s of a 60 s timeout leaves them room to finish.
 */
export const ACT_MARGIN_MS = 15_000;

/**
 * Time kept at the end of an invocation after its last Auto Scaling call leaves the pacer: the call
 * itself, and the SDK's retries should it be throttled.
 */
export const CALL_MARGIN_MS = 5_000;

/** An invocation's deadlines (epoch ms); absent, unbounded. */
export interface Deadlines {
  /**
   * When it must stop starting actions: Lambda ends it at its timeout, and with it every host of the
   * batch. A host not acted on by then is failed, its messages retried.
   */
  actBy?: number;
  /**
   * When its last call to Auto Scaling must have left the pacer, a few seconds before Lambda ends it. A
   * host whose action could not start by then (the container's share is spoken for) is handed back
   * instead of queued; a host whose completion could not start by then is not read either (listInTurn).
   */
  callsBy?: number;
}

/**
 * Sets a container's deadlines for the invocation that `context` (Lambda's) describes: ACT_MARGIN_MS and
 * CALL_MARGIN_MS before its timeout. A caller without Lambda's context (a test passing {}) sets none.
 */
export function setDeadlines(
  target: Deadlines & { timing: { now(): number } },
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  also: Deadlines[] = [],
): void {
  const remaining = context?.getRemainingTimeInMillis;
  const deadline =
    typeof remaining === 'function' ? target.timing.now() + remaining.call(context) : undefined;
  for (const each of [target, ...also]) {
    if (deadline === undefined) {
      delete each.actBy;
      delete each.callsBy;
    } else {
      each.actBy = deadline - ACT_MARGIN_MS;
      each.callsBy = deadline - CALL_MARGIN_MS;
    }
  }
}

/** A value quoted in a log line: a message may hold up to 256 KB, a log line should stay readable. */
const QUOTED_MAX = 200;

function shortened(value: unknown): unknown {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined || text.length <= QUOTED_MAX) return value;
  return `${text.slice(0, QUOTED_MAX)}… (${text.length} characters)`;
}

/**
 * ReportBatchItemFailures: the messages of every host whose reads or actions failed come back after
 * the visibility timeout; the others are deleted. Each failed host is logged once with its error.
 */
export function failedMessages(
  results: HostResult[],
  messageIdsOf: (result: HostResult) => Iterable<string>,
  telemetry: Telemetry,
): SQSBatchItemFailure[] {
  const failures: SQSBatchItemFailure[] = [];
  for (const result of results) {
    if (result.error === undefined) continue;
    const { host, error } = result;
    const messageIds = [...messageIdsOf(result)];
    const log = error instanceof RetryLaterError ? telemetry.logger.info : telemetry.logger.error;
    log.call(telemetry.logger, 'host not settled: its messages will be retried', {
      ...host.context,
      instanceId: host.snapshot.ec2InstanceId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      messages: messageIds.length,
    });
    for (const itemIdentifier of messageIds) failures.push({ itemIdentifier });
  }
  return failures;
}
