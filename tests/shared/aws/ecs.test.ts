import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  PutAttributesCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { ALERTS_ATTRIBUTE, DRAIN_STARTED_ATTRIBUTE, EcsAdapter } from '../../../shared/aws/ecs';
import { Pacer } from '../../../shared/aws/pacer';
import { containerInstance } from '../../helpers/aws';
import { CONTAINER_INSTANCE_ARN, containerInstanceArn, taskArn } from '../../helpers/events';
import { InstantTiming, ManualTiming, RecordingPacer, settle } from '../../helpers/timing';

const ecs = mockClient(ECSClient);

const T0 = Date.parse('2026-01-10T11:58:43.904Z');

/** The adapter as a function wires it, with a pacer that never waits for real and notes priorities. */
function adapter(pacer: Pacer = new RecordingPacer(10, 10, new InstantTiming())) {
  return new EcsAdapter(new ECSClient({}), pacer);
}

beforeEach(() => {
  ecs.reset();
});

describe('EcsAdapter.markDrainStarted', () => {
  it('records the start time as the ecs-drain.started-at attribute (ISO time), ten container instances per call', async () => {
    const instances = Array.from({ length: 12 }, (_, n) => ({
      arn: containerInstanceArn(n),
      at: T0 + n * 1000,
    }));

    await adapter().markDrainStarted('prod', instances);

    const calls = ecs.commandCalls(PutAttributesCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.attributes?.length)).toEqual([10, 2]);
    expect(calls.every((input) => input.cluster === 'prod')).toBe(true);
    expect(calls.flatMap((input) => input.attributes)).toEqual(
      instances.map(({ arn, at }) => ({
        name: DRAIN_STARTED_ATTRIBUTE,
        value: new Date(at).toISOString(),
        targetType: 'container-instance',
        targetId: arn,
      })),
    );
    expect(DRAIN_STARTED_ATTRIBUTE).toBe('ecs-drain.started-at');
  });

  it('makes no call when there is nothing to mark', async () => {
    await adapter().markDrainStarted('prod', []);

    expect(ecs.calls()).toHaveLength(0);
  });
});

describe('reading the drain start back', () => {
  const startedAt = (value: string) => ({
    attributes: [
      { name: 'ecs.os-type', value: 'linux' },
      { name: DRAIN_STARTED_ATTRIBUTE, value },
    ],
  });

  it('gives the start time a describe returns as drainStartedAt (epoch ms)', async () => {
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        containerInstance({ status: 'DRAINING', ...startedAt('2026-01-10T11:58:43.904Z') }),
      ],
    });

    const { found } = await adapter().describeContainerInstances('prod', [CONTAINER_INSTANCE_ARN]);

    expect(found).toEqual([expect.objectContaining({ arn: CONTAINER_INSTANCE_ARN, drainStartedAt: T0 })]);
  });

  it.each([
    ['no such attribute', { attributes: [{ name: 'ecs.os-type', value: 'linux' }] }],
    ['no attribute at all', {}],
    ['a value that is no time', startedAt('soon')],
  ])('leaves drainStartedAt out for %s', async (_case, changes) => {
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [containerInstance(changes)] });

    const { found } = await adapter().describeContainerInstances('prod', [CONTAINER_INSTANCE_ARN]);

    expect(found).toHaveLength(1);
    expect(found[0]).not.toHaveProperty('drainStartedAt');
  });

  it('reads it from the instances UpdateContainerInstancesState returns as well', async () => {
    ecs.on(UpdateContainerInstancesStateCommand).resolves({
      containerInstances: [
        containerInstance({ status: 'DRAINING', ...startedAt('2026-01-10T11:58:43.904Z') }),
      ],
    });

    const { draining } = await adapter().setDraining('prod', [CONTAINER_INSTANCE_ARN]);

    expect(draining).toEqual([expect.objectContaining({ status: 'DRAINING', drainStartedAt: T0 })]);
  });
});

