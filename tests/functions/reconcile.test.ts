import { Logger } from '@aws-lambda-powertools/logger';
import { createReconcileHandler } from '../../functions/reconcile/app';
import type { AutoScalingAdapter } from '../../shared/aws/auto-scaling';
import type { EcsAdapter } from '../../shared/aws/ecs';
import type { AlertPublisher } from '../../shared/aws/sns';
import { type ControllerConfig, DRAIN_POLICY_DEFAULTS } from '../../shared/config';
import type { Telemetry } from '../../shared/observability';

// The reconciler's handler over recording adapters: what it reads and does for one drain found
// in progress, from what ECS and Auto Scaling answer. The decisions themselves: host.test.ts.

const NOW = Date.parse('2026-01-10T12:00:00Z');
const CI = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ci1';
const config: ControllerConfig = {
  clusters: ['prod'],
  groups: [{ autoScalingGroupName: 'asg', cluster: 'prod' }],
  lifecycleHookName: 'ecs-drain',
  heartbeatTimeoutSeconds: 1800,
  ...DRAIN_POLICY_DEFAULTS,
};

interface Task {
  arn: string;
  group: string;
  lastStatus?: string;
  stoppedAt?: number;
}

/** One instance held by our hook, DRAINING for `ageMinutes`, with these tasks wanting to run and told to stop. */
async function reconcileOnce(
  ageMinutes: number,
  wanting: Task[],
  daemonServices: string[],
  policy: Partial<ControllerConfig> = {},
  toldToStop: Task[] = [],
) {
  const calls: { name: string; args: unknown[] }[] = [];
  const record =
    (name: string, answer: unknown) =>
    async (...args: unknown[]) => {
      calls.push({ name, args });
      return typeof answer === 'function' ? (answer as (...a: unknown[]) => unknown)(...args) : answer;
    };
  const every = [...wanting.map((task) => ({ lastStatus: 'RUNNING', ...task })), ...toldToStop];
  const view = {
    arn: CI,
    ec2InstanceId: 'i-1',
    status: 'DRAINING',
    agentConnected: true,
    runningTasksCount: wanting.length,
    pendingTasksCount: 0,
    drainStartedAt: NOW - ageMinutes * 60_000,
    heartbeatAt: NOW - 10_000,
  };
  const ecs = {
    listContainerInstancesIn: record('listContainerInstancesIn', [CI]),
    describeContainerInstances: record('describeContainerInstances', { found: [view], missing: [] }),
    listContainerInstancesOf: record('listContainerInstancesOf', [CI]),
    listTasksWantingToRun: record(
      'listTasksWantingToRun',
      wanting.map((task) => task.arn),
    ),
    listTasksToldToStop: record(
      'listTasksToldToStop',
      toldToStop.map((task) => task.arn),
    ),
    describeTasks: record('describeTasks', (_cluster: string, arns: string[]) =>
      every
        .filter((task) => arns.includes(task.arn))
        .map((task) => ({
          taskArn: task.arn,
          containerInstanceArn: CI,
          lastStatus: task.lastStatus,
          version: 2,
          group: task.group,
          ...(task.stoppedAt !== undefined && { stoppedAt: task.stoppedAt }),
        })),
    ),
    daemonServices: record('daemonServices', new Set(daemonServices)),
    stopTasks: record('stopTasks', undefined),
    markHeartbeat: record('markHeartbeat', undefined),
    markAlertsSent: record('markAlertsSent', undefined),
    markDrainStarted: record('markDrainStarted', undefined),
    setDraining: record('setDraining', { draining: [], failures: [] }),
  };
  const held = { autoScalingGroupName: 'asg', lifecycleState: 'Terminating:Wait' };
  const autoScaling = {
    waitingInstances: record('waitingInstances', [{ instanceId: 'i-1', ...held }]),
    describeInstances: record('describeInstances', new Map([['i-1', held]])),
    completeLifecycleAction: record('completeLifecycleAction', 'done'),
    recordHeartbeat: record('recordHeartbeat', 'done'),
  };
  const counted: string[] = [];
  const telemetry: Telemetry & { publish(): void } = {
    logger: new Logger({ logLevel: 'SILENT' }),
    count: (metric) => counted.push(metric),
    measure: () => undefined,
    publish: () => undefined,
  };
  const handle = createReconcileHandler({
    config: { ...config, ...policy },
    ecs: ecs as unknown as EcsAdapter,
    autoScaling: autoScaling as unknown as AutoScalingAdapter,
    alerts: { enabled: true, publish: record('publish', undefined) } as unknown as AlertPublisher,
    telemetry,
    timing: { now: () => NOW, sleep: async () => undefined },
  });
  const report = await handle();
  const stops = calls.filter((call) => call.name === 'stopTasks').map((call) => call.args);
  return { report, calls: calls.map((call) => call.name), stops, counted };
}

const WEB = { arn: 'task/web-1', group: 'service:web' };
const LOGS = { arn: 'task/logs-1', group: 'service:logs' };
const JOB = { arn: 'task/job-1', group: 'family:nightly' };

