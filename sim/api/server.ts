import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingError } from '../autoscaling';
import type { Clock, Random } from '../clock';
import { Ec2Error, type Ec2Model } from '../ec2';
import type { SsmParameters } from '../ssm';
import type { TaskDefinitions } from '../task-definitions';
import {
  AUTO_SCALING_OPERATIONS,
  type AutoScalingGroups,
  autoScalingError,
  autoScalingResponse,
} from './autoscaling-api';
import { EC2_OPERATIONS, ec2Bucket, ec2Error, ec2Response } from './ec2-api';
import { ECS_BUCKETS, ECS_OPERATIONS, EcsApiError, type EcsClusters, type EcsOperation } from './ecs-api';
import { SSM_OPERATIONS, SsmApiError } from './ssm-api';

/**
 * One loopback HTTP endpoint that speaks the wire protocols the real SDK clients use: awsJson1_1
 * for ECS and SSM (X-Amz-Target header), awsQuery for Auto Scaling and SNS, and the EC2 query protocol for
 * EC2's launch template operations (form-encoded Action). Credentials and signatures are not checked.
 */

export interface ApiFaults {
  /** Apply ECS's documented token buckets (and an assumed one for Auto Scaling) in simulated time. */
  tokenBuckets: boolean;
  /** Share of calls answered with a throttling error regardless of the buckets. */
  throttle: number;
  /** Share of calls answered with a server error (HTTP 500). */
  serverError: number;
  /**
   * Share of calls that the service carries out but whose answer the caller never gets: half
   * come back as HTTP 500 (ServerException / InternalFailure), half as a gateway timeout (HTTP 504,
   * RequestTimeoutException / RequestTimeout), both of which the SDK treats as transient. The
   * caller cannot tell that the call took effect. Absent: 0.
   */
  lostResponse?: number;
}

export const NO_API_FAULTS: ApiFaults = { tokenBuckets: false, throttle: 0, serverError: 0, lostResponse: 0 };

/**
 * What the endpoint serves: the current simulation, one account with its clusters and groups.
 * Swapped between runs. The token buckets are the account's, shared by all its clusters.
 */
export interface ApiTarget {
  clusters: EcsClusters;
  /** The account's task definitions, shared by its clusters (brokenImages: images that crash). */
  taskDefinitions: TaskDefinitions;
  groups: AutoScalingGroups;
  /** The account's launch templates; EC2 calls fail with InvalidAction when absent. */
  ec2?: Ec2Model;
  /** The account's SSM parameters (the public ECS-optimized AMI ones); SSM calls fail when absent. */
  ssm?: SsmParameters;
  clock: Clock;
  random: Random;
  faults: ApiFaults;
  /** Calls per operation, for the run's report. */
  calls: Map<string, number>;
  throttled: { count: number };
  /** Calls carried out whose answer was replaced by an error (ApiFaults.lostResponse); created on first use. */
  lostResponses?: { count: number };
  /** Simulated seconds a call takes (in-process transport only), drawn between the two. */
  latency?: [number, number];
  /** Told of every call, e.g. to record when reads happen. */
  onCall?: (key: string) => void;
  /** SNS topics that exist (Publish to another fails with NotFound); any topic when absent. */
  topics?: string[];
  /** Messages published to SNS topics (the stack's alert topic), in order. */
  published?: { topicArn: string; subject: string; message: string; at: number }[];
  /**
   * Told of every message published, with the caller's X-Ray trace header (which carries the
   * Lineage that Lambda's recursive loop detection counts): a topic's subscriptions start here.
   */
  onPublish?: (published: {
    topicArn: string;
    subject: string;
    message: string;
    traceHeader?: string;
  }) => void;
  buckets: Map<string, TokenBucket>;
}

