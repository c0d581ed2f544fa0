import { BLUE_GREEN_TAG } from '../../../shared/decisions/blue-green';
import { planRollback, planSteps, type TaggedGroup } from '../../../shared/decisions/rollout-strategy';

const RUNNING = 'v=1;phase=draining-blue;blue=3;green=4;n=2;min=0;max=4;desired=4;since=100';
const ROLLED_BACK = 'v=1;phase=rolled-back;blue=3;green=4;n=2;min=0;max=4;desired=2;since=100;why=requested';
const served = [
  { autoScalingGroupName: 'prod-ecs-asg', cluster: 'prod' },
  { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
];
const tagged = (name: string, cluster: string, tag?: string): TaggedGroup => ({
  autoScalingGroupName: name,
  cluster,
  tags: { team: 'a', ...(tag !== undefined && { [BLUE_GREEN_TAG]: tag }) },
});

describe('planSteps', () => {
  it('steps only the groups that carry the blue/green tag', () => {
    const plans = planSteps(
      [tagged('prod-ecs-asg', 'prod', RUNNING), tagged('batch-asg', 'batch')],
      'blue-green',
    );
    expect(plans).toEqual([
      {
        kind: 'step',
        autoScalingGroupName: 'prod-ecs-asg',
        cluster: 'prod',
        reason: expect.stringContaining('draining-blue'),
      },
    ]);
  });

  it('steps a malformed tag, so that the state machine refuses it and says why', () => {
    expect(planSteps([tagged('prod-ecs-asg', 'prod', 'green')], 'blue-green')).toEqual([
      expect.objectContaining({ kind: 'step', reason: expect.stringContaining('malformed') }),
    ]);
  });

  it('leaves a rolled-back rollout alone until a person deletes the tag', () => {
    expect(planSteps([tagged('prod-ecs-asg', 'prod', ROLLED_BACK)], 'blue-green')).toEqual([
      expect.objectContaining({ kind: 'leave', reason: expect.stringContaining('rolled back') }),
    ]);
  });

  it('steps nothing under rolling, and says how to finish the rollout it found', () => {
    expect(planSteps([tagged('prod-ecs-asg', 'prod', RUNNING)], 'rolling')).toEqual([
      expect.objectContaining({ kind: 'leave', reason: expect.stringContaining('set RolloutStrategy') }),
    ]);
  });
});

describe('planRollback', () => {
  it('rolls back a served group in its own cluster', () => {
    expect(planRollback('batch-asg', served, 'blue-green')).toEqual({
      kind: 'rollback',
      group: { autoScalingGroupName: 'batch-asg', cluster: 'batch' },
    });
  });

  it('refuses a group this stack does not serve, and names the ones it does', () => {
    expect(planRollback('other-asg', served, 'blue-green')).toEqual({
      kind: 'refused',
      reason: expect.stringContaining('prod-ecs-asg, batch-asg'),
    });
  });

  it('refuses under rolling: the stack has no blue/green rights then', () => {
    expect(planRollback('prod-ecs-asg', served, 'rolling')).toMatchObject({ kind: 'refused' });
  });
});
