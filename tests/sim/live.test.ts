import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { isoTime, SIM_EPOCH } from '../../sim/clock';
import { serveLive } from '../../sim/live';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK } from '../../sim/world';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

// What runs outside a served world (sam local invoke, the bundles, ecs-drain) measures ages with its
// own clock: the world's timestamps must be wall-clock time, or a drain looks months old and its
// deadline has passed before it began.
it('a world served live tells wall-clock time; closing it puts back the fixed epoch of rehearsals', async () => {
  const live = await serveLive(buildWorld(defaultOptions(demoShape(3)), 'none'), { speed: 1 });
  try {
    const ecs = new ECSClient({ endpoint: live.url, region: 'us-east-1', credentials });
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ cluster: STACK.clusterName }));
    const { tasks = [] } = await ecs.send(
      new DescribeTasksCommand({ cluster: STACK.clusterName, tasks: taskArns.slice(0, 1) }),
    );
    // Placed while the world settled its ten minutes before serving: ten minutes ago, by this clock.
    const startedAgo = (Date.now() - (tasks[0]?.startedAt?.getTime() ?? 0)) / 1000;
    expect(startedAgo).toBeGreaterThan(400);
    expect(startedAgo).toBeLessThan(620);
  } finally {
    await live.close();
  }
  expect(isoTime(0)).toBe(new Date(SIM_EPOCH).toISOString());
});
