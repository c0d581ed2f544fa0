import { type Command, InvalidArgumentError } from 'commander';
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
