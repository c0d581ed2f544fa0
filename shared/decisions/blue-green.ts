import * as z from '../zod';

/**
 * Blue/green replacement of an Auto Scaling group's ECS fleet, with a way back (issue 9). Pure:
 * the recorded state (one group tag), an observation of the group and its container instances,
 * the time and a request go in; the commands to carry out, the phase reached and a reason come
 * out. Level-triggered: every call recomputes from what it sees, so a repeated, late or crashed
 * invocation does the right thing, and any invocation can resume from the tag alone.
 *
 * start -> launching -> draining-blue -> standby -> retiring -> done (tag deleted)
 *               \______________\_____________\__> rolling-back -> rolled-back (tag kept)
 *
 * Safety: blue is drained only once every green instance is in service with its container
 * instance ACTIVE and its agent connected; green is drained only once every blue container
 * instance is seen ACTIVE again. So the services always have ACTIVE capacity for all their tasks.
 */

/** The group tag that records a rollout in progress (or one rolled back). */
export const BLUE_GREEN_TAG = 'ecs-drain:blue-green';
/** Auto Scaling's limit on a tag value. */
export const TAG_VALUE_MAX = 256;

export const BLUE_GREEN_PHASES = [
  'launching',
  'draining-blue',
  'standby',
  'retiring',
  'rolling-back',
  'rolled-back',
] as const;
export type RecordedPhase = (typeof BLUE_GREEN_PHASES)[number];
/** What a step reports: a recorded phase, or where no tag is (`idle`, `done`), or a refusal. */
export type BlueGreenPhase = RecordedPhase | 'idle' | 'done' | 'refused';

const count = z.coerce.number().check(z.int(), z.gte(0));
const version = z.string().check(z.regex(/^[1-9]\d{0,9}$/, 'a numbered launch template version'));

/**
 * The tag's value: `v=1;phase=standby;blue=3;green=4;n=6;min=0;max=13;desired=6;since=…;until=…`
 * (`;`-separated `key=value`, epoch seconds). `n` is the size of the blue fleet when the rollout
 * started, `min`/`max`/`desired` the group's sizes then, restored at the end; `since` is when the
 * phase began; `until` ends the burn-in (standby); `why` says why a rollback began.
 */
export const BlueGreenState = z.strictObject({
  v: z.literal('1'),
  phase: z.enum(BLUE_GREEN_PHASES),
  blue: version,
  green: version,
  n: count.check(z.refine((n) => n > 0, 'the blue fleet has at least one instance')),
  min: count,
  max: count,
  desired: count,
  since: count,
  until: z.optional(count),
  why: z.optional(z.string().check(z.regex(/^[a-z-]{1,40}$/))),
});
export type BlueGreenState = z.infer<typeof BlueGreenState>;

export class MalformedStateError extends Error {}

