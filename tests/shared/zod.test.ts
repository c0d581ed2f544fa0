/**
 * zod/mini loads no locale: without the English one that shared/zod.ts loads, every message would be
 * "Invalid input", and the log lines of rejected messages and the cold-start errors of a bad
 * configuration quote these messages. Classic zod loads the locale for the whole process when anything
 * imports it, so this file imports nothing that does (no sim/, no tests/bad-input): here, a schema
 * module that bypassed shared/zod.ts, or a shared/zod.ts without `config(en())`, fails.
 */
import { loadConfig } from '../../shared/config';
import { decideOnNotification } from '../../shared/decisions/notification';
import { TaskStateChangeEvent } from '../../shared/events/task-state-change';
import { terminatingMessage, testConfig } from '../helpers/events';

describe("the functions' schemas speak zod's English", () => {
  it('names what a malformed lifecycle action has instead of what it needs', () => {
    const decision = decideOnNotification(
      JSON.stringify({ ...terminatingMessage(), EC2InstanceId: 7 }),
      testConfig,
    );

    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'malformed lifecycle action: Invalid input: expected string, received number',
      field: 'EC2InstanceId',
    });
  });

  it('says what a task event of another kind should have been', () => {
    const parsed = TaskStateChangeEvent.safeParse({ source: 'aws.ecs' });

    expect(parsed.error?.issues.map((issue) => issue.message)).toContain(
      'Invalid input: expected "ECS Task State Change"',
    );
  });

  it('says the bound a configuration variable is outside of, at cold start', () => {
    const env = {
      CLUSTER_NAMES: 'prod',
      AUTO_SCALING_GROUPS: 'prod:prod-ecs-asg',
      LIFECYCLE_HOOK_NAME: 'ecs-drain',
      HEARTBEAT_TIMEOUT: '10',
    };

    expect(() => loadConfig(env)).toThrow(
      'environment variable(s) HEARTBEAT_TIMEOUT (Too small: expected number to be >=30)',
    );
  });
});