export class TokenBucket {
  private tokens: number;
  private last = 0;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
  ) {
    this.tokens = capacity;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.refillPerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** ECS API reference, request throttling: burst and sustained rate per account and Region. */
export const BUCKET_SIZES: Record<string, [number, number]> = {
  'cluster-resource-read': [100, 20],
  'cluster-resource-modify': [100, 40],
  'cluster-read': [50, 20],
  'service-read': [100, 20],
  'service-modify': [50, 5],
  // Auto Scaling publishes no numbers; one shared bucket of this size is an assumption, the one the
  // stack's pacing is sized for (ASSUMED_AUTO_SCALING_LIMIT in shared/aws/pacer.ts; a test holds them equal).
  'auto-scaling': [40, 10],
  // SNS Publish: thousands per second in large Regions; an alert or two per drain never reaches it.
  'sns-publish': [300, 300],
  // EC2 API request throttling, per account and Region: non-mutating (Describe*) and mutating actions.
  'ec2-non-mutating': [100, 20],
  'ec2-mutating': [200, 5],
  // SSM GetParameter(s): the default (standard) throughput quota, 40 transactions per second.
  'ssm-get': [40, 40],
};

export function newBuckets(): Map<string, TokenBucket> {
  return new Map(
    Object.entries(BUCKET_SIZES).map(([name, [burst, rate]]) => [name, new TokenBucket(burst, rate)]),
  );
}

export interface ApiResponse {
  status: number;
  contentType: string;
  body: string;
}

const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const SSM_TARGET_PREFIX = 'AmazonSSM.';

/** Answers one request against the target. Pure with respect to the network: tests call it directly. */
export function answer(
  target: ApiTarget,
  headers: Record<string, string | undefined>,
  body: string,
): ApiResponse {
  const amzTarget = headers['x-amz-target'];
  if (amzTarget?.startsWith(ECS_TARGET_PREFIX)) {
    return answerEcs(target, amzTarget.slice(ECS_TARGET_PREFIX.length), body);
  }
  if (amzTarget?.startsWith(SSM_TARGET_PREFIX)) {
    return answerSsm(target, amzTarget.slice(SSM_TARGET_PREFIX.length), body);
  }
  // Request ids only label answers; they draw on no simulated randomness.
  const params = new URLSearchParams(body);
  const action = params.get('Action') ?? '';
  if (action === 'Publish') return answerSnsPublish(target, params, randomUUID(), headers['x-amzn-trace-id']);
  if (action in EC2_OPERATIONS) return answerEc2(target, action, params, randomUUID());
  return answerAutoScaling(target, params, randomUUID());
}

/**
 * SNS Publish (awsQuery, like Auto Scaling): the message is recorded, as a subscriber would get it.
 * It throttles, fails and loses answers like every other call, and checks what SNS checks: a known
 * topic, a subject of at most 100 printable ASCII characters, a message of at most 256 KB.
 */
function answerSnsPublish(
  target: ApiTarget,
  params: URLSearchParams,
  requestId: string,
  traceHeader?: string,
): ApiResponse {
  count(target, 'sns:Publish');
  const namespace = 'http://sns.amazonaws.com/doc/2010-03-31/';
  const fail = (status: number, code: string, message: string): ApiResponse => ({
    status,
    contentType: 'text/xml',
    body: `<ErrorResponse xmlns="${namespace}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  });
  const fault = injectedFault(target, 'sns-publish');
  if (fault === 'throttle') return fail(400, 'Throttling', 'Rate exceeded');
  if (fault === 'error') return fail(500, 'InternalError', 'Service unavailable');
  const topicArn = params.get('TopicArn') ?? '';
  const message = params.get('Message') ?? '';
  const subject = params.get('Subject');
  if (message === '' || Buffer.byteLength(message) > 262144)
    return fail(400, 'InvalidParameter', 'Invalid parameter: Message');
  if (subject !== null && !/^[\x20-\x7e]{1,100}$/.test(subject))
    return fail(400, 'InvalidParameter', 'Invalid parameter: Subject');
  if (target.topics !== undefined && !target.topics.includes(topicArn))
    return fail(404, 'NotFound', 'Topic does not exist');
  (target.published ??= []).push({ topicArn, subject: subject ?? '', message, at: target.clock.now });
  target.onPublish?.({
    topicArn,
    subject: subject ?? '',
    message,
    ...(traceHeader !== undefined && { traceHeader }),
  });
  const lost = lostResponse(target);
  if (lost === 'error') return fail(500, 'InternalError', 'Service unavailable');
  if (lost === 'timeout') return fail(504, 'RequestTimeout', 'Gateway Timeout');
  return {
    status: 200,
    contentType: 'text/xml',
    body: `<PublishResponse xmlns="${namespace}"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
  };
}

function answerEcs(target: ApiTarget, operation: string, body: string): ApiResponse {
  const json = (status: number, payload: unknown): ApiResponse => ({
    status,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify(payload),
  });
  const fail = (status: number, code: string, message: string) => json(status, { __type: code, message });
  if (!(operation in ECS_OPERATIONS))
    return fail(400, 'UnknownOperationException', `Unknown operation ${operation}`);
  const op = operation as EcsOperation;
  count(target, `ecs:${op}`);
  const fault = injectedFault(target, ECS_BUCKETS[op]);
  if (fault === 'throttle') return fail(400, 'ThrottlingException', 'Rate exceeded');
  if (fault === 'error') return fail(500, 'ServerException', 'Service unavailable');
  try {
    const input = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    const output = ECS_OPERATIONS[op](target, input);
    const lost = lostResponse(target);
    if (lost === 'error') return fail(500, 'ServerException', 'Service unavailable');
    if (lost === 'timeout') return fail(504, 'RequestTimeoutException', 'Gateway Timeout');
    return json(200, output);
  } catch (error) {
    if (error instanceof EcsApiError) return fail(400, error.code, error.message);
    return fail(400, 'ClientException', error instanceof Error ? error.message : String(error));
  }
}

function answerAutoScaling(target: ApiTarget, params: URLSearchParams, requestId: string): ApiResponse {
  const xml = (status: number, body: string): ApiResponse => ({ status, contentType: 'text/xml', body });
  const operation = params.get('Action') ?? '';
  const handler = AUTO_SCALING_OPERATIONS[operation];
  if (handler === undefined) {
    return xml(400, autoScalingError('InvalidAction', `Could not find operation ${operation}`, requestId));
  }
  count(target, `autoscaling:${operation}`);
  const fault = injectedFault(target, 'auto-scaling');
  if (fault === 'throttle') return xml(400, autoScalingError('Throttling', 'Rate exceeded', requestId));
  if (fault === 'error')
    return xml(500, autoScalingError('InternalFailure', 'Service unavailable', requestId, 'Receiver'));
  try {
    const result = handler(target.groups, params);
    const lost = lostResponse(target);
    if (lost === 'error')
      return xml(500, autoScalingError('InternalFailure', 'Service unavailable', requestId, 'Receiver'));
    if (lost === 'timeout')
      return xml(504, autoScalingError('RequestTimeout', 'Gateway Timeout', requestId, 'Receiver'));
    return xml(200, autoScalingResponse(operation, result, requestId));
  } catch (error) {
    if (error instanceof AutoScalingError)
      return xml(400, autoScalingError(error.code, error.message, requestId));
    throw error;
  }
}

/** SSM (awsJson1_1): the public parameters. Throttles, fails and loses answers like the other services. */
function answerSsm(target: ApiTarget, operation: string, body: string): ApiResponse {
  const json = (status: number, payload: unknown): ApiResponse => ({
    status,
    contentType: 'application/x-amz-json-1.1',
    body: JSON.stringify(payload),
  });
  const fail = (status: number, code: string, message: string) => json(status, { __type: code, message });
  const handler = SSM_OPERATIONS[operation];
  if (target.ssm === undefined || handler === undefined)
    return fail(400, 'UnknownOperationException', `Unknown operation ${operation}`);
  count(target, `ssm:${operation}`);
  const fault = injectedFault(target, 'ssm-get');
  if (fault === 'throttle') return fail(400, 'ThrottlingException', 'Rate exceeded');
  if (fault === 'error') return fail(500, 'InternalServerError', 'Service unavailable');
  try {
    const output = handler(target.ssm, body === '' ? {} : (JSON.parse(body) as Record<string, unknown>));
    const lost = lostResponse(target);
    if (lost === 'error') return fail(500, 'InternalServerError', 'Service unavailable');
    if (lost === 'timeout') return fail(504, 'RequestTimeout', 'Gateway Timeout');
    return json(200, output);
  } catch (error) {
    if (error instanceof SsmApiError) return fail(400, error.code, error.message);
    throw error;
  }
}

/** EC2 (query protocol): launch templates. Throttles, fails and loses answers like the other services. */
function answerEc2(
  target: ApiTarget,
  operation: string,
  params: URLSearchParams,
  requestId: string,
): ApiResponse {
  const xml = (status: number, body: string): ApiResponse => ({ status, contentType: 'text/xml', body });
  const ec2 = target.ec2;
  const handler = EC2_OPERATIONS[operation];
  if (ec2 === undefined || handler === undefined)
    return xml(
      400,
      ec2Error('InvalidAction', `The action ${operation} is not valid for this web service.`, requestId),
    );
  count(target, `ec2:${operation}`);
  const fault = injectedFault(target, ec2Bucket(operation));
  if (fault === 'throttle')
    return xml(503, ec2Error('RequestLimitExceeded', 'Request limit exceeded.', requestId));
  if (fault === 'error')
    return xml(500, ec2Error('InternalError', 'An internal error has occurred', requestId));
  try {
    const result = handler(ec2, params);
    const lost = lostResponse(target);
    if (lost === 'error')
      return xml(500, ec2Error('InternalError', 'An internal error has occurred', requestId));
    if (lost === 'timeout') return xml(504, ec2Error('RequestTimeout', 'Gateway Timeout', requestId));
    return xml(200, ec2Response(operation, result, requestId));
  } catch (error) {
    if (error instanceof Ec2Error) return xml(400, ec2Error(error.code, error.message, requestId));
    throw error;
  }
}

function count(target: ApiTarget, key: string): void {
  target.calls.set(key, (target.calls.get(key) ?? 0) + 1);
  target.onCall?.(key);
}

function injectedFault(target: ApiTarget, bucket: string): 'throttle' | 'error' | undefined {
  const { faults, random } = target;
  const bucketEmpty = faults.tokenBuckets && target.buckets.get(bucket)?.take(target.clock.now) === false;
  if (bucketEmpty || random.chance(faults.throttle)) {
    target.throttled.count++;
    return 'throttle';
  }
  return random.chance(faults.serverError) ? 'error' : undefined;
}

/** Whether the answer to a call that was carried out is lost, and how the caller learns of it. */
function lostResponse(target: ApiTarget): 'error' | 'timeout' | undefined {
  const { faults, random } = target;
  if (!random.chance(faults.lostResponse ?? 0)) return undefined;
  target.lostResponses ??= { count: 0 };
  target.lostResponses.count++;
  return random.chance(0.5) ? 'error' : 'timeout';
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `target()` on `host` (loopback by default); port 0 picks a free one. */
export async function startApiServer(
  target: () => ApiTarget | undefined,
  port = 0,
  host = '127.0.0.1',
): Promise<RunningServer> {
  const server: Server = createServer((request, response) => {
    readBody(request).then((body) => {
      const current = target();
      const reply: ApiResponse =
        current === undefined
          ? { status: 503, contentType: 'text/plain', body: 'no simulation loaded' }
          : answer(current, request.headers as Record<string, string | undefined>, body);
      response.writeHead(reply.status, {
        'content-type': reply.contentType,
        'content-length': Buffer.byteLength(reply.body),
        'x-amzn-requestid': 'sim',
      });
      response.end(reply.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  // A port in use or a host that does not resolve: the caller hears of it, not an unhandled event.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