/** Parses the tag's value; anything else than what `formatState` writes is refused, never guessed. */
export function parseState(value: string): BlueGreenState {
  if (value.length > TAG_VALUE_MAX) throw new MalformedStateError(`longer than ${TAG_VALUE_MAX} characters`);
  const fields: Record<string, string> = {};
  for (const part of value.split(';')) {
    const match = /^([a-z]+)=([^;=]*)$/.exec(part);
    if (match === null) throw new MalformedStateError(`"${part}" is not key=value`);
    const [, key = '', field = ''] = match;
    if (key in fields) throw new MalformedStateError(`${key} given twice`);
    fields[key] = field;
  }
  const parsed = BlueGreenState.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedStateError(`${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
  }
  if (parsed.data.min > parsed.data.max || parsed.data.desired > parsed.data.max)
    throw new MalformedStateError('min <= desired <= max does not hold');
  return parsed.data;
}

export function formatState(state: BlueGreenState): string {
  const order: (keyof BlueGreenState)[] = ['v', 'phase', 'blue', 'green', 'n', 'min', 'max', 'desired'];
  const optional: (keyof BlueGreenState)[] = ['since', 'until', 'why'];
  const parts = [...order, ...optional].flatMap((key) =>
    state[key] === undefined ? [] : [`${key}=${String(state[key])}`],
  );
  const value = parts.join(';');
  if (value.length > TAG_VALUE_MAX) throw new Error(`state too long for a tag: ${value}`);
  return value;
}

/** One instance of the group, and its container instance when it has registered. */
export interface ObservedInstance {
  instanceId: string;
  lifecycleState: string;
  /** The launch template version it was launched from (absent: launched without one). */
  launchTemplateVersion?: string;
  protectedFromScaleIn: boolean;
  container?: {
    arn: string;
    status: string;
    agentConnected: boolean;
    runningTasksCount: number;
    pendingTasksCount: number;
  };
}

export interface BlueGreenObservation {
  group: {
    name: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    launchTemplate?: { id: string; version: string };
  };
  instances: ObservedInstance[];
  /** The value of the BLUE_GREEN_TAG tag, if the group has one. */
  tag?: string;
}

export type BlueGreenRequest =
  | { action: 'none'; target?: string }
  | { action: 'rollback'; target?: string }
  | { action: 'promote-now'; target?: string };

export interface BlueGreenSettings {
  /** Seconds blue stays DRAINING and empty, ready to come back, before it is terminated. */
  burnInSeconds: number;
  /** Seconds green has to be ready from the start; then the rollout rolls back. */
  launchTimeoutSeconds: number;
  /** Seconds blue has to empty once draining; then the rollout rolls back. */
  drainTimeoutSeconds: number;
  /**
   * Instances of a fleet set DRAINING at a time (the next ones once these are empty). Absent: a
   * quarter of the fleet, rounded up. Draining a whole fleet at once lets ECS stop every task of a
   * service with minimumHealthyPercent 0 before it starts replacements: the service is at zero
   * for a while, which a rolling replacement avoids by draining a few instances at a time.
   */
  drainBatchSize?: number;
}

export const BLUE_GREEN_DEFAULTS: BlueGreenSettings = {
  burnInSeconds: 3600,
  launchTimeoutSeconds: 1800,
  drainTimeoutSeconds: 3600,
};

export type BlueGreenCommand =
  | {
      kind: 'update-group';
      minSize?: number;
      maxSize?: number;
      desiredCapacity?: number;
      launchTemplate?: { id: string; version: string };
    }
  | { kind: 'protect'; instanceIds: string[]; protect: boolean }
  | { kind: 'set-state'; containerInstanceArns: string[]; status: 'ACTIVE' | 'DRAINING' }
  /** TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity. */
  | { kind: 'terminate'; instanceIds: string[] }
  | { kind: 'write-tag'; value: string }
  | { kind: 'delete-tag' }
  | { kind: 'alert'; subject: string; message: string };

export interface BlueGreenDecision {
  phase: BlueGreenPhase;
  commands: BlueGreenCommand[];
  reason: string;
}

const ALIVE = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);

/** In service, registered ACTIVE with its agent connected: ECS can place tasks on it. */
function ready(instance: ObservedInstance): boolean {
  const c = instance.container;
  return instance.lifecycleState === 'InService' && c?.status === 'ACTIVE' && c.agentConnected;
}

/** DRAINING (or never registered) and nothing left running or pending on it. */
function drained(instance: ObservedInstance): boolean {
  const c = instance.container;
  if (c === undefined) return true;
  return c.status === 'DRAINING' && c.runningTasksCount + c.pendingTasksCount === 0;
}

/** The two fleets: green runs the green version; blue is every other instance of the group. */
function fleets(observation: BlueGreenObservation, green: string) {
  const isGreen = (i: ObservedInstance) => i.launchTemplateVersion === green;
  const all = observation.instances;
  const alive = all.filter((i) => ALIVE.has(i.lifecycleState));
  return {
    blue: alive.filter((i) => !isGreen(i)),
    green: alive.filter(isGreen),
    /** Every blue instance still in the group, terminating ones included. */
    anyBlue: all.filter((i) => !isGreen(i) && i.lifecycleState !== 'Terminated'),
    anyGreen: all.filter((i) => isGreen(i) && i.lifecycleState !== 'Terminated'),
  };
}

const arnsOf = (instances: ObservedInstance[], status: string) =>
  instances.flatMap((i) => (i.container?.status === status ? [i.container.arn] : []));

/** The ACTIVE container instances of `fleet` to set DRAINING now: enough to have `batch` draining with tasks. */
function nextBatch(fleet: ObservedInstance[], settings: BlueGreenSettings, n: number): string[] {
  const batch = Math.max(1, settings.drainBatchSize ?? Math.ceil(n / 4));
  const busy = fleet.filter((i) => i.container?.status === 'DRAINING' && !drained(i)).length;
  return arnsOf(fleet, 'ACTIVE').slice(0, Math.max(0, batch - busy));
}

export function decideBlueGreen(
  observation: BlueGreenObservation,
  nowSeconds: number,
  request: BlueGreenRequest,
  settings: BlueGreenSettings = BLUE_GREEN_DEFAULTS,
): BlueGreenDecision {
  const now = Math.floor(nowSeconds);
  let state: BlueGreenState | undefined;
  if (observation.tag !== undefined) {
    try {
      state = parseState(observation.tag);
    } catch (error) {
      return {
        phase: 'refused',
        commands: [],
        reason: `tag ${BLUE_GREEN_TAG} is malformed (${(error as Error).message}): nothing is changed until a person fixes or deletes it`,
      };
    }
  }
  if (state === undefined || state.phase === 'rolled-back') return idle(observation, now, request, state);
  const template = observation.group.launchTemplate;
  if (template === undefined)
    return {
      phase: 'refused',
      commands: [],
      reason: 'the group has no launch template, yet a rollout is recorded',
    };
  const ctx = { observation, now, request, settings, state, templateId: template.id };
  const decision = step(ctx);
  // One rollout at a time: a new target waits until this one is done or rolled back.
  if (request.target !== undefined && request.target !== state.green)
    decision.reason += ` (target ${request.target} waits: the rollout to version ${state.green} goes on)`;
  return decision;
}

function step(ctx: Context): BlueGreenDecision {
  switch (ctx.state.phase) {
    case 'launching':
      return launching(ctx);
    case 'draining-blue':
      return drainingBlue(ctx);
    case 'standby':
      return standby(ctx);
    case 'retiring':
      return retiring(ctx);
    case 'rolling-back':
      return rollingBack(ctx);
    case 'rolled-back': // handled by `idle` before: nothing is in progress
      return { phase: 'rolled-back', commands: [], reason: 'rolled back' };
  }
}

interface Context {
  observation: BlueGreenObservation;
  now: number;
  request: BlueGreenRequest;
  settings: BlueGreenSettings;
  state: BlueGreenState;
  templateId: string;
}

/** No rollout in progress: start one when a new numbered version is asked for. */
function idle(
  observation: BlueGreenObservation,
  now: number,
  request: BlueGreenRequest,
  previous: BlueGreenState | undefined,
): BlueGreenDecision {
  const phase = previous === undefined ? 'idle' : 'rolled-back';
  const { group } = observation;
  const target = request.target;
  if (request.action === 'rollback')
    return { phase, commands: [], reason: 'no rollout in progress: nothing to roll back' };
  if (target === undefined)
    return { phase, commands: [], reason: 'no rollout in progress and none asked for' };
  if (group.launchTemplate === undefined)
    return { phase: 'refused', commands: [], reason: 'the group launches without a launch template' };
  if (!version.safeParse(target).success)
    return {
      phase: 'refused',
      commands: [],
      reason: `target ${target} is not a numbered launch template version ($Latest/$Default could move under the rollout)`,
    };
  const current = group.launchTemplate.version;
  if (target === current)
    return { phase: 'done', commands: [], reason: `the group already launches version ${target}` };
  if (!version.safeParse(current).success)
    return {
      phase: 'refused',
      commands: [],
      reason: `the group launches version ${current}, not a numbered one: no version to come back to`,
    };
  if (previous !== undefined && previous.green === target)
    return {
      phase,
      commands: [],
      reason: `version ${target} was rolled back (${previous.why ?? 'requested'}); delete tag ${BLUE_GREEN_TAG} to try it again`,
    };
  const { blue } = fleets(observation, target);
  if (blue.length === 0)
    return { phase: 'refused', commands: [], reason: 'the group has no instance to replace' };
  const n = blue.length;
  const state: BlueGreenState = {
    v: '1',
    phase: 'launching',
    blue: current,
    green: target,
    n,
    min: group.minSize,
    max: group.maxSize,
    desired: group.desiredCapacity,
    since: now,
  };
  // The tag first: if this invocation stops half-way, the next one resumes from it.
  return {
    phase: 'launching',
    commands: [
      { kind: 'write-tag', value: formatState(state) },
      ...holdBoth({ ...state }, observation, group.launchTemplate.id),
    ],
    reason: `start: launch ${n} instances of version ${target} beside ${n} of version ${current}`,
  };
}

/**
 * What launching and every later forward phase keep true: the group launches green, holds both
 * fleets (desired = blue + green), and blue is protected from scale-in.
 */
function holdBoth(
  state: BlueGreenState,
  observation: BlueGreenObservation,
  templateId: string,
): BlueGreenCommand[] {
  const { group } = observation;
  const commands: BlueGreenCommand[] = [];
  const { blue } = fleets(observation, state.green);
  const desired = Math.max(group.desiredCapacity, blue.length + state.n);
  const update: Extract<BlueGreenCommand, { kind: 'update-group' }> = { kind: 'update-group' };
  if (group.launchTemplate?.version !== state.green)
    update.launchTemplate = { id: templateId, version: state.green };
  if (desired !== group.desiredCapacity) update.desiredCapacity = desired;
  if (group.maxSize < desired) update.maxSize = desired;
  const unprotected = blue.filter((i) => !i.protectedFromScaleIn).map((i) => i.instanceId);
  if (unprotected.length > 0) commands.push({ kind: 'protect', instanceIds: unprotected, protect: true });
  if (Object.keys(update).length > 1) commands.push(update);
  return commands;
}

function beginRollback(ctx: Context, why: string, reason: string): BlueGreenDecision {
  const state: BlueGreenState = { ...ctx.state, phase: 'rolling-back', since: ctx.now, why };
  delete state.until;
  const next = rollingBack({ ...ctx, state });
  const alert: BlueGreenCommand = {
    kind: 'alert',
    subject: `blue/green rollback of ${ctx.observation.group.name}`,
    message: `${reason}: version ${state.blue} comes back, version ${state.green} goes`,
  };
  return {
    phase: 'rolling-back',
    commands: [{ kind: 'write-tag', value: formatState(state) }, alert, ...next.commands],
    reason: `${reason}: rolling back; ${next.reason}`,
  };
}

function launching(ctx: Context): BlueGreenDecision {
  const { state, observation, now, request, settings } = ctx;
  if (request.action === 'rollback')
    return beginRollback(ctx, 'requested', 'rollback requested while launching');
  const { green } = fleets(observation, state.green);
  const readyGreen = green.filter(ready).length;
  if (readyGreen >= state.n) {
    const next: BlueGreenState = { ...state, phase: 'draining-blue', since: now };
    const drain = drainingBlue({ ...ctx, state: next });
    // Blue already empty: the drain step went on to standby and recorded it.
    if (drain.phase !== 'draining-blue') return drain;
    return {
      phase: 'draining-blue',
      // Drain first, then record: a crash in between is resumed by this same step.
      commands: [...drain.commands, { kind: 'write-tag', value: formatState(next) }],
      reason: `${readyGreen} green instances ready: ${drain.reason}`,
    };
  }
  if (now >= state.since + settings.launchTimeoutSeconds)
    return beginRollback(
      ctx,
      'launch-timeout',
      `only ${readyGreen} of ${state.n} green instances ready after ${settings.launchTimeoutSeconds} s`,
    );
  const promote = request.action === 'promote-now' ? ' (promote-now waits for green to be ready)' : '';
  return {
    phase: 'launching',
    commands: holdBoth(state, observation, ctx.templateId),
    reason: `waiting for green: ${readyGreen} of ${state.n} ready${promote}`,
  };
}

/** Green lost an instance's readiness: its tasks would have nowhere to go once blue is drained. */
function greenShort(ctx: Context): number | undefined {
  const readyGreen = fleets(ctx.observation, ctx.state.green).green.filter(ready).length;
  return readyGreen < ctx.state.n ? readyGreen : undefined;
}

function drainingBlue(ctx: Context): BlueGreenDecision {
  const { state, observation, now, request, settings } = ctx;
  if (request.action === 'rollback')
    return beginRollback(ctx, 'requested', 'rollback requested while draining blue');
  const short = greenShort(ctx);
  if (short !== undefined)
    return beginRollback(
      ctx,
      'green-unready',
      `only ${short} of ${state.n} green instances ready while draining blue`,
    );
  const { blue } = fleets(observation, state.green);
  const active = arnsOf(blue, 'ACTIVE');
  const batch = nextBatch(blue, settings, state.n);
  const commands: BlueGreenCommand[] = [...holdBoth(state, observation, ctx.templateId)];
  if (batch.length > 0)
    commands.push({ kind: 'set-state', containerInstanceArns: batch, status: 'DRAINING' });
  const left = blue.filter((i) => !drained(i));
  if (active.length === 0 && left.length === 0) {
    const next: BlueGreenState = {
      ...state,
      phase: 'standby',
      since: now,
      until: now + settings.burnInSeconds,
    };
    return {
      phase: 'standby',
      commands: [...commands, { kind: 'write-tag', value: formatState(next) }],
      reason: `blue is empty: standby until ${next.until ?? now}`,
    };
  }
  if (now >= state.since + settings.drainTimeoutSeconds)
    return beginRollback(
      ctx,
      'drain-timeout',
      `${left.length} blue instances not empty after ${settings.drainTimeoutSeconds} s`,
    );
  return {
    phase: 'draining-blue',
    commands,
    reason: `draining blue: ${left.length} of ${blue.length} instances still have tasks`,
  };
}

function standby(ctx: Context): BlueGreenDecision {
  const { state, observation, now, request } = ctx;
  if (request.action === 'rollback')
    return beginRollback(ctx, 'requested', 'rollback requested during burn-in');
  const short = greenShort(ctx);
  if (short !== undefined)
    return beginRollback(
      ctx,
      'green-unready',
      `only ${short} of ${state.n} green instances ready during burn-in`,
    );
  const until = state.until ?? now;
  if (request.action === 'promote-now' || now >= until) {
    const next: BlueGreenState = { ...state, phase: 'retiring', since: now };
    const retire = retiring({ ...ctx, state: next });
    return {
      phase: 'retiring',
      commands: [{ kind: 'write-tag', value: formatState(next) }, ...retire.commands],
      reason: `${request.action === 'promote-now' ? 'promoted' : 'burn-in over'}: ${retire.reason}`,
    };
  }
  // Blue stays DRAINING and empty: set back to DRAINING any that someone made ACTIVE.
  const { blue } = fleets(observation, state.green);
  const active = arnsOf(blue, 'ACTIVE');
  const commands: BlueGreenCommand[] = [...holdBoth(state, observation, ctx.templateId)];
  if (active.length > 0)
    commands.push({ kind: 'set-state', containerInstanceArns: active, status: 'DRAINING' });
  return { phase: 'standby', commands, reason: `burn-in: blue on standby for ${until - now} s more` };
}

function retiring(ctx: Context): BlueGreenDecision {
  const { state, observation } = ctx;
  const { group } = observation;
  const { blue, anyBlue } = fleets(observation, state.green);
  const note = ctx.request.action === 'rollback' ? ' (too late to roll back: blue is being terminated)' : '';
  if (anyBlue.length === 0) {
    const update: BlueGreenCommand = {
      kind: 'update-group',
      minSize: state.min,
      maxSize: Math.max(state.max, group.desiredCapacity),
    };
    return {
      phase: 'done',
      commands: [update, { kind: 'delete-tag' }],
      reason: `blue is gone: sizes restored, version ${state.green} is the group's${note}`,
    };
  }
  // Each termination lowers the desired capacity by one: never below the green fleet, even when a
  // termination already made is not yet visible in the instance list.
  const room = Math.max(0, group.desiredCapacity - state.n);
  const victims = blue.slice(0, room).map((i) => i.instanceId);
  return {
    phase: 'retiring',
    commands: victims.length > 0 ? [{ kind: 'terminate', instanceIds: victims }] : [],
    reason: `retiring blue: ${victims.length} terminated now, ${anyBlue.length - victims.length} on their way out${note}`,
  };
}

