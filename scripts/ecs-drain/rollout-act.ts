import { type ECSClient, paginateListClusters } from '@aws-sdk/client-ecs';
import type { GroupView } from '../../shared/aws/auto-scaling';
import { realTiming } from '../../shared/aws/pacer';
import { BLUE_GREEN_TAG, parseState } from '../../shared/decisions/blue-green';
import type { BlueGreenDeps } from '../../shared/rollout/blue-green';
import { type Adapters, CliError, type CommandContext, EXIT } from './context';
import { waitUntil } from './progress';
import { blueGreenProgress, refreshProgress } from './rollout-decisions';

/**
 * The calls `refresh` and `rollback` share around their decisions: finding the group and the
 * cluster its instances join, the blue/green state machine's dependencies, and the two waits.
 */

/** The group as the AMI watcher reads it; not found: exit 3, nothing changed. */
export async function findGroup(adapters: Adapters, name: string): Promise<GroupView> {
  const [group] = await adapters.autoScaling.describeGroups([name]);
  if (group === undefined)
    throw new CliError(EXIT.notFound, `no Auto Scaling group named ${name} in this account and Region`);
  return group;
}

/**
 * The cluster the group's instances joined: `--cluster` when given, else the cluster (of
 * ListClusters) where one of its instances is registered. A blue/green step needs it to drain.
 */
export async function clusterOfGroup(
  ecs: ECSClient,
  adapters: Adapters,
  groupName: string,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) return given;
  const group = await adapters.autoScaling.describeGroup(groupName);
  const ids = (group?.instances ?? []).map((instance) => instance.instanceId);
  if (ids.length > 0) {
    for await (const page of paginateListClusters({ client: ecs }, {})) {
      for (const arn of page.clusterArns ?? []) {
        const name = arn.slice(arn.lastIndexOf('/') + 1);
        if ((await adapters.ecs.listContainerInstancesOf(name, ids.slice(0, 100))).length > 0) return name;
      }
    }
  }
  throw new CliError(
    EXIT.notFound,
    `no cluster has an instance of ${groupName} registered: name it with --cluster`,
  );
}

/** The state machine's dependencies for one step the tool takes (the stack's schedule takes the others). */
export function blueGreenDeps(adapters: Adapters): BlueGreenDeps {
  return { autoScaling: adapters.autoScaling, ecs: adapters.ecs, timing: realTiming };
}

export interface WaitFlags {
  timeout: number;
  pollInterval: number;
}

export interface WaitOutcome {
  succeeded: boolean;
  status: string;
  reason: string;
}

/** Polls DescribeInstanceRefreshes until the refresh ends; `expect` says which end succeeds. */
export function waitForRefresh(
  context: CommandContext,
  groupName: string,
  instanceRefreshId: string,
  expect: 'refresh' | 'rollback',
  flags: WaitFlags,
): Promise<WaitOutcome> {
  const { autoScaling } = context.adapters();
  return waitUntil(
    context,
    {
      what: `${expect === 'refresh' ? 'instance refresh' : 'rollback'} of ${groupName}`,
      timeoutSeconds: flags.timeout,
      intervalSeconds: flags.pollInterval,
    },
    async () => {
      const latest = await autoScaling.latestInstanceRefresh(groupName);
      // Another refresh started after ours (someone else's): ours ended before it.
      const refresh = latest?.instanceRefreshId === instanceRefreshId ? latest : undefined;
      const state = refreshProgress(refresh, expect);
      return state.finished
        ? {
            finished: true,
            result: { succeeded: state.succeeded, status: state.status, reason: state.reason },
          }
        : { finished: false, done: state.percentage, total: 100, status: state.status };
    },
  );
}

/** Polls the group's blue/green tag until the rollout is done or rolled back. */
export function waitForBlueGreen(
  context: CommandContext,
  groupName: string,
  target: string,
  expect: 'refresh' | 'rollback',
  flags: WaitFlags,
): Promise<WaitOutcome> {
  const { autoScaling } = context.adapters();
  return waitUntil(
    context,
    {
      what: `blue/green ${expect === 'refresh' ? 'rollout' : 'rollback'} of ${groupName}`,
      timeoutSeconds: flags.timeout,
      intervalSeconds: flags.pollInterval,
    },
    async () => {
      const [group] = await autoScaling.describeGroups([groupName]);
      if (group === undefined)
        return {
          finished: true,
          result: { succeeded: false, status: 'gone', reason: `${groupName} is gone` },
        };
      const state = blueGreenProgress(group, target, expect);
      return state.finished
        ? {
            finished: true,
            result: { succeeded: state.succeeded, status: state.phase, reason: state.reason },
          }
        : { finished: false, done: state.step, total: state.of, status: state.phase };
    },
  );
}

/** The version a blue/green tag rolls out to (green), for --wait after a rollback. */
export function greenVersionOf(group: GroupView): string {
  const tag = group.tags[BLUE_GREEN_TAG];
  return tag === undefined ? '' : parseState(tag).green;
}
