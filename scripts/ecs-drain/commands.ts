import type { CommandRegistration } from './command';
import { deploy } from './commands/deploy';
import { plan } from './commands/plan';
import { registerRefresh } from './commands/refresh';
import { registerRollback } from './commands/rollback';
import { registerSnapshot } from './commands/snapshot';
import { status } from './commands/status';

/** The subcommands, in the order `ecs-drain --help` lists them; each in its own file under commands/. */
export const COMMANDS: CommandRegistration[] = [
  status,
  plan,
  registerRefresh,
  registerRollback,
  deploy,
  registerSnapshot,
];