describe('EcsAdapter pacing', () => {
  it('makes each read wait for the read pacer', async () => {
    const timing = new ManualTiming();
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [] });
    const arns = Array.from({ length: 150 }, (_, n) => containerInstanceArn(n));

    const described = adapter(new Pacer(10, 1, timing)).describeContainerInstances('prod', arns);
    await settle();
    expect(ecs).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 1);
    await timing.advance(99);
    expect(ecs).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 1);
    await timing.advance(1);
    await described;

    expect(ecs).toHaveReceivedCommandTimes(DescribeContainerInstancesCommand, 2);
  });

  it('lists tasks at the priority it is given, for every page, and urgently by default', async () => {
    ecs
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: [taskArn(1)], nextToken: 'page-2' })
      .resolvesOnce({ taskArns: [taskArn(2)] })
      .resolves({ taskArns: [taskArn(3)] });
    const pacer = new RecordingPacer(10, 10, new InstantTiming());
    const ecsAdapter = adapter(pacer);

    const listed = await ecsAdapter.listTasksToldToStop('prod', CONTAINER_INSTANCE_ARN, 'background');
    const byDefault = await ecsAdapter.listTasksToldToStop('prod', CONTAINER_INSTANCE_ARN);

    expect(listed).toEqual([taskArn(1), taskArn(2)]);
    expect(byDefault).toEqual([taskArn(3)]);
    expect(pacer.priorities).toEqual(['background', 'background', 'urgent']);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      cluster: 'prod',
      containerInstance: CONTAINER_INSTANCE_ARN,
      desiredStatus: 'STOPPED',
    });
  });

  it('describes tasks urgently, a hundred per call', async () => {
    ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
    const pacer = new RecordingPacer(10, 10, new InstantTiming());

    await adapter(pacer).describeTasks(
      'prod',
      Array.from({ length: 150 }, (_, n) => taskArn(n)),
    );

    expect(ecs.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.tasks?.length)).toEqual([
      100, 50,
    ]);
    expect(pacer.priorities).toEqual(['urgent', 'urgent']);
  });
});

describe('the alerts sent about a drain', () => {
  // ECS attribute values: letters, digits, hyphens, underscores, periods, at signs, slashes, colons, spaces.
  const ECS_ATTRIBUTE_VALUE = /^[A-Za-z0-9\-_.@/\\: ]{1,128}$/;

  const DRAIN_START = Date.parse('2026-01-10T12:00:00.000Z');

  it('records several keys in one value ECS accepts, with the drain they were about, and reads them all back', async () => {
    await adapter().markAlertsSent(
      'prod',
      [CONTAINER_INSTANCE_ARN],
      ['deadline', 'cannot-progress', 'deadline'],
      DRAIN_START,
    );
    const [attribute] = ecs.commandCalls(PutAttributesCommand)[0]?.args[0].input.attributes ?? [];
    expect(attribute?.name).toBe(ALERTS_ATTRIBUTE);
    expect(attribute?.value).toMatch(ECS_ATTRIBUTE_VALUE);

    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        containerInstance({ attributes: [{ name: ALERTS_ATTRIBUTE, value: attribute?.value }] }),
      ],
    });
    const { found } = await adapter().describeContainerInstances('prod', [CONTAINER_INSTANCE_ARN]);
    expect(found[0]?.alertsSent).toEqual(['cannot-progress', 'deadline']);
    expect(found[0]?.alertsForDrainStartedAt).toBe(DRAIN_START);
  });

  it('reads a record without its drain (written before drains were named) as keys alone', async () => {
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        containerInstance({ attributes: [{ name: ALERTS_ATTRIBUTE, value: 'deadline lost-event' }] }),
      ],
    });
    const { found } = await adapter().describeContainerInstances('prod', [CONTAINER_INSTANCE_ARN]);
    expect(found[0]?.alertsSent).toEqual(['deadline', 'lost-event']);
    expect(found[0]).not.toHaveProperty('alertsForDrainStartedAt');
  });
});

describe('EcsAdapter.stopTasks', () => {
  it('stops each task with the reason, cut to the 255 characters StopTask takes', async () => {
    await adapter().stopTasks(
      'prod',
      [taskArn('a'), taskArn('b'), taskArn('a')],
      `ecs-drain: ${'x'.repeat(300)}`,
    );
    const inputs = ecs.commandCalls(StopTaskCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.task)).toEqual([taskArn('a'), taskArn('b')]);
    expect(
      inputs.every((input) => input.reason?.length === 255 && input.reason.startsWith('ecs-drain: x')),
    ).toBe(true);
  });
});
