import type { AutoScalingAdapter, InstanceView } from '../aws/auto-scaling';
import type { Ec2Adapter } from '../aws/ec2';
import type { EcsAdapter } from '../aws/ecs';
import { realTiming, type Timing } from '../aws/pacer';
import { RetryLaterError } from '../drain/act';
import { inParallel } from '../in-parallel';
import type { Deadlines } from '../drain/sqs-batch';
import type { FunctionDependencies } from '../drain/drive-hosts';
import type { AlertPublisher } from '../aws/sns';
import { type ControllerConfig, servedGroup } from '../config';
import { decideLaunch, type LaunchDecision, type RegisteredView } from '../decisions/launch';
import type { LaunchCandidate } from '../decisions/launch-message';
import type { Telemetry } from '../observability';

/** What launch readiness observes and acts with: adapters over the function's own clients, and its memory. */
/** `actBy`, `callsBy`: this invocation's deadlines (setDeadlines); no launch answered past them. */
export interface LaunchDeps extends Telemetry, Deadlines {
  config: ControllerConfig;
  ecs: EcsAdapter;
  autoScaling: AutoScalingAdapter;
  alerts: AlertPublisher;
  timing: Timing;
  settled: SettledLaunches;
  /** The AMI a launch template version names (`ami-…`); absent: the AMI is not checked. */
  imageOf?: (launchTemplate: { id: string; version: string }) => Promise<string | undefined>;
}

/**
 * One Lambda container's launch readiness dependencies (as `containerDeps` builds a drain path's):
 * its adapters, and a fresh memory of settled launches that lives as long as the container.
 */
export function launchContainerDeps({
  config,
  ecs,
  autoScaling,
  alerts,
  telemetry,
  timing = realTiming,
  imageOf,
}: FunctionDependencies & Pick<LaunchDeps, 'imageOf'>): LaunchDeps {
  return {
    ...telemetry,
    config,
    ecs,
    autoScaling,
    alerts,
    timing,
    settled: new SettledLaunches(),
    ...(imageOf !== undefined && { imageOf }),
  };
}

export interface LaunchResult {
  candidate: LaunchCandidate;
  decision?: LaunchDecision;
  /** A read or the completion failed: whatever told us about the instance is retried. */
  error?: unknown;
}

/**
 * Instances this container has settled (completed, or seen past Pending:Wait): the events of an
 * instance in service keep coming with every task placed on it, and cost nothing once it is here.
 */
export class SettledLaunches {
  private readonly at = new Map<string, number>();

  constructor(private readonly forgetAfterMs = 3600_000) {}

  has(instanceId: string, now: number): boolean {
    const at = this.at.get(instanceId);
    return at !== undefined && now - at < this.forgetAfterMs;
  }

  add(instanceId: string, now: number): void {
    this.at.set(instanceId, now);
    if (this.at.size > 10_000) {
      for (const [id, when] of this.at) if (now - when >= this.forgetAfterMs) this.at.delete(id);
    }
  }
}

/**
 * The AMI a launch template version names, read through the EC2 adapter (numbered versions are
 * cached: they never change); undefined for a version that names none or takes it from SSM.
 */
export function launchTemplateImages(ec2: Ec2Adapter): NonNullable<LaunchDeps['imageOf']> {
  return async ({ id, version }) => {
    const [view] = await ec2.versions({ launchTemplateId: id }, [version]);
    return view?.imageId?.startsWith('ami-') === true ? view.imageId : undefined;
  };
}

/** Launches decided and answered at once (each may read a launch template and complete an action). */
const LAUNCH_CONCURRENCY = 4;

/** Lifecycle states a launch hook of ours may hold an instance in. */
const HELD_AT_LAUNCH = new Set(['Pending:Wait', 'Warmed:Pending:Wait']);
/** Lifecycle states an instance reaches only after its launch hooks: launch readiness is done with it. */
const PAST_LAUNCH =
  /^(InService|Terminating|Terminated|Detach|EnteringStandby|Standby|Warmed:(Stopped|Running|Hibernated|Terminat))/;

/**
 * Observe, decide, act for the new instances of a batch: one DescribeAutoScalingInstances per fifty,
 * and, for the ones our launch hook may hold, one ListContainerInstances per twenty and one
 * DescribeContainerInstances per hundred in each cluster. A registration an event told of is
 * confirmed by that describe: events are late and out of order.
 */