it('at the deadline with stop-tasks, stops the service tasks with a reason, never the daemon task DescribeServices names', async () => {
  const { stops, counted } = await reconcileOnce(61, [WEB, LOGS], ['logs'], { deadlineAction: 'stop-tasks' });
  expect(stops).toEqual([
    ['prod', ['task/web-1'], expect.stringMatching(/^ecs-drain: drain deadline \(3600 s\) reached/)],
  ]);
  expect(counted).toContain('DeadlineReached');
});

it('stops a daemon task left alone a daemon grace after the other tasks stopped', async () => {
  const stoppedWeb = { ...WEB, lastStatus: 'STOPPED', stoppedAt: NOW - 3 * 60_000 };
  const { stops } = await reconcileOnce(11, [LOGS], ['logs'], {}, [stoppedWeb]);
  expect(stops).toEqual([['prod', ['task/logs-1'], expect.stringContaining('only daemon tasks still run')]]);
});

it('leaves a daemon task alone while another task is still stopping', async () => {
  const { stops } = await reconcileOnce(11, [LOGS], ['logs'], {}, [{ ...WEB, lastStatus: 'RUNNING' }]);
  expect(stops).toEqual([]);
});

it('stops only the standalone task after its grace, never a service task', async () => {
  const { stops } = await reconcileOnce(11, [JOB, WEB], [], {
    standaloneTasks: 'stop',
    standaloneGraceSeconds: 600,
  });
  expect(stops.map(([, arns]) => arns)).toEqual([['task/job-1']]);
});

it('finds each drain once, from both sides: the held instance and its DRAINING container instance', async () => {
  const { report } = await reconcileOnce(
    2,
    [WEB, { arn: 'task/web-2', group: 'service:web' }, LOGS, JOB],
    [],
  );
  expect(report).toMatchObject({ held: 1, draining: 1, failed: 0 });
  expect(Object.values(report.commands).reduce((sum, n) => sum + n, 0)).toBe(1);
});

describe('a run with more drains to look at than its reads allow', () => {
  /** Ten held instances, DRAINING and running nothing, drained 12 to 21 minutes ago: heartbeats due. */
  async function reconcileMany(ecsReadsPerSecond: number) {
    const ids = Array.from({ length: 10 }, (_, n) => `i-${n}`);
    const arn = (id: string) => `${CI.slice(0, CI.lastIndexOf('/'))}/${id}`;
    const view = (id: string, n: number) => ({
      arn: arn(id),
      ec2InstanceId: id,
      status: 'DRAINING',
      agentConnected: true,
      runningTasksCount: 0,
      pendingTasksCount: 0,
      drainStartedAt: NOW - (12 + n) * 60_000,
      heartbeatAt: NOW - 20 * 60_000,
    });
    const listed: string[] = [];
    const heartbeats: string[] = [];
    const held = { autoScalingGroupName: 'asg', lifecycleState: 'Terminating:Wait' };
    const ecs = {
      listContainerInstancesIn: async () => ids.map(arn),
      describeContainerInstances: async () => ({ found: ids.map(view), missing: [] }),
      listContainerInstancesOf: async () => ids.map(arn),
      // Each still has a task stopping: a listing finds it, and the drain goes on.
      listTasksToldToStop: async (_cluster: string, ci: string) => {
        listed.push(ci.slice(ci.lastIndexOf('/') + 1));
        return [`task/${ci}`];
      },
      describeTasks: async (_cluster: string, arns: string[]) =>
        arns.map((taskArn) => ({ taskArn, containerInstanceArn: '', lastStatus: 'STOPPING', version: 2 })),
      markHeartbeat: async () => undefined,
    };
    const autoScaling = {
      waitingInstances: async () => ids.map((instanceId) => ({ instanceId, ...held })),
      describeInstances: async () => new Map(ids.map((id) => [id, held])),
      recordHeartbeat: async (action: { instanceId: string }) => {
        heartbeats.push(action.instanceId);
        return 'done';
      },
    };
    const handle = createReconcileHandler({
      config: { ...config, ecsReadsPerSecond },
      ecs: ecs as unknown as EcsAdapter,
      autoScaling: autoScaling as unknown as AutoScalingAdapter,
      alerts: { enabled: false } as unknown as AlertPublisher,
      telemetry: {
        logger: new Logger({ logLevel: 'SILENT' }),
        count: () => undefined,
        measure: () => undefined,
        publish: () => undefined,
      },
      timing: { now: () => NOW, sleep: async () => undefined },
    });
    const report = await handle();
    return { report, listed, heartbeats };
  }

  it('lists the oldest drains first, within the reads its pace allows in half its timeout', async () => {
    // EcsReadsPerSecond 2: the reconciler's tenth is 0.2 per second, 6 reads in 30 s; finding the
    // drains took 2 (a ListContainerInstances page and a describe): 4 hosts listed.
    const { listed, report } = await reconcileMany(2);

    expect(listed).toEqual(['i-9', 'i-8', 'i-7', 'i-6']);
    expect(report.failed).toBe(0);
  });

  it('keeps every drain alive all the same, listed or not', async () => {
    const { heartbeats } = await reconcileMany(2);

    expect([...heartbeats].sort()).toEqual(Array.from({ length: 10 }, (_, n) => `i-${n}`));
  });

  it('lists every drain when its reads allow', async () => {
    const { listed } = await reconcileMany(20);

    expect(listed).toHaveLength(10);
  });
});
