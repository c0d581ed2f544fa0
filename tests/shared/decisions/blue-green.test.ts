import {
  BLUE_GREEN_DEFAULTS,
  type BlueGreenCommand,
  type BlueGreenObservation,
  type BlueGreenRequest,
  decideBlueGreen,
  formatState,
  type ObservedInstance,
  parseState,
} from '../../../shared/decisions/blue-green';

// The blue/green state machine, phase by phase, from observations built by hand. `apply` plays
// the commands onto the observation as AWS would, so that a test can look again and see that a
// repeated step does nothing twice.

const T0 = 1_767_225_600; // epoch seconds
const BURN_IN = BLUE_GREEN_DEFAULTS.burnInSeconds;

function instance(
  id: string,
  version: string,
  options: Partial<{
    state: string;
    status: string;
    agent: boolean;
    running: number;
    pending: number;
    protected: boolean;
    registered: boolean;
  }> = {},
): ObservedInstance {
  const { state = 'InService', status = 'ACTIVE', agent = true, running = 2, pending = 0 } = options;
  return {
    instanceId: id,
    lifecycleState: state,
    launchTemplateVersion: version,
    protectedFromScaleIn: options.protected ?? false,
    ...(options.registered !== false && {
      container: {
        arn: `arn:ci/${id}`,
        status,
        agentConnected: agent,
        runningTasksCount: status === 'DRAINING' ? 0 : running,
        pendingTasksCount: pending,
      },
    }),
  };
}

const blueFleet = (extra: Parameters<typeof instance>[2] = {}) =>
  ['b1', 'b2', 'b3'].map((id) => instance(id, '1', extra));
const greenFleet = (extra: Parameters<typeof instance>[2] = {}) =>
  ['g1', 'g2', 'g3'].map((id) => instance(id, '2', extra));

function observation(
  instances: ObservedInstance[],
  overrides: Partial<BlueGreenObservation['group']> = {},
  tag?: string,
): BlueGreenObservation {
  return {
    group: {
      name: 'prod-ecs-asg',
      minSize: 0,
      maxSize: 4,
      desiredCapacity: 3,
      launchTemplate: { id: 'lt-0abc', version: '1' },
      ...overrides,
    },
    instances,
    ...(tag !== undefined && { tag }),
  };
}

const state = (phase: string, extra = '') =>
  `v=1;phase=${phase};blue=1;green=2;n=3;min=0;max=4;desired=3;since=${T0}${extra}`;

/** The commands carried out, as AWS would: the next observation. */
function apply(seen: BlueGreenObservation, commands: BlueGreenCommand[]): BlueGreenObservation {
  const next: BlueGreenObservation = structuredClone(seen);
  for (const command of commands) {
    const find = (id: string) => next.instances.find((i) => i.instanceId === id);
    switch (command.kind) {
      case 'update-group':
        if (command.minSize !== undefined) next.group.minSize = command.minSize;
        if (command.maxSize !== undefined) next.group.maxSize = command.maxSize;
        if (command.desiredCapacity !== undefined) next.group.desiredCapacity = command.desiredCapacity;
        if (command.launchTemplate !== undefined) next.group.launchTemplate = command.launchTemplate;
        break;
      case 'protect':
        for (const id of command.instanceIds)
          (find(id) as ObservedInstance).protectedFromScaleIn = command.protect;
        break;
      case 'set-state':
        for (const i of next.instances)
          if (i.container !== undefined && command.containerInstanceArns.includes(i.container.arn))
            i.container.status = command.status;
        break;
      case 'terminate':
        for (const id of command.instanceIds) {
          (find(id) as ObservedInstance).lifecycleState = 'Terminating:Wait';
          next.group.desiredCapacity--;
        }
        break;
      case 'write-tag':
        next.tag = command.value;
        break;
      case 'delete-tag':
        delete next.tag;
        break;
      case 'alert':
        break;
    }
  }
  return next;
}

const decide = (seen: BlueGreenObservation, at = T0, request: BlueGreenRequest = { action: 'none' }) =>
  decideBlueGreen(seen, at, request);
