import type { CommandRegistration } from './command';

/** The subcommands, in the order `ecs-drain --help` lists them; each in its own file under commands/. */
export const COMMANDS: CommandRegistration[] = [];