function rollingBack(ctx: Context): BlueGreenDecision {
  const { state, observation, now, templateId } = ctx;
  const { group } = observation;
  const { blue, green, anyGreen } = fleets(observation, state.green);
  const commands: BlueGreenCommand[] = [];
  const update: Extract<BlueGreenCommand, { kind: 'update-group' }> = { kind: 'update-group' };
  if (group.launchTemplate?.version !== state.blue)
    update.launchTemplate = { id: templateId, version: state.blue };
  const draining = arnsOf(blue, 'DRAINING');
  if (draining.length > 0)
    commands.push({ kind: 'set-state', containerInstanceArns: draining, status: 'ACTIVE' });

  if (anyGreen.length === 0) {
    // Green is gone: the group is as it was.
    const protectedBlue = blue.filter((i) => i.protectedFromScaleIn).map((i) => i.instanceId);
    if (protectedBlue.length > 0)
      commands.push({ kind: 'protect', instanceIds: protectedBlue, protect: false });
    update.minSize = state.min;
    update.maxSize = Math.max(state.max, blue.length);
    update.desiredCapacity = Math.min(Math.max(state.desired, state.min, blue.length), update.maxSize);
    const next: BlueGreenState = { ...state, phase: 'rolled-back', since: now };
    return {
      phase: 'rolled-back',
      commands: [update, ...commands, { kind: 'write-tag', value: formatState(next) }],
      reason: `rolled back: version ${state.blue} serves again, version ${state.green} is gone`,
    };
  }
  if (Object.keys(update).length > 1) commands.unshift(update);
  // Green is drained only once blue is seen ACTIVE again, every instance of it.
  const blueBack = blue.length > 0 && blue.every(ready);
  if (!blueBack)
    return {
      phase: 'rolling-back',
      commands,
      reason: `waiting for blue to be ACTIVE again: ${blue.filter(ready).length} of ${blue.length} ready`,
    };
  const batch = nextBatch(green, ctx.settings, state.n);
  if (batch.length > 0)
    commands.push({ kind: 'set-state', containerInstanceArns: batch, status: 'DRAINING' });
  const empty = green.filter(
    (i) => i.container === undefined || (i.container.status !== 'ACTIVE' && drained(i)),
  );
  const room = Math.max(0, group.desiredCapacity - blue.length);
  const victims = empty.slice(0, room).map((i) => i.instanceId);
  if (victims.length > 0) commands.push({ kind: 'terminate', instanceIds: victims });
  return {
    phase: 'rolling-back',
    commands,
    reason: `blue is back: draining green, ${green.length - empty.length} still have tasks, ${victims.length} terminated now`,
  };
}