const kinds = (commands: BlueGreenCommand[]) => commands.map((c) => c.kind);
const drainsOf = (commands: BlueGreenCommand[], status: 'ACTIVE' | 'DRAINING') =>
  commands.flatMap((c) => (c.kind === 'set-state' && c.status === status ? c.containerInstanceArns : []));

describe('the tag', () => {
  it('round-trips, and stays within 256 characters with the largest figures', () => {
    const big = {
      v: '1' as const,
      phase: 'rolling-back' as const,
      blue: '9999999999',
      green: '9999999998',
      n: 99999,
      min: 99999,
      max: 99999,
      desired: 99999,
      since: 9_999_999_999,
      until: 9_999_999_999,
      why: 'green-unready',
    };
    const value = formatState(big);
    expect(value.length).toBeLessThanOrEqual(256);
    expect(parseState(value)).toEqual(big);
  });

  it.each([
    ['garbage', 'hello'],
    ['an unknown phase', state('warming')],
    ['an unknown key', `${state('standby')};colour=blue`],
    ['a key given twice', `${state('standby')};n=4`],
    ['a version that is not a number', state('standby').replace('green=2', 'green=$Latest')],
    ['no instance to replace', state('standby').replace('n=3', 'n=0')],
    ['min above max', state('standby').replace('min=0', 'min=9')],
    ['a missing field', state('standby').replace(';blue=1', '')],
    ['more than 256 characters', `${state('standby')};why=${'x'.repeat(250)}`],
  ])('is refused, never guessed, when it has %s: no command at all', (_what, tag) => {
    const seen = observation([...blueFleet(), ...greenFleet()], { desiredCapacity: 6, maxSize: 6 }, tag);

    for (const request of ['none', 'rollback', 'promote-now'] as const) {
      const decision = decide(seen, T0 + BURN_IN, { action: request, target: '3' });
      expect(decision.phase).toBe('refused');
      expect(decision.commands).toEqual([]);
      expect(decision.reason).toContain('malformed');
    }
  });
});

describe('start', () => {
  it('records the rollout first, protects blue, switches the launch template to green and holds both fleets', () => {
    const seen = observation(blueFleet());

    const decision = decide(seen, T0, { action: 'none', target: '2' });

    expect(decision.phase).toBe('launching');
    expect(kinds(decision.commands)).toEqual(['write-tag', 'protect', 'update-group']);
    expect(parseState((decision.commands[0] as { value: string }).value)).toMatchObject({
      phase: 'launching',
      blue: '1',
      green: '2',
      n: 3,
      min: 0,
      max: 4,
      desired: 3,
      since: T0,
    });
    expect(decision.commands[1]).toEqual({ kind: 'protect', instanceIds: ['b1', 'b2', 'b3'], protect: true });
    expect(decision.commands[2]).toEqual({
      kind: 'update-group',
      launchTemplate: { id: 'lt-0abc', version: '2' },
      desiredCapacity: 6,
      maxSize: 6,
    });
  });

  it('is not repeated: the same step again (before green even launched) changes nothing', () => {
    const after = apply(
      observation(blueFleet()),
      decide(observation(blueFleet()), T0, { action: 'none', target: '2' }).commands,
    );

    const again = decide(after, T0 + 5, { action: 'none', target: '2' });

    expect(again.phase).toBe('launching');
    expect(again.commands).toEqual([]);
  });

  it('resumes from the tag alone when the step stopped right after writing it', () => {
    const tagOnly = observation(blueFleet(), {}, state('launching'));

    const decision = decide(tagOnly, T0 + 5);

    expect(kinds(decision.commands)).toEqual(['protect', 'update-group']);
  });

  it('does nothing without a target, for the version already launched, or for $Latest', () => {
    expect(decide(observation(blueFleet())).commands).toEqual([]);
    expect(decide(observation(blueFleet()), T0, { action: 'none', target: '1' }).phase).toBe('done');
    const latest = decide(observation(blueFleet()), T0, { action: 'none', target: '$Latest' });
    expect(latest).toMatchObject({ phase: 'refused', commands: [] });
  });
});

