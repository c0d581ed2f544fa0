import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type ActionRunner, type CommandRegistration, url } from './command';
import { COMMANDS } from './commands';
import {
  asCliError,
  CliError,
  closeContext,
  commandContext,
  EXIT,
  type GlobalOptions,
  type Io,
  processIo,
} from './context';

/**
 * `ecs-drain`: the operator's tool beside the stack. Every command comes from its own file, listed in
 * commands.ts; each gets a CommandContext (options, clients, output) and throws CliError for a
 * failure with its exit code. `runCli` is the whole program, callable in a test.
 */

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the operation ran and failed (a deployment or refresh rolled back or failed)
  2  usage: unknown flag, missing or bad value (nothing was called)
  3  not found: no such cluster, group or service
  4  no credentials, or AWS refused them
  5  AWS kept throttling through the SDK's retries with back-off
  6  timed out waiting (what was started goes on)
  7  any other AWS error

Credentials and region come from --profile / --region or the usual AWS environment and files.
--endpoint-url talks to a local endpoint instead (npm run sim:serve prints its URL).
`;

export function buildProgram(
  io: Io,
  exit: { code: number },
  commands: readonly CommandRegistration[] = COMMANDS,
): Command {
  const program = new Command('ecs-drain');
  program
    .description('See and steer the ECS drain controller: drains, refreshes, rollbacks and deployments.')
    .addOption(new Option('--region <region>', 'AWS Region (default: AWS_REGION or your profile)'))
    .addOption(new Option('--profile <name>', 'named profile from your AWS config files'))
    .addOption(
      new Option('--endpoint-url <url>', 'send every call to this endpoint (a local twin)').argParser(url),
    )
    .option('--json', 'print one JSON object on stdout instead of text', false)
    .option('--no-progress', 'no progress bar or lines while waiting')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_CODES_HELP)
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // One line per usage error, whatever commander wrote.
      outputError: (text, write) =>
        write(
          `${text
            .trim()
            .replace(/\s*\n\s*/g, ' ')
            .replace(/^error: /, 'ecs-drain: ')} (--help lists the options)\n`,
        ),
    })
    .exitOverride();

  const run: ActionRunner = (action) => async (options, command) => {
    const context = commandContext(globalOptions(command), io);
    try {
      exit.code = (await action(context, options, command)) ?? EXIT.ok;
    } catch (error) {
      const failure = named(asCliError(error), error, context.options.profile, options);
      io.stderr(`ecs-drain ${command.name()}: ${failure.message}\n`);
      if (context.options.json)
        io.stdout(`${JSON.stringify({ error: { exitCode: failure.exitCode, message: failure.message } })}\n`);
      exit.code = failure.exitCode;
    } finally {
      closeContext(context);
    }
  };

  for (const register of commands) register(program, run);
  for (const option of program.options) singleValued(option);
  // Every subcommand reports usage errors as the program does, and exits through runCli.
  for (const command of program.commands) {
    command.configureOutput(program.configureOutput()).exitOverride();
    for (const option of command.options) singleValued(option);
  }
  return program;
}

/**
 * A flag that takes one value refuses an empty one and a second one: `deploy --service web …
 * --service checkout` must not deploy to whichever came last. Flags meant to repeat (status's
 * --cluster) parse into a list and are left alone, as are switches.
 */
function singleValued(option: Option): void {
  if (option.isBoolean() || option.variadic || option.negate) return;
  const parse = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
  if (parse !== undefined && Array.isArray(option.defaultValue)) return;
  let seen = false;
  option.argParser((value: string, previous: unknown) => {
    if (value.trim() === '') throw new InvalidArgumentError('is empty');
    if (seen)
      throw new InvalidArgumentError(`given twice ("${String(previous)}", then "${value}"): give it once`);
    seen = true;
    return parse === undefined ? value : parse(value, previous);
  });
}

/**
 * The failure with the names the user gave: AWS says "Cluster not found." without the cluster, and
 * the SDK says "no credentials" when the profile asked for does not exist.
 */
function named(failure: CliError, error: unknown, profile: string | undefined, options: unknown): CliError {
  const cluster = (options as { cluster?: unknown } | undefined)?.cluster;
  if (error instanceof Error && error.name === 'ClusterNotFoundException' && typeof cluster === 'string')
    return new CliError(failure.exitCode, `no cluster named "${cluster}" (ClusterNotFoundException)`);
  if (
    failure.exitCode === EXIT.credentials &&
    profile !== undefined &&
    /^no AWS credentials/.test(failure.message)
  )
    return new CliError(
      failure.exitCode,
      `no credentials for profile "${profile}": is it in your AWS config or credentials file, and does it have keys or a role?`,
    );
  return failure;
}

function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{
    region?: string;
    profile?: string;
    endpointUrl?: string;
    json?: boolean;
    progress?: boolean;
  }>();
  return {
    ...(options.region !== undefined && { region: options.region }),
    ...(options.profile !== undefined && { profile: options.profile }),
    ...(options.endpointUrl !== undefined && { endpointUrl: options.endpointUrl }),
    json: options.json === true,
    progress: options.progress !== false && options.json !== true,
  };
}

/** Runs the program on `argv` (without node and the script), returns the exit code. */
export async function runCli(
  argv: string[],
  io: Io = processIo,
  commands: readonly CommandRegistration[] = COMMANDS,
): Promise<number> {
  const exit = { code: EXIT.ok as number };
  const program = buildProgram(io, exit, commands);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; every usage error with 2, and with --json
      // the same `error` object on stdout as any other failure.
      if (error.exitCode === 0) return EXIT.ok;
      if (argv.includes('--json'))
        io.stdout(
          `${JSON.stringify({ error: { exitCode: EXIT.usage, message: error.message.replace(/^error: /, '') } })}\n`,
        );
      return EXIT.usage;
    }
    throw error;
  }
  return exit.code;
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
