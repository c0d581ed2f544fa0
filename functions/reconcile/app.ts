import type { Context } from 'aws-lambda';
import { ECS_READ_SHARES } from '../../shared/aws/pacer';
import { setDeadlines } from '../../shared/drain/sqs-batch';
import { servedGroup } from '../../shared/config';
import { type HostCommand, tasksWantingToRun } from '../../shared/decisions/host';
import {
  containerDeps,
  type DrainDeps,
  driveHosts,
  type FunctionDependencies,
  type Host,
  type HostResult,
  newHost,
} from '../../shared/drain/drive-hosts';
import { ListingTurns } from '../../shared/drain/container-memory';
import { LAUNCH_WAIT_STATE } from '../../shared/aws/auto-scaling';
import { driveLaunches, launchContainerDeps, type LaunchDeps } from '../../shared/launch/drive-launches';

export type ReconcileDependencies = FunctionDependencies & Pick<LaunchDeps, 'imageOf'>;

/** What one run found and did, for its log line (and the simulation's report). */
export interface ReconcileReport {
  /** Instances our hooks hold, and container instances in DRAINING, across served groups and clusters. */
  held: number;
  draining: number;
  /** Commands decided, by kind (complete, drain, heartbeat, stop-tasks, none). */
  commands: Record<string, number>;
  failed: number;
  /** With launch readiness: the launches our hook may hold, by decision (continue, abandon, wait, ignore, failed). */
  launches?: Record<string, number>;
}

/**
 * Scheduled (every minute by default): the level-triggered side of the controller. Every event
 * source can lose an event and every function can fail all its retries, so once a minute it looks
 * at every drain in progress, from the two sides that cannot lose one: the instances our hooks
 * hold (Terminating:Wait, Warmed:Pending:Wait) and the container instances in DRAINING. Each host
 * goes through the same decision as the event paths: drains that never started are started,
 * drains whose last event was lost are finished, heartbeats keep long drains alive, and the
 * deadline and the task policies apply.
 *
 * With launch readiness on, it also looks at every new instance our launch hook holds (Pending:Wait),
 * as launch readiness's own function does: a launch whose notification and events were lost waits a
 * minute, not LaunchTimeout.
 *
 * Its cost grows with the number of drains, not with the cluster: one DescribeAutoScalingGroups
 * per fifty groups, one ListContainerInstances page per hundred drains, one describe per hundred.
 */