describe('launching', () => {
  const launching = (green: ObservedInstance[]) =>
    observation(
      [...blueFleet({ protected: true }), ...green],
      { desiredCapacity: 6, maxSize: 6, launchTemplate: { id: 'lt-0abc', version: '2' } },
      state('launching'),
    );

  it('never drains blue before every green instance is in service, ACTIVE, with its agent connected', () => {
    const notYet = [
      [instance('g1', '2'), instance('g2', '2'), instance('g3', '2', { state: 'Pending' })],
      [instance('g1', '2'), instance('g2', '2'), instance('g3', '2', { agent: false })],
      [instance('g1', '2'), instance('g2', '2'), instance('g3', '2', { registered: false })],
      [instance('g1', '2'), instance('g2', '2')],
    ];
    for (const green of notYet) {
      const decision = decide(launching(green), T0 + 300);
      expect(decision.phase).toBe('launching');
      expect(decision.commands).toEqual([]);
    }
  });

  it('drains blue once green is ready, and records draining-blue after the drain', () => {
    const decision = decide(launching(greenFleet({ running: 0 })), T0 + 300);

    expect(decision.phase).toBe('draining-blue');
    expect(kinds(decision.commands)).toEqual(['set-state', 'write-tag']);
    // A quarter of the fleet at a time, rounded up: one of three.
    expect(drainsOf(decision.commands, 'DRAINING')).toEqual(['arn:ci/b1']);
    expect(parseState((decision.commands[1] as { value: string }).value)).toMatchObject({
      phase: 'draining-blue',
      since: T0 + 300,
    });
  });

  it('rolls back when green is not ready within the launch timeout, with one alert', () => {
    const seen = launching([instance('g1', '2'), instance('g2', '2', { state: 'Pending' })]);

    const decision = decide(seen, T0 + BLUE_GREEN_DEFAULTS.launchTimeoutSeconds);

    expect(decision.phase).toBe('rolling-back');
    expect(kinds(decision.commands).slice(0, 3)).toEqual(['write-tag', 'alert', 'update-group']);
    expect(parseState((decision.commands[0] as { value: string }).value)).toMatchObject({
      phase: 'rolling-back',
      why: 'launch-timeout',
    });
    expect(decision.commands[2]).toMatchObject({ launchTemplate: { version: '1' } });
    const next = decide(apply(seen, decision.commands), T0 + BLUE_GREEN_DEFAULTS.launchTimeoutSeconds + 60);
    expect(kinds(next.commands)).not.toContain('alert');
  });
});

