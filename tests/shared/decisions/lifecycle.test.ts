import { decideCompletion } from '../../../shared/decisions/lifecycle';
import { INSTANCE_ID, testConfig } from '../../helpers/events';

function asgInstance(lifecycleState: string, autoScalingGroupName = 'prod-ecs-asg') {
  return { instanceId: INSTANCE_ID, autoScalingGroupName, lifecycleState };
}

describe('decideCompletion', () => {
  it.each(['Terminating:Wait', 'Warmed:Pending:Wait'])(
    'completes an instance of our group in %s',
    (state) => {
      expect(decideCompletion(asgInstance(state), testConfig)).toEqual({ kind: 'complete' });
    },
  );

  it.each(['InService', 'Terminating:Proceed', 'Standby', 'Pending:Wait'])(
    'leaves an instance in %s',
    (state) => {
      expect(decideCompletion(asgInstance(state), testConfig)).toMatchObject({ kind: 'leave' });
    },
  );

  it('leaves an instance that is in no Auto Scaling group (drained by hand)', () => {
    expect(decideCompletion(undefined, testConfig)).toMatchObject({ kind: 'leave' });
  });

  it('leaves an instance of another Auto Scaling group', () => {
    expect(decideCompletion(asgInstance('Terminating:Wait', 'other-asg'), testConfig)).toMatchObject({
      kind: 'leave',
      reason: expect.stringContaining('other-asg'),
    });
  });
});
