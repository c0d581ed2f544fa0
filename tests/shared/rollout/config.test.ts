import { BLUE_GREEN_DEFAULTS } from '../../../shared/decisions/blue-green';
import { loadWatcherConfig } from '../../../shared/rollout/config';

const served = { CLUSTER_NAMES: 'prod', AUTO_SCALING_GROUPS: 'prod:prod-ecs-asg' };

describe('loadWatcherConfig: the rollout strategy', () => {
  it('rolls out with instance refreshes unless told otherwise, with the state machine defaults for blue/green', () => {
    expect(loadWatcherConfig(served)).toMatchObject({ strategy: 'rolling', blueGreen: BLUE_GREEN_DEFAULTS });
  });

  it('reads the blue/green settings, 0 meaning the default drain batch (a quarter of the fleet)', () => {
    const env = {
      ...served,
      ROLLOUT_STRATEGY: 'blue-green',
      BLUE_GREEN_BURN_IN: '600',
      BLUE_GREEN_LAUNCH_TIMEOUT: '900',
      BLUE_GREEN_DRAIN_TIMEOUT: '1200',
    };
    expect(loadWatcherConfig({ ...env, BLUE_GREEN_DRAIN_BATCH_SIZE: '0' })).toMatchObject({
      strategy: 'blue-green',
      blueGreen: { burnInSeconds: 600, launchTimeoutSeconds: 900, drainTimeoutSeconds: 1200 },
    });
    expect(loadWatcherConfig({ ...env, BLUE_GREEN_DRAIN_BATCH_SIZE: '0' }).blueGreen).not.toHaveProperty(
      'drainBatchSize',
    );
    expect(loadWatcherConfig({ ...env, BLUE_GREEN_DRAIN_BATCH_SIZE: '2' }).blueGreen.drainBatchSize).toBe(2);
  });

  it.each([
    ['ROLLOUT_STRATEGY', 'bluegreen'],
    ['BLUE_GREEN_BURN_IN', 'an hour'],
    ['BLUE_GREEN_LAUNCH_TIMEOUT', '10'],
    ['BLUE_GREEN_DRAIN_BATCH_SIZE', '-1'],
  ])('fails loudly with the name of a malformed %s', (name, value) => {
    expect(() => loadWatcherConfig({ ...served, [name]: value })).toThrow(name);
  });
});