describe('draining-blue and standby', () => {
  const drainingObs = (blue: ObservedInstance[], green = greenFleet()) =>
    observation(
      [...blue, ...green],
      { desiredCapacity: 6, maxSize: 6, launchTemplate: { id: 'lt-0abc', version: '2' } },
      state('draining-blue'),
    );

  it('waits while blue still has tasks, then records standby until the burn-in ends', () => {
    const busy = [
      instance('b1', '1', { protected: true, status: 'DRAINING' }),
      instance('b2', '1', { protected: true, status: 'DRAINING' }),
    ];
    busy.push({
      ...instance('b3', '1', { protected: true }),
      container: {
        arn: 'arn:ci/b3',
        status: 'DRAINING',
        agentConnected: true,
        runningTasksCount: 1,
        pendingTasksCount: 0,
      },
    });
    expect(decide(drainingObs(busy), T0 + 60)).toMatchObject({ phase: 'draining-blue', commands: [] });

    const empty = blueFleet({ protected: true, status: 'DRAINING' });
    const decision = decide(drainingObs(empty), T0 + 120);
    expect(decision.phase).toBe('standby');
    expect(kinds(decision.commands)).toEqual(['write-tag']);
    expect(parseState((decision.commands[0] as { value: string }).value)).toMatchObject({
      phase: 'standby',
      until: T0 + 120 + BURN_IN,
    });
  });

  it('drains blue a batch at a time: the next instances once those draining are empty', () => {
    const settings = { ...BLUE_GREEN_DEFAULTS, drainBatchSize: 2 };
    let seen = drainingObs(blueFleet({ protected: true }));
    const first = decideBlueGreen(seen, T0 + 60, { action: 'none' }, settings);
    expect(drainsOf(first.commands, 'DRAINING')).toEqual(['arn:ci/b1', 'arn:ci/b2']);
    seen = apply(seen, first.commands);
    // b1 is empty, b2 still has tasks: one more may drain.
    const b1 = seen.instances[0]?.container;
    if (b1 !== undefined) b1.runningTasksCount = 0;
    const second = decideBlueGreen(seen, T0 + 120, { action: 'none' }, settings);
    expect(drainsOf(second.commands, 'DRAINING')).toEqual(['arn:ci/b3']);
  });

  it('sets blue DRAINING once: the same step after it took effect sends no second update', () => {
    const seen = drainingObs(blueFleet({ protected: true }));
    const first = decide(seen, T0 + 60);
    expect(drainsOf(first.commands, 'DRAINING')).toEqual(['arn:ci/b1']);

    const again = decide(apply(seen, first.commands), T0 + 61);

    expect(again.commands).toEqual([]);
  });

  const standbyObs = (green = greenFleet()) =>
    observation(
      [...blueFleet({ protected: true, status: 'DRAINING' }), ...green],
      { desiredCapacity: 6, maxSize: 6, launchTemplate: { id: 'lt-0abc', version: '2' } },
      state('standby', `;until=${T0 + BURN_IN}`),
    );

  it('keeps blue on standby (registered, DRAINING, empty) until the burn-in ends, then retires it', () => {
    expect(decide(standbyObs(), T0 + BURN_IN - 1)).toMatchObject({ phase: 'standby', commands: [] });

    const decision = decide(standbyObs(), T0 + BURN_IN);

    expect(decision.phase).toBe('retiring');
    expect(kinds(decision.commands)).toEqual(['write-tag', 'terminate']);
    expect(decision.commands[1]).toEqual({ kind: 'terminate', instanceIds: ['b1', 'b2', 'b3'] });
  });

  it('goes on with the rollout in progress when another version is asked for meanwhile', () => {
    const decision = decide(standbyObs(), T0 + 60, { action: 'none', target: '3' });
    expect(decision).toMatchObject({ phase: 'standby', commands: [] });
    expect(decision.reason).toContain('target 3 waits');
  });

  it('promote-now retires blue before the burn-in ends', () => {
    const decision = decide(standbyObs(), T0 + 60, { action: 'promote-now' });
    expect(decision.phase).toBe('retiring');
  });

  it('rolls back by itself when a green instance stops being ready during the burn-in', () => {
    const decision = decide(
      standbyObs([...greenFleet().slice(0, 2), instance('g3', '2', { agent: false })]),
      T0 + 60,
    );
    expect(decision.phase).toBe('rolling-back');
    expect(decision.reason).toContain('green');
  });
});

describe('retiring', () => {
  const retiringObs = (blue: ObservedInstance[], desired: number) =>
    observation(
      [...blue, ...greenFleet()],
      { desiredCapacity: desired, maxSize: 6, launchTemplate: { id: 'lt-0abc', version: '2' } },
      state('retiring'),
    );

  it('terminates each blue instance once, even when the instance list still shows it in service', () => {
    const first = decide(retiringObs(blueFleet({ status: 'DRAINING' }), 6), T0);
    expect(first.commands).toEqual([{ kind: 'terminate', instanceIds: ['b1', 'b2', 'b3'] }]);
    // Applied: the instances terminate; a second look does not terminate again.
    expect(
      decide(apply(retiringObs(blueFleet({ status: 'DRAINING' }), 6), first.commands), T0 + 5).commands,
    ).toEqual([]);
    // Stale list (desired already lowered, instances not yet shown terminating): nothing either.
    expect(decide(retiringObs(blueFleet({ status: 'DRAINING' }), 3), T0 + 5).commands).toEqual([]);
  });

  it('restores the sizes and deletes the tag once blue is gone; a rollback is too late', () => {
    const decision = decide(retiringObs([], 3), T0 + 600, { action: 'rollback' });

    expect(decision.phase).toBe('done');
    expect(decision.commands).toEqual([
      { kind: 'update-group', minSize: 0, maxSize: 4 },
      { kind: 'delete-tag' },
    ]);
    expect(decision.reason).toContain('too late');
  });
});

