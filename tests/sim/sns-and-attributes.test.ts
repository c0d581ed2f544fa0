import { ECSClient, PutAttributesCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { CUSTOM_ATTRIBUTES_MAX } from '../../sim/ecs';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import { STACK, type World } from '../../sim/world';
import { endpointConfig } from '../helpers/endpoint';

// The twin's SNS Publish and ECS custom attributes fail as AWS's do, so that the controller is
// tested against an alert topic that can be down and a container instance that is full.

let world: World;
let server: RunningServer;
const config = () => endpointConfig(server.url);

beforeEach(async () => {
  world = buildWorld(defaultOptions(demoShape(3)), 'silent');
  await world.clock.run(600);
  server = await startApiServer(() => world.api);
});
afterEach(async () => {
  await server.close();
});

describe('SNS Publish in the twin', () => {
  const publish = (input: Partial<{ TopicArn: string; Subject: string; Message: string }>) =>
    new SNSClient(config()).send(
      new PublishCommand({ TopicArn: STACK.alertTopicArn, Message: 'drain alert', ...input }),
    );

  it('records a message to the stack alert topic', async () => {
    await publish({ Subject: 'ECS drain deadline: i-1' });
    expect(world.api.published?.map(({ topicArn, subject }) => [topicArn, subject])).toEqual([
      [STACK.alertTopicArn, 'ECS drain deadline: i-1'],
    ]);
  });

  it('refuses an unknown topic and a subject SNS would refuse, recording nothing', async () => {
    await expect(publish({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:nope' })).rejects.toThrow();
    await expect(publish({ Subject: 'x'.repeat(101) })).rejects.toThrow();
    await expect(publish({ Subject: 'two\nlines' })).rejects.toThrow();
    expect(world.api.published ?? []).toEqual([]);
  });

  it('fails and throttles like every other call when the run asks for faults', async () => {
    world.api.faults = { ...world.api.faults, serverError: 1 };
    await expect(publish({})).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    world.api.faults = { ...world.api.faults, serverError: 0, throttle: 1 };
    await expect(publish({})).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('custom attributes in the twin', () => {
  it('allows ten custom attributes per container instance, and refuses an eleventh', async () => {
    const [instance] = world.ecs.containerInstancesOf([...world.group.instances.keys()][0] ?? '');
    const ecs = new ECSClient(config());
    const put = (name: string) =>
      ecs.send(
        new PutAttributesCommand({
          cluster: STACK.clusterName,
          attributes: [{ name, value: 'x', targetType: 'container-instance', targetId: instance?.arn }],
        }),
      );
    for (let n = 0; n < CUSTOM_ATTRIBUTES_MAX; n++) await put(`team.attribute-${n}`);
    await put('team.attribute-0'); // a new value for one it has is no new attribute
    await expect(put('ecs-drain.started-at')).rejects.toMatchObject({
      name: 'AttributeLimitExceededException',
    });
  });
});
