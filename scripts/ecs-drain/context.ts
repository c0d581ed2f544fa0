import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import { Ec2Adapter } from '../../shared/aws/ec2';
import { EcsAdapter } from '../../shared/aws/ecs';
import { Pacer } from '../../shared/aws/pacer';
import { SsmAdapter } from '../../shared/aws/ssm';

/**
 * What every `ecs-drain` command gets: the global options, the AWS clients and adapters built from
 * them (the same adapters the functions use, so the tool and the functions never disagree), and
 * where to write. Errors are thrown as CliError with one of EXIT's codes.
 */

/** Exit codes scripts can rely on (README, "ecs-drain"). */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed: a deployment rolled back, a refresh failed or rolled back. */
  failed: 1,
  /** Unknown flag, missing or bad value: nothing was called. */
  usage: 2,
  /** The cluster, group or service named does not exist (or is not visible to these credentials). */
  notFound: 3,
  /** No credentials, or credentials AWS refused. */
  credentials: 4,
  /** AWS kept throttling after the SDK's retries with back-off. */
  throttled: 5,
  /** What the command waited for did not happen within --timeout. */
  timedOut: 6,
  /** Any other AWS error. */
  aws: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure reported as one line on stderr (and an `error` object with --json) and an exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  json: boolean;
  progress: boolean;
}

/**
 * SDK attempts per call: standard retry mode backs off between them, then the error is ours to
 * report. AWS_MAX_ATTEMPTS, the SDK's own setting, overrides it as it would for any AWS tool.
 */
export const CLI_MAX_ATTEMPTS = 6;

function maxAttempts(): number {
  const fromEnvironment = Number(process.env.AWS_MAX_ATTEMPTS);
  return Number.isInteger(fromEnvironment) && fromEnvironment >= 1 ? fromEnvironment : CLI_MAX_ATTEMPTS;
}

/**
 * Reads per second the tool allows itself against the account's shared ECS and Auto Scaling
 * limits: well under the controller's share, so looking never slows a drain.
 */
export const CLI_READS_PER_SECOND = 5;

/** Per attempt: a connection within 5 s, an answer within 10 s (every call here is a read or a small write). */
export const CONNECTION_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;

export interface AwsClients {
  ecs: ECSClient;
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
  ssm: SSMClient;
}

export interface Adapters {
  ecs: EcsAdapter;
  autoScaling: AutoScalingAdapter;
  ec2: Ec2Adapter;
  ssm: SsmAdapter;
}

/** Clients for the user's region and profile, or the local endpoint (`--endpoint-url`). */
export function awsClients(options: GlobalOptions): AwsClients {
  const config = {
    maxAttempts: maxAttempts(),
    // An endpoint that takes the connection and never answers (a broken proxy) must not hang the
    // tool: each attempt gives up after these, and the SDK retries it as a transient failure.
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(options.region !== undefined && { region: options.region }),
    ...(options.profile !== undefined && { profile: options.profile }),
    ...(options.endpointUrl !== undefined && { endpoint: options.endpointUrl }),
  };
  return {
    ecs: new ECSClient(config),
    autoScaling: new AutoScalingClient(config),
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
  };
}

/** The adapters, all spending one `pacer`: the tool's CLI_READS_PER_SECOND is for the whole run. */
export function adaptersOf(clients: AwsClients, pacer: Pacer): Adapters {
  return {
    ecs: new EcsAdapter(clients.ecs, pacer),
    autoScaling: new AutoScalingAdapter(clients.autoScaling, pacer),
    ec2: new Ec2Adapter(clients.ec2),
    ssm: new SsmAdapter(clients.ssm),
  };
}

/** Where a command writes: results on stdout, progress and errors on stderr. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stderr is a terminal: a live progress bar instead of a line per change. */
  stderrIsTty: boolean;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTty: process.stderr.isTTY === true,
};

export interface CommandContext {
  options: GlobalOptions;
  /** Built on first use, so that `--help` and usage errors never need credentials or a region. */
  clients(): AwsClients;
  adapters(): Adapters;
  /** The one pace every read of this run keeps (the adapters' and the commands' own reads). */
  readPacer: Pacer;
  io: Io;
  /** Prints the command's result: `value` as JSON with --json, else the human lines. */
  result(value: unknown, human: () => string[]): void;
  /** A line on stderr for the person watching (not with --json's stdout, never mixed into it). */
  note(line: string): void;
}

export function commandContext(options: GlobalOptions, io: Io): CommandContext {
  let clients: AwsClients | undefined;
  let adapters: Adapters | undefined;
  const context: CommandContext = {
    options,
    io,
    clients: () => (clients ??= awsClients(options)),
    readPacer: new Pacer(CLI_READS_PER_SECOND, CLI_READS_PER_SECOND),
    adapters: () => (adapters ??= adaptersOf(context.clients(), context.readPacer)),
    result(value, human) {
      if (options.json) io.stdout(`${JSON.stringify(value, null, 2)}\n`);
      else
        io.stdout(
          human()
            .map((line) => `${line}\n`)
            .join(''),
        );
    },
    note(line) {
      io.stderr(`${line}\n`);
    },
  };
  return context;
}

/** Closes the clients' sockets so that the process can exit at once. */
export function closeContext(context: CommandContext): void {
  try {
    const clients = context.clients();
    for (const client of Object.values(clients)) client.destroy();
  } catch {
    // Building the clients failed (no region...): nothing to close.
  }
}

/** Throttling error codes of ECS (ThrottlingException) and Auto Scaling (Throttling), and the SDK's others. */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'Rate exceeded',
]);

const NOT_FOUND = new Set([
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  'ParameterNotFound',
]);

const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
]);

/**
 * One line and an exit code for whatever a command threw: its own CliError as it is, AWS errors by
 * their code, anything else as an AWS error with its message.
 */
export function asCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? oneLine(error.message) : oneLine(String(error));
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message))
    return new CliError(
      EXIT.credentials,
      'no AWS credentials: pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the local endpoint takes any, e.g. test/test)',
    );
  if (/region is missing/i.test(message))
    return new CliError(
      EXIT.usage,
      'no AWS region: pass --region, or set AWS_REGION (or a region in your profile)',
    );
  if (THROTTLING.has(name) || /rate exceeded/i.test(message))
    return new CliError(
      EXIT.throttled,
      `AWS is throttling this account's calls (${name}: ${message}), still after ${maxAttempts()} attempts with back-off: try again in a minute`,
    );
  if (CREDENTIALS.has(name))
    return new CliError(EXIT.credentials, `AWS refused the credentials: ${name}: ${message}`);
  if (NOT_FOUND.has(name)) return new CliError(EXIT.notFound, `${name}: ${message}`);
  if (name === 'TimeoutError' || /timed out after|socket timed out/i.test(message))
    return new CliError(
      EXIT.aws,
      `no answer from AWS within ${REQUEST_TIMEOUT_MS / 1000} s, still after ${maxAttempts()} attempts (${message}): check --endpoint-url, your proxy or network`,
    );
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND')
    return new CliError(EXIT.aws, `cannot reach the AWS endpoint (${code}): ${message}`);
  return new CliError(EXIT.aws, `${name}: ${message}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