export function createReconcileHandler(dependencies: ReconcileDependencies) {
  const { config, telemetry } = dependencies;
  const deps = { ...containerDeps(dependencies, 'reconciler'), listingTurns: new ListingTurns() };
  // The fallback of launch readiness: a launch whose notification and events were all lost.
  const launchDeps = launchContainerDeps(dependencies);
  // The reads its pace allows in half its timeout: a run that could not finish would decide nothing.
  const readsPerRun = Math.floor(
    ECS_READ_SHARES.reconciler.share * config.ecsReadsPerSecond * RUN_READ_SECONDS,
  );
  /** When this container first saw our hook hold each instance: the start function has a few seconds to drain it. */
  const heldSince = new Map<string, number>();
  /**
   * Since when our launch hook may have held each new instance: a run before this container first saw
   * it held, and a margin, so that a launch that never becomes ready is given up (with an alert) by
   * the reconciler shortly before the hook's own timeout would do it silently.
   */
  const launchHeldSince = new Map<string, number>();
  /** Since when this container has seen no task wanting to run on each host: a drain it finishes must have been quiet a run. */
  const quietSince = new Map<string, number>();

  return async (
    _event?: unknown,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<ReconcileReport> => {
    // As the queue-fed functions: no action started in the run's last seconds, no Auto Scaling call
    // queued past its end. Without it, a run that queued fifty completions behind its share of one
    // call per second was ended by its timeout, a third of the runs of a 3,000-instance refresh.
    setDeadlines(deps, context, [launchDeps]);
    try {
      const now = deps.timing.now();
      const hosts: Host[] = [];
      const readiness = config.launchHookName !== undefined;
      const waiting = await deps.autoScaling.waitingInstances(
        config.groups.map((group) => group.autoScalingGroupName),
        { launches: readiness },
      );
      const held = waiting.filter((instance) => instance.lifecycleState !== LAUNCH_WAIT_STATE);
      // New instances our launch hook may hold; one entering a warm pool may be held by either hook.
      const launching = readiness
        ? waiting.filter((instance) => instance.lifecycleState !== 'Terminating:Wait')
        : [];
      const stillLaunching = new Set(launching.map(({ instanceId }) => instanceId));
      // Launch readiness answers a launch within seconds of its registration event, or, in a large
      // refresh, once its paced completions reach it. A launch first seen held in this run is left to
      // it: completed here as well, it cost a second completion, refused as gone (in a refresh of 1,000
      // instances, 144 of the reconciler's 154 launch completions). Held at the next run, its events
      // were lost or are late: the reconciler answers it then. (With a LaunchTimeout short enough that
      // the launch may be overdue already, it is decided at once, as before: it may have to be given up.)
      const overdueAtOnce = 2 * LAUNCH_HELD_MARGIN_MS >= config.launchTimeoutSeconds * 1000;
      const seenBefore = new Set(
        [...stillLaunching].filter((id) => overdueAtOnce || launchHeldSince.has(id)),
      );
      for (const id of stillLaunching)
        if (!launchHeldSince.has(id)) launchHeldSince.set(id, now - LAUNCH_HELD_MARGIN_MS);
      for (const id of launchHeldSince.keys()) if (!stillLaunching.has(id)) launchHeldSince.delete(id);
      const stillHeld = new Set<string>();
      /** One host per EC2 instance, whichever side found it. */
      const byInstance = new Map<string, Host>();
      for (const instance of held) {
        const group = servedGroup(config.groups, instance.autoScalingGroupName);
        if (group === undefined) continue;
        stillHeld.add(instance.instanceId);
        if (!heldSince.has(instance.instanceId)) heldSince.set(instance.instanceId, now);
        const host = newHost(
          {
            cluster: group.cluster,
            ec2InstanceId: instance.instanceId,
            containerInstanceArns: [],
            stoppedByEvents: [],
            lifecycle: {
              autoScalingGroupName: instance.autoScalingGroupName,
              lifecycleState: instance.lifecycleState,
            },
            newestEventAt: now,
            heldSince: heldSince.get(instance.instanceId) ?? now,
          },
          { found: 'held by our hook' },
        );
        byInstance.set(hostKey(group.cluster, instance.instanceId), host);
        hosts.push(host);
      }
      for (const id of heldSince.keys()) if (!stillHeld.has(id)) heldSince.delete(id);

      // Container instances in DRAINING, described a hundred per call, joined to their EC2 instance's host.
      // Most are already found above; this side finds a drain whose instance the group listing does not
      // show as held (on its way into a warm pool, which DescribeAutoScalingGroups may not list; the
      // decision reads its lifecycle state), and heartbeats nothing it does not own.
      let draining = 0;
      for (const cluster of config.clusters) {
        const arns = await deps.ecs.listContainerInstancesIn(cluster, 'DRAINING');
        draining += arns.length;
        const observedAt = deps.timing.now();
        const { found } = await deps.ecs.describeContainerInstances(cluster, arns);
        for (const instance of found) {
          // Both sides name clusters as the configuration does.
          let host = byInstance.get(hostKey(cluster, instance.ec2InstanceId));
          if (host === undefined) {
            host = newHost(
              {
                cluster,
                ec2InstanceId: instance.ec2InstanceId,
                containerInstanceArns: [],
                stoppedByEvents: [],
                newestEventAt: now,
              },
              { found: 'draining' },
            );
            byInstance.set(hostKey(cluster, instance.ec2InstanceId), host);
            hosts.push(host);
          }
          const { snapshot } = host;
          snapshot.containerInstances = [...(snapshot.containerInstances ?? []), instance];
          snapshot.containerInstanceArns = [...snapshot.containerInstanceArns, instance.arn];
          snapshot.observedAt = observedAt;
        }
      }

      const quiet = new Set<string>();
      for (const host of hosts) {
        const { snapshot } = host;
        const live = (snapshot.containerInstances ?? []).filter((instance) => instance.status !== 'INACTIVE');
        if (live.length === 0 || snapshot.observedAt === undefined) continue;
        if (live.some((instance) => tasksWantingToRun(instance) > 0)) continue;
        const key = hostKey(snapshot.cluster, snapshot.ec2InstanceId);
        quiet.add(key);
        if (!quietSince.has(key)) quietSince.set(key, snapshot.observedAt);
        snapshot.quietSince = quietSince.get(key);
      }
      for (const key of quietSince.keys()) if (!quiet.has(key)) quietSince.delete(key);

      // Finding the drains took a ListContainerInstances page and a describe per hundred; the rest of
      // the run's reads go to listing the tasks of hosts (one ListTasks each, in turn).
      const findingReads = 2 * Math.ceil(draining / 100) * config.clusters.length;
      deps.listingTurns.startRun(Math.max(1, readsPerRun - findingReads));
      const [results, launches] = await Promise.all([
        driveHosts(hosts, deps).then((first) => lookAgain(first, deps)),
        driveLaunches(
          launching
            .filter(({ instanceId }) => seenBefore.has(instanceId))
            .map(({ instanceId }) => ({
              instanceId,
              waitingSince: launchHeldSince.get(instanceId) ?? now,
            })),
          launchDeps,
        ),
      ]);
      const commands: Record<string, number> = {};
      let failed = 0;
      for (const { command, error } of results) {
        if (error !== undefined) failed++;
        const kind = command === undefined ? 'failed' : label(command);
        commands[kind] = (commands[kind] ?? 0) + 1;
      }
      const launched: Record<string, number> = {};
      for (const { decision, error } of launches) {
        const kind = error !== undefined ? 'failed' : (decision?.kind ?? 'failed');
        launched[kind] = (launched[kind] ?? 0) + 1;
      }
      const report = {
        held: stillHeld.size,
        draining,
        commands,
        failed,
        ...(readiness && { launches: launched }),
      };
      telemetry.logger.info('reconciled', { ...report });
      return report;
    } finally {
      telemetry.publish();
    }
  };
}

/**
 * Hosts the decision wants to see again within the run (a terminating action the start function
 * has a few seconds left to take up): after that wait, each is read afresh, its lifecycle state
 * too, and decided again. Answers the run's results, the new ones in place of the first.
 */
async function lookAgain(results: HostResult[], deps: DrainDeps): Promise<HostResult[]> {
  const again = results.flatMap(({ host, command }) =>
    command?.kind === 'none' && command.recheckAfterMs !== undefined
      ? [{ host, after: command.recheckAfterMs }]
      : [],
  );
  if (again.length === 0) return results;
  const wait = Math.max(...again.map(({ after }) => after));
  // Not within this run's time: the next run looks at them (the start function has had its chance).
  if (deps.actBy !== undefined && deps.timing.now() + wait >= deps.actBy) return results;
  await deps.timing.sleep(wait);
  const fresh = again.map(({ host }) => {
    const { cluster, ec2InstanceId, heldSince, quietSince } = host.snapshot;
    return newHost(
      {
        cluster,
        ...(ec2InstanceId !== undefined && { ec2InstanceId }),
        containerInstanceArns: [],
        stoppedByEvents: [],
        newestEventAt: deps.timing.now(),
        ...(heldSince !== undefined && { heldSince }),
        // Quiet since before the look again (and maybe since before our hook held it): it still was.
        ...(quietSince !== undefined && { quietSince }),
      },
      { ...host.context, lookedAgain: true },
    );
  });
  const looked = new Set(again.map(({ host }) => host));
  return [...results.filter(({ host }) => !looked.has(host)), ...(await driveHosts(fresh, deps))];
}

/** One host per EC2 instance of a cluster, whichever side found it; the key of this run's maps. */
function hostKey(cluster: string, ec2InstanceId: string | undefined): string {
  return `${cluster} ${ec2InstanceId}`;
}

/**
 * How long before this container first saw a launch held the hook may have started holding it: a run
 * (60 s), Auto Scaling's read lag, and room for the run that gives it up to come before the hook's
 * own timeout does.
 */
const LAUNCH_HELD_MARGIN_MS = 150_000;

/** The part of its 60 s timeout a reconciler run spends on paced ECS reads. */
const RUN_READ_SECONDS = 30;

function label(command: HostCommand): string {
  return command.kind === 'complete' && command.deadline !== undefined
    ? 'complete-at-deadline'
    : command.kind;
}