export async function driveLaunches(
  candidates: LaunchCandidate[],
  deps: LaunchDeps,
): Promise<LaunchResult[]> {
  const now = deps.timing.now();
  const byInstance = mergeByInstance(candidates);
  const results: LaunchResult[] = [];
  const fresh = [...byInstance.values()].filter((candidate) => {
    if (!deps.settled.has(candidate.instanceId, now)) return true;
    results.push({ candidate, decision: { kind: 'ignore', reason: 'settled by this container already' } });
    return false;
  });
  if (fresh.length === 0) return results;

  let views: Map<string, InstanceView>;
  try {
    views = await deps.autoScaling.describeInstances(fresh.map((candidate) => candidate.instanceId));
  } catch (error) {
    return [...results, ...fresh.map((candidate) => ({ candidate, error }))];
  }
  const held = fresh.filter((candidate) => {
    const view = views.get(candidate.instanceId);
    const group = view && servedGroup(deps.config.groups, view.autoScalingGroupName);
    return group !== undefined && HELD_AT_LAUNCH.has(view?.lifecycleState ?? '');
  });
  const registered = await observeRegistrations(held, views, deps);

  // A few at a time, so that a launch is started only while the invocation has time for it: queued
  // all at once behind the container's Auto Scaling share, a wave of launches outlasted the timeout.
  const acted: LaunchResult[] = [];
  const decideAndAct = async (candidate: (typeof fresh)[number]): Promise<LaunchResult> => {
    if (deps.actBy !== undefined && deps.timing.now() >= deps.actBy)
      return {
        candidate,
        error: new RetryLaterError('not answered: the invocation is close to its timeout'),
      };
    const seen = registered.get(candidate.instanceId);
    if (seen instanceof Error) return { candidate, error: seen };
    const view = views.get(candidate.instanceId);
    const group = view && servedGroup(deps.config.groups, view.autoScalingGroupName);
    try {
      const expectedAmiId =
        group !== undefined && view?.launchTemplate !== undefined
          ? await expectedImage(view.launchTemplate, candidate.instanceId, deps)
          : undefined;
      const decision = decideLaunch(
        {
          instanceId: candidate.instanceId,
          ...(group !== undefined && { group }),
          ...(view !== undefined && { lifecycleState: view.lifecycleState }),
          registered: seen ?? [],
          ...(expectedAmiId !== undefined && { expectedAmiId }),
          ...(candidate.waitingSince !== undefined && { waitingSince: candidate.waitingSince }),
          now: deps.timing.now(),
        },
        deps.config.launchTimeoutSeconds,
      );
      await act(candidate, decision, view, deps);
      return { candidate, decision };
    } catch (error) {
      return { candidate, error };
    }
  };
  await inParallel(fresh, LAUNCH_CONCURRENCY, async (candidate) => {
    acted.push(await decideAndAct(candidate));
  });
  return [...results, ...acted];
}

/**
 * The AMI the instance's launch template version names. A second check beside the container
 * instance's state: when it cannot be read (a template deleted since, a right missing), the launch is
 * decided without it, logged, rather than held until its timeout abandons it.
 */
