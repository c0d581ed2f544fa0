import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type RunningServer, startApiServer } from '../../sim/api/server';
import { buildWorld, defaultOptions, demoShape } from '../../sim/scenario';
import type { World } from '../../sim/world';
import { endpointConfig } from '../helpers/endpoint';

// The public SSM parameters of the ECS-optimized AMIs (aws-semantics §6), through the real SSM
// client (awsJson1_1, X-Amz-Target AmazonSSM.GetParameters): the fleet starts on the recommended
// AL2023 AMI; a scenario publishes a new one, which raises the parameters' versions.

const AL2023 = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';
const AL2023_ARM = '/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id';
const AL2 = '/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id';
const AL2023_JSON = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';

let world: World;
let server: RunningServer;
let ssm: SSMClient;

beforeAll(async () => {
  server = await startApiServer(() => world.api);
  ssm = new SSMClient(endpointConfig(server.url));
});
beforeEach(async () => {
  world = buildWorld(defaultOptions(demoShape(6)), 'none');
  await world.clock.run(600);
});
afterAll(async () => {
  ssm.destroy();
  await server.close();
});

const values = async (names: string[]) => {
  const { Parameters, InvalidParameters } = await ssm.send(new GetParametersCommand({ Names: names }));
  return {
    values: Object.fromEntries((Parameters ?? []).map((p) => [p.Name, p.Value])),
    Parameters,
    InvalidParameters,
  };
};

describe('the ECS-optimized AMI parameters', () => {
  it('recommend the AMI the fleet runs for AL2023, and an AMI for the arm64 and AL2 variants', async () => {
    const { values: found, Parameters, InvalidParameters } = await values([AL2023, AL2023_ARM, AL2]);

    expect(found[AL2023]).toBe(world.group.currentAmiId);
    expect(found[AL2023_ARM]).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(found[AL2]).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(new Set(Object.values(found)).size).toBe(3);
    expect(InvalidParameters).toEqual([]);
    expect(Parameters?.[0]).toMatchObject({
      Type: 'String',
      Version: 1,
      DataType: 'text',
      ARN: `arn:aws:ssm:us-east-1::parameter${AL2023}`,
    });
    expect(Parameters?.[0]?.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('carry a JSON string under `recommended` whose image_id is the same AMI', async () => {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: AL2023_JSON }));
    const recommended = JSON.parse(Parameter?.Value ?? '{}') as Record<string, unknown>;
    expect(recommended).toMatchObject({
      image_id: world.group.currentAmiId,
      os: 'Amazon Linux 2023',
      schema_version: 1,
      ecs_agent_version: expect.any(String),
    });
    expect(recommended.image_name).toMatch(/^al2023-ami-ecs-hvm-/);
  });

  it('change when a scenario publishes a new AMI, with a higher version; other variants stay', async () => {
    const before = await values([AL2023, AL2]);
    world.ssm.publishEcsOptimizedAmi('amazon-linux-2023', 'ami-0aaaabbbbcccc1234');

    const after = await values([AL2023, AL2, AL2023_JSON]);
    expect(after.values[AL2023]).toBe('ami-0aaaabbbbcccc1234');
    expect(after.values[AL2]).toBe(before.values[AL2]);
    expect(after.Parameters?.[0]?.Version).toBe(2);
    expect(JSON.parse(after.values[AL2023_JSON] ?? '{}')).toMatchObject({
      image_id: 'ami-0aaaabbbbcccc1234',
    });
  });

  it('list unknown names in InvalidParameters, refuse more than 10, and answer ParameterNotFound to GetParameter', async () => {
    const { InvalidParameters } = await values([
      AL2023,
      '/aws/service/ecs/optimized-ami/amazon-linux-3000/x',
    ]);
    expect(InvalidParameters).toEqual(['/aws/service/ecs/optimized-ami/amazon-linux-3000/x']);
    await expect(values(Array.from({ length: 11 }, () => AL2023))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(ssm.send(new GetParameterCommand({ Name: '/nope' }))).rejects.toMatchObject({
      name: 'ParameterNotFound',
    });
  });
});
