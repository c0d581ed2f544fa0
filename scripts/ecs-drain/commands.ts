import type { CommandRegistration } from './command';
import { deploy } from './commands/deploy';
import { registerRefresh } from './commands/refresh';
import { registerRollback } from './commands/rollback';
import { registerSnapshot } from './commands/snapshot';

/** The subcommands, in the order `ecs-drain --help` lists them; each in its own file under commands/. */
export const COMMANDS: CommandRegistration[] = [deploy, registerRefresh, registerRollback, registerSnapshot];