async function expectedImage(
  launchTemplate: { id: string; version: string },
  instanceId: string,
  deps: LaunchDeps,
): Promise<string | undefined> {
  if (deps.imageOf === undefined) return undefined;
  try {
    return await deps.imageOf(launchTemplate);
  } catch (error) {
    deps.logger.warn('launch: the AMI its launch template version names could not be read; not checked', {
      instanceId,
      launchTemplate,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return undefined;
  }
}

/** One candidate per instance: the notification's token and start, every registration events told of. */
function mergeByInstance(
  candidates: LaunchCandidate[],
): Map<string, LaunchCandidate & { seenAll: RegisteredView[] }> {
  const merged = new Map<string, LaunchCandidate & { seenAll: RegisteredView[] }>();
  for (const candidate of candidates) {
    const known = merged.get(candidate.instanceId) ?? { instanceId: candidate.instanceId, seenAll: [] };
    if (candidate.lifecycleActionToken !== undefined)
      known.lifecycleActionToken = candidate.lifecycleActionToken;
    // The earliest a hook may have held it, whoever tells.
    if (candidate.waitingSince !== undefined)
      known.waitingSince = Math.min(known.waitingSince ?? Infinity, candidate.waitingSince);
    if (candidate.seen !== undefined) known.seenAll.push(candidate.seen);
    merged.set(candidate.instanceId, known);
  }
  return merged;
}

/**
 * The container instances of each held instance, described afresh: in its group's cluster (listed by
 * EC2 instance id), and in any served cluster an event said it registered in. A cluster whose reads
 * fail fails its instances (an Error in place of their registrations).
 */
async function observeRegistrations(
  held: (LaunchCandidate & { seenAll?: RegisteredView[] })[],
  views: Map<string, InstanceView>,
  deps: LaunchDeps,
): Promise<Map<string, RegisteredView[] | Error>> {
  const wanted = new Map<string, { ids: Set<string>; arns: Set<string> }>();
  const want = (cluster: string) => {
    let entry = wanted.get(cluster);
    if (entry === undefined) wanted.set(cluster, (entry = { ids: new Set(), arns: new Set() }));
    return entry;
  };
  for (const candidate of held) {
    const group = servedGroup(
      deps.config.groups,
      views.get(candidate.instanceId)?.autoScalingGroupName ?? '',
    );
    const seenAll = candidate.seenAll ?? [];
    for (const seen of seenAll) want(seen.cluster).arns.add(seen.arn);
    // An event named its container instance in the group's cluster: describing it is enough.
    if (group !== undefined && !seenAll.some((seen) => seen.cluster === group.cluster))
      want(group.cluster).ids.add(candidate.instanceId);
  }
  const registered = new Map<string, RegisteredView[] | Error>();
  await Promise.all(
    [...wanted].map(async ([cluster, { ids, arns }]) => {
      try {
        const listed = ids.size > 0 ? await deps.ecs.listContainerInstancesOf(cluster, [...ids]) : [];
        const { found } = await deps.ecs.describeContainerInstances(cluster, [...listed, ...arns]);
        for (const instance of found) {
          const views = registered.get(instance.ec2InstanceId);
          if (views instanceof Error) continue;
          const view: RegisteredView = {
            cluster,
            arn: instance.arn,
            status: instance.status,
            agentConnected: instance.agentConnected,
            ...(instance.amiId !== undefined && { amiId: instance.amiId }),
          };
          registered.set(instance.ec2InstanceId, [...(views ?? []), view]);
        }
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const id of ids) registered.set(id, failure);
        for (const candidate of held)
          if (candidate.seenAll?.some((seen) => seen.cluster === cluster))
            registered.set(candidate.instanceId, failure);
      }
    }),
  );
  return registered;
}

async function act(
  candidate: LaunchCandidate,
  decision: LaunchDecision,
  view: InstanceView | undefined,
  deps: LaunchDeps,
): Promise<void> {
  const { logger } = deps;
  const context = {
    instanceId: candidate.instanceId,
    autoScalingGroupName: view?.autoScalingGroupName,
    lifecycleState: view?.lifecycleState,
    reason: decision.reason,
  };
  if (decision.kind === 'ignore') {
    // Past our hook (in service, terminating...): nothing of it will change our mind. An instance Auto
    // Scaling does not show yet (its reads lag) is not settled: its next event looks again.
    if (view !== undefined && PAST_LAUNCH.test(view.lifecycleState))
      deps.settled.add(candidate.instanceId, deps.timing.now());
    logger.debug('launch: nothing to do', context);
    return;
  }
  if (decision.kind === 'wait') {
    logger.info('launch: not ready yet, the hook keeps it waiting', context);
    return;
  }
  // Its completion would wait for the container's Auto Scaling share past the invocation's end.
  if (deps.callsBy !== undefined && deps.autoScaling.callsPossibleBy(deps.callsBy) < 1)
    throw new RetryLaterError("not answered: this invocation's Auto Scaling share is spoken for");
  const result = decision.kind === 'continue' ? 'CONTINUE' : 'ABANDON';
  const outcome = await deps.autoScaling.completeLifecycleAction(
    {
      autoScalingGroupName: view?.autoScalingGroupName ?? '',
      lifecycleHookName: deps.config.launchHookName ?? '',
      instanceId: candidate.instanceId,
      ...(candidate.lifecycleActionToken !== undefined && {
        lifecycleActionToken: candidate.lifecycleActionToken,
      }),
    },
    result,
  );
  deps.settled.add(candidate.instanceId, deps.timing.now());
  if (outcome === 'gone') {
    deps.count('LifecycleActionAlreadyGone');
    logger.info('launch: our launch action was already gone', { ...context, result });
    return;
  }
  if (decision.kind === 'continue') {
    deps.count('LaunchContinued');
    logger.info('launch: ready for ECS, the instance goes into service', context);
    return;
  }
  deps.count('LaunchAbandoned');
  logger.warn('launch: abandoned, Auto Scaling terminates and replaces the instance', context);
  try {
    await deps.alerts.publish({
      subject: `ECS launch abandoned: ${candidate.instanceId}`,
      key: 'launch-abandoned',
      cluster: servedGroup(deps.config.groups, view?.autoScalingGroupName ?? '')?.cluster ?? '',
      instanceId: candidate.instanceId,
      ...(view !== undefined && { autoScalingGroupName: view.autoScalingGroupName }),
      summary: `A new instance was given up before it went into service: ${decision.reason}. An instance refresh in progress stops or rolls back when its new instances keep failing.`,
    });
    deps.count('AlertSent');
  } catch (error) {
    deps.count('AlertFailed');
    logger.error('alert not sent', { ...context, error: String(error) });
  }
}
