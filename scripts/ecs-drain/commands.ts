import type { CommandRegistration } from './command';
import { deploy } from './commands/deploy';
import { plan } from './commands/plan';
import { status } from './commands/status';

/** The subcommands, in the order `ecs-drain --help` lists them; each in its own file under commands/. */
export const COMMANDS: CommandRegistration[] = [status, plan, deploy];