describe('rollback', () => {
  const greenVersion = { launchTemplate: { id: 'lt-0abc', version: '2' } };

  it.each([
    ['launching', blueFleet({ protected: true }), state('launching')],
    ['draining-blue', blueFleet({ protected: true, status: 'DRAINING' }), state('draining-blue')],
    [
      'standby',
      blueFleet({ protected: true, status: 'DRAINING' }),
      state('standby', `;until=${T0 + BURN_IN}`),
    ],
  ])(
    'from %s: blue ACTIVE again before green drains, then green terminated, sizes restored, tag kept as rolled-back',
    (_phase, blue, tag) => {
      let seen = observation(
        [...blue, ...greenFleet()],
        { desiredCapacity: 6, maxSize: 6, ...greenVersion },
        tag,
      );
      const steps: { phase: string; commands: BlueGreenCommand[] }[] = [];
      let at = T0 + 60;
      let request: BlueGreenRequest = { action: 'rollback' };
      for (let n = 0; n < 8 && seen.tag?.includes('rolled-back') !== true; n++) {
        const decision = decide(seen, at, request);
        steps.push(decision);
        // Never: green set DRAINING while a blue container instance is seen not ACTIVE.
        if (drainsOf(decision.commands, 'DRAINING').length > 0)
          expect(
            seen.instances
              .filter((i) => i.launchTemplateVersion === '1')
              .every((i) => i.container?.status === 'ACTIVE'),
          ).toBe(true);
        seen = apply(seen, decision.commands);
        // ECS empties what is DRAINING before the next look.
        for (const i of seen.instances)
          if (i.container?.status === 'DRAINING') i.container.runningTasksCount = 0;
        // Auto Scaling removes what it terminated.
        seen.instances = seen.instances.filter((i) => i.lifecycleState !== 'Terminating:Wait');
        at += 60;
        request = { action: 'none' };
      }

      expect(steps[0]?.commands[0]).toMatchObject({ kind: 'write-tag' });
      expect(kinds(steps[0]?.commands ?? [])).toContain('alert');
      expect(steps.flatMap((s) => kinds(s.commands)).filter((k) => k === 'alert')).toHaveLength(1);
      expect(seen.tag).toContain('phase=rolled-back');
      expect(seen.tag).toContain('why=requested');
      expect(seen.group).toMatchObject({
        minSize: 0,
        maxSize: 4,
        desiredCapacity: 3,
        launchTemplate: { version: '1' },
      });
      expect(seen.instances.map((i) => [i.instanceId, i.container?.status, i.protectedFromScaleIn])).toEqual([
        ['b1', 'ACTIVE', false],
        ['b2', 'ACTIVE', false],
        ['b3', 'ACTIVE', false],
      ]);
      // Each green instance terminated exactly once.
      const terminated = steps.flatMap((s) =>
        s.commands.flatMap((c) => (c.kind === 'terminate' ? c.instanceIds : [])),
      );
      expect(terminated.sort()).toEqual(['g1', 'g2', 'g3']);
      // Rolled back: the same version is not started again by the schedule; nothing happens.
      const after = decide(seen, at, { action: 'none', target: '2' });
      expect(after).toMatchObject({ phase: 'rolled-back', commands: [] });
    },
  );

  it('from standby, the first step only makes blue ACTIVE: green is not drained in the same step', () => {
    const seen = observation(
      [...blueFleet({ protected: true, status: 'DRAINING' }), ...greenFleet()],
      { desiredCapacity: 6, maxSize: 6, ...greenVersion },
      state('standby', `;until=${T0 + BURN_IN}`),
    );

    const decision = decide(seen, T0 + 60, { action: 'rollback' });

    expect(drainsOf(decision.commands, 'ACTIVE')).toEqual(['arn:ci/b1', 'arn:ci/b2', 'arn:ci/b3']);
    expect(drainsOf(decision.commands, 'DRAINING')).toEqual([]);
    expect(kinds(decision.commands)).not.toContain('terminate');
  });
});
