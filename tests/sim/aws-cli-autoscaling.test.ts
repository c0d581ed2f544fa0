import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { awsCli, hasAwsCli } from '../helpers/aws-cli';

// What a person watching a scale-in or an instance refresh runs with the AWS CLI against
// `npm run sim:serve`: each command must parse, and answer what the group did.

interface Activity {
  ActivityId: string;
  AutoScalingGroupName: string;
  Description: string;
  Cause: string;
  StartTime: string;
  EndTime?: string;
  StatusCode: string;
  Progress: number;
}

// Each CLI call starts a Python interpreter: a second or more on a busy machine.
jest.setTimeout(60_000);

let world: World;
let server: RunningServer;
beforeAll(async () => {
  // No hook: terminations go straight through, so the activities end without a controller.
  world = buildWorld(defaultOptions(demoShape(4)), 'none');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterAll(() => server.close());

const aws = (...args: string[]) => awsCli(server.url)(...args);
const group = ['--auto-scaling-group-name', STACK.groupName];
const advance = (seconds: number) => world.clock.run(world.clock.now + seconds);
const activities = async (...args: string[]) =>
  ((await aws('autoscaling', 'describe-scaling-activities', ...group, ...args)) as { Activities: Activity[] })
    .Activities;

(hasAwsCli ? describe : describe.skip)('Auto Scaling through the AWS CLI', () => {
  it('update-auto-scaling-group changes the sizes, and the launch it brings is a scaling activity', async () => {
    await aws('autoscaling', 'update-auto-scaling-group', ...group, '--min-size', '1', '--max-size', '8');
    await aws('autoscaling', 'update-auto-scaling-group', ...group, '--desired-capacity', '5');
    const { AutoScalingGroups } = (await aws('autoscaling', 'describe-auto-scaling-groups')) as {
      AutoScalingGroups: { MinSize: number; MaxSize: number; DesiredCapacity: number }[];
    };
    expect(AutoScalingGroups[0]).toMatchObject({ MinSize: 1, MaxSize: 8, DesiredCapacity: 5 });

    await advance(5);
    const [launch] = await activities();
    expect(launch).toMatchObject({
      AutoScalingGroupName: STACK.groupName,
      Description: expect.stringMatching(/^Launching a new EC2 instance: i-[0-9a-f]{17}$/),
      Cause: expect.stringContaining('changing the desired capacity from 4 to 5'),
      StatusCode: 'InProgress',
    });
    expect(launch?.EndTime).toBeUndefined();

    await advance(60); // healthy after 30 s: in service
    const [done] = await activities('--activity-ids', launch?.ActivityId ?? '');
    expect(done).toMatchObject({ ActivityId: launch?.ActivityId, StatusCode: 'Successful', Progress: 100 });
    expect(Date.parse(done?.EndTime ?? '')).toBeGreaterThan(Date.parse(done?.StartTime ?? ''));
  });

  it('terminate-instance-in-auto-scaling-group answers an activity that describe-scaling-activities lists first, until it ends', async () => {
    const victim = [...world.group.instances.keys()][0] ?? '';
    const { Activity: answered } = (await aws(
      'autoscaling',
      'terminate-instance-in-auto-scaling-group',
      '--instance-id',
      victim,
      '--should-decrement-desired-capacity',
    )) as { Activity: Activity };
    expect(answered).toMatchObject({
      Description: `Terminating EC2 instance: ${victim}`,
      Cause: expect.stringContaining('shrinking the capacity from 5 to 4'),
      StatusCode: 'InProgress',
    });

    const [newest] = await activities();
    expect(newest).toMatchObject({ ActivityId: answered.ActivityId, StatusCode: 'InProgress' });
    await advance(60); // shutdown takes 20 s
    const [ended] = await activities();
    expect(ended).toMatchObject({ ActivityId: answered.ActivityId, StatusCode: 'Successful' });
    const { AutoScalingInstances } = (await aws('autoscaling', 'describe-auto-scaling-instances')) as {
      AutoScalingInstances: { InstanceId: string }[];
    };
    expect(AutoScalingInstances.map((instance) => instance.InstanceId)).not.toContain(victim);
  });

  it('describe-scaling-activities pages newest first: page by page the CLI gets what one call gets', async () => {
    const all = await activities();
    // 4 at the start, the launch and the termination above.
    expect(all).toHaveLength(6);
    const starts = all.map((activity) => Date.parse(activity.StartTime));
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    // --page-size 2: the CLI asks for MaxRecords=2 and follows each NextToken the endpoint hands out.
    expect(await activities('--page-size', '2')).toEqual(all);
    expect(await activities('--filters', 'Name=Status,Values=InProgress')).toEqual([]);
  });

  it('start-instance-refresh and describe-instance-refreshes: progress, checkpoints and the terminations it causes', async () => {
    const { InstanceRefreshId } = (await aws(
      'autoscaling',
      'start-instance-refresh',
      ...group,
      '--preferences',
      JSON.stringify({
        MinHealthyPercentage: 75,
        InstanceWarmup: 0,
        CheckpointPercentages: [50, 100],
        CheckpointDelay: 600,
        ScaleInProtectedInstances: 'Refresh',
      }),
    )) as { InstanceRefreshId: string };
    expect(InstanceRefreshId).toMatch(/^[0-9a-f-]{36}$/);

    const describe = async () =>
      (
        (await aws('autoscaling', 'describe-instance-refreshes', ...group)) as {
          InstanceRefreshes: Record<string, unknown>[];
        }
      ).InstanceRefreshes[0];
    expect(await describe()).toMatchObject({
      InstanceRefreshId,
      Status: 'InProgress',
      Strategy: 'Rolling',
      ProgressDetails: { LivePoolProgress: { PercentageComplete: 0, InstancesToUpdate: 4 } },
      Preferences: {
        MinHealthyPercentage: 75,
        CheckpointPercentages: [50, 100],
        CheckpointDelay: 600,
        ScaleInProtectedInstances: 'Refresh',
      },
    });

    const [terminated] = await activities();
    expect(terminated).toMatchObject({
      Description: expect.stringMatching(/^Terminating EC2 instance: /),
      Cause: expect.stringContaining('in response to an instance refresh'),
    });

    await advance(300); // two of four replaced: it waits at the 50% checkpoint
    expect(await describe()).toMatchObject({
      Status: 'InProgress',
      PercentageComplete: 50,
      StatusReason: expect.stringContaining('checkpoint 50%'),
      ProgressDetails: { LivePoolProgress: { PercentageComplete: 50, InstancesToUpdate: 2 } },
    });

    await advance(1800);
    expect(await describe()).toMatchObject({ Status: 'Successful', PercentageComplete: 100 });
  });
});

if (!hasAwsCli)
  it.todo(
    'the AWS CLI is not installed here: Auto Scaling through the local endpoint was not checked with it',
  );
