import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommandContext } from './context';

/** A command's module: adds one subcommand to the program; its action is wrapped by the ActionRunner it is given. */
export type CommandRegistration = (program: Command, run: ActionRunner) => void;

/**
 * Wraps a command's action: builds its context from the global options, runs it, and turns what it
 * threw into one line and an exit code. The action returns its exit code (EXIT.ok when absent).
 */
export type ActionRunner = <Options>(
  action: (context: CommandContext, options: Options, command: Command) => Promise<number | void>,
) => (options: Options, command: Command) => Promise<void>;

// ---- argument parsers shared by the commands: a bad value is a usage error naming the flag ----

export function url(value: string): string {
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new InvalidArgumentError(`not a URL: "${value}"`);
  }
}

/** A parser for a whole number within [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max)
      throw new InvalidArgumentError(`takes a whole number from ${min} to ${max}, not "${value}"`);
    return number;
  };
}

/** The two options of a command that can wait for what it started: --timeout and --poll-interval. */
export function withWaitOptions(
  command: Command,
  { timeoutSeconds, pollSeconds }: { timeoutSeconds: number; pollSeconds: number },
): Command {
  return command
    .addOption(
      new Option('--timeout <seconds>', 'with --wait: give up waiting after')
        .argParser(wholeNumber(1, 604_800))
        .default(timeoutSeconds),
    )
    .addOption(
      new Option('--poll-interval <seconds>', 'with --wait: seconds between looks')
        .argParser(wholeNumber(1, 3600))
        .default(pollSeconds),
    );
}

/** A refresh or a rollback: hours, looked at every 15 s. */
export const ROLLOUT_WAIT = { timeoutSeconds: 14_400, pollSeconds: 15 };
