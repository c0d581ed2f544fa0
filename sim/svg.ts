import { type RunSummary, summarize } from './report';
import { fleetServices, type RunResult, type ScenarioName } from './scenario';
import type { EndedAction, InstanceLane } from './world';

/**
 * An SVG timeline of a rehearsal: a headline with each run's key figures, then one panel per run on one
 * time scale: healthy tasks per service (floor dashed, time below it shaded, time at zero in a colour
 * of its own), the moment the scenario acts, and every instance's lane, labelled with its ID, its AMI
 * and how its lifecycle action ended. Pure.
 */

const WIDTH = 1100;
export const CHART_LEFT = 190;
const LEFT = CHART_LEFT;
const RIGHT = 20;
const HEADLINE_LINE = 18;
const PANEL_HEADER = 30;
const SERVICE_ROW = 54;
const LANE = 13;
const MAX_LANES = 60;
const COLORS = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f', '#7c2d12'];

/** The fills and strokes that carry meaning; the legend explains each. */
export const PALETTE = {
  booting: '#cbd5e1',
  inService: '#86efac',
  draining: '#fbbf24',
  shutdown: '#ef4444',
  belowFloor: '#fecaca',
  atZero: '#7f1d1d',
  floor: '#dc2626',
  action: '#0f172a',
} as const;

const SCENARIO_ACTS: Record<ScenarioName, string> = {
  'instance-refresh': 'instance refresh starts',
  'scale-in': 'desired capacity lowered',
  spot: 'EC2 interrupts instances',
  'ami-update': 'a new ECS-optimized AMI is published',
  'bad-ami': 'a broken ECS-optimized AMI is published',
  'blue-green': 'a new ECS-optimized AMI is published (blue/green)',
};

/**
 * `withHeadline: false` leaves the headline out of the picture (the HTML report writes it as text above
 * it); it stays in the SVG's title.
 */
export function renderTimeline(
  runs: RunResult[],
  summaries: RunSummary[] = runs.map(summarize),
  { withHeadline = true } = {},
): string {
  const from = Math.min(...runs.map((run) => run.actionAt)) - 60;
  const to = Math.max(...runs.map((run) => run.endedAt));
  const x = (t: number) => LEFT + ((t - from) / Math.max(1, to - from)) * (WIDTH - LEFT - RIGHT);
  const lines = headline(summaries);
  const drawn = withHeadline ? lines : [];
  const parts: string[] = [
    `<g class="headline" font-size="13">`,
    ...drawn.map(
      ({ run, figures }, i) =>
        `<text x="10" y="${22 + i * HEADLINE_LINE}"><tspan font-weight="bold">${escape(run)}:</tspan> ${escape(figures.join(', '))}</text>`,
    ),
    '</g>',
  ];
  let y = drawn.length === 0 ? 10 : 22 + drawn.length * HEADLINE_LINE;
  for (const run of runs) {
    const { svg, height } = panel(run, x, from, to, y);
    parts.push(svg);
    y += height + 20;
  }
  parts.push(axis(x, from, to, y));
  const { svg: legendSvg, height: legendHeight } = legend(y + 34);
  const height = y + 34 + legendHeight;
  const label = headlineText(lines);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escape(label)}">`,
    `<title>${escape(label)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    legendSvg,
    '</svg>',
  ].join('\n');
}

/** One line per run: who ran it, and the figures that tell its story. */
export interface HeadlineLine {
  run: string;
  figures: string[];
}

/**
 * The key figures of each run, from its summary: tasks killed, services at zero and below their
 * floor, how the lifecycle actions ended, and whether the run settled.
 */
export function headline(summaries: RunSummary[]): HeadlineLine[] {
  return summaries.map((summary) => {
    const figures = [`${plural(summary.tasksKilled, 'task')} killed`];
    // A service with no task wanted, or a daemon (it runs where instances are), is not an outage at zero.
    const atZero = summary.services
      .filter((s) => !s.daemon && s.desiredCount > 0 && s.secondsAtZero > 0)
      .sort((a, b) => b.secondsAtZero - a.secondsAtZero);
    for (const s of atZero.slice(0, 2)) figures.push(`${s.name} at zero for ${s.secondsAtZero} s`);
    if (atZero.length > 2) figures.push(`${atZero.length - 2} more at zero`);
    const below = summary.services
      .filter((s) => s.secondsBelowFloor > 0)
      .sort((a, b) => b.secondsBelowFloor - a.secondsBelowFloor);
    const longest = below[0];
    if (longest === undefined) figures.push('no service below its floor');
    else if (below.length === 1)
      figures.push(`${longest.name} below its floor for ${longest.secondsBelowFloor} s`);
    else
      figures.push(
        `${below.length} services below their floor (longest ${longest.name}, ${longest.secondsBelowFloor} s)`,
      );
    const l = summary.lifecycleActions;
    const timedOut = l.heartbeatTimeouts + l.globalTimeouts;
    if (l.completedByController + timedOut > 0) {
      figures.push(
        `${plural(l.completedByController, 'instance')} released by the controller` +
          (timedOut > 0 ? `, ${timedOut} by a timeout` : ''),
      );
    }
    if (!summary.settled) figures.push(`not settled after ${summary.simulatedSeconds} s`);
    return { run: summary.withController ? 'With the controller' : 'Without the controller', figures };
  });
}

/** The headline as one line of text: the SVG's title, and what a reader sees first. */
export function headlineText(lines: HeadlineLine[]): string {
  return lines.map(({ run, figures }) => `${run}: ${figures.join(', ')}`).join(' · ');
}

function panel(run: RunResult, x: (t: number) => number, from: number, to: number, top: number) {
  const parts: string[] = [`<g class="run" data-with-controller="${run.withController}">`];
  const title = `${run.scenario}: ${run.withController ? 'with the drain controller' : 'without it (no termination hook)'}`;
  parts.push(`<text x="10" y="${top + 12}" font-size="13" font-weight="bold">${escape(title)}</text>`);
  let y = top + PANEL_HEADER;
  for (const [index, { key, spec }] of fleetServices(run.fleet).entries()) {
    const series = run.recorder.healthy.get(key) ?? { t: [], count: [] };
    const max = Math.max(1, spec.desiredCount, ...series.count);
    const scale = (value: number) => y + SERVICE_ROW - 8 - (value / max) * (SERVICE_ROW - 16);
    const floor = spec.daemon ? 0 : Math.ceil((spec.desiredCount * spec.minimumHealthyPercent) / 100);
    const color = COLORS[index % COLORS.length] as string;
    parts.push(
      `<text x="10" y="${y + SERVICE_ROW / 2}" font-weight="bold">${escape(key)}${spec.daemon ? ' (daemon)' : ''}</text>`,
    );
    parts.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${scale(0)}" y2="${scale(0)}" stroke="#e5e7eb"/>`,
    );
    parts.push(yTicks(spec.daemon ? [0, max] : [0, floor, max], scale));
    const points = steps(series.t, series.count, from, to);
    for (const [start, end, value] of points) {
      if (!spec.daemon && value < floor) {
        parts.push(
          `<rect class="below-floor" x="${x(start)}" y="${scale(floor)}" width="${Math.max(0.5, x(end) - x(start))}" height="${scale(value) - scale(floor)}" fill="${PALETTE.belowFloor}"/>`,
        );
      }
      if (!spec.daemon && spec.desiredCount > 0 && value === 0) {
        // Not one healthy task: the whole row, in a colour of its own, with how long it lasted.
        const width = Math.max(0.5, x(end) - x(start));
        parts.push(
          `<rect class="at-zero" x="${x(start)}" y="${scale(max)}" width="${width}" height="${scale(0) - scale(max)}" fill="${PALETTE.atZero}" data-seconds="${round(end - start)}"/>`,
        );
        const text = `0 healthy, ${round(end - start)} s`;
        if (width > text.length * 6) {
          parts.push(
            `<text x="${x(start) + width / 2}" y="${(scale(max) + scale(0)) / 2 + 4}" text-anchor="middle" fill="white">${text}</text>`,
          );
        }
      }
    }
    if (floor > 0) {
      parts.push(
        `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${scale(floor)}" y2="${scale(floor)}" stroke="${PALETTE.floor}" stroke-dasharray="4 3"/>`,
      );
    }
    const path = points
      .map(([start, end, value]) => `${x(start)},${scale(value)} ${x(end)},${scale(value)}`)
      .join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    const lowest = Math.min(...points.map(([, , value]) => value));
    parts.push(
      `<text x="10" y="${y + SERVICE_ROW / 2 + 13}" fill="#64748b">lowest ${lowest}${floor > 0 ? ` / floor ${floor}` : ''}</text>`,
    );
    y += SERVICE_ROW;
  }
  const lanes = [...run.recorder.lanes.values()];
  parts.push(`<text x="10" y="${y + 12}" font-weight="bold">instances</text>`);
  y += 16;
  if (lanes.length > MAX_LANES) {
    parts.push(
      `<text x="${LEFT}" y="${y + 10}" fill="#475569">${lanes.length} instances: lanes omitted above ${MAX_LANES}</text>`,
    );
    y += 16;
  } else {
    const amis = amiNames(lanes);
    for (const lane of lanes) {
      parts.push(laneSvg(run, lane, amis, x, from, to, y));
      y += LANE;
    }
  }
  parts.push(actionMarker(run, x(run.actionAt), top + PANEL_HEADER - 10, y), '</g>');
  return { svg: parts.join('\n'), height: y - top };
}

/** Healthy-task counts on a service's chart: 0, the floor and the top, where they do not collide. */
function yTicks(values: number[], scale: (value: number) => number): string {
  const placed: number[] = [];
  const parts: string[] = [];
  for (const value of values) {
    const at = scale(value);
    if (placed.some((other) => Math.abs(other - at) < 9)) continue;
    placed.push(at);
    parts.push(
      `<text class="y-tick" x="${LEFT - 5}" y="${at + 3}" text-anchor="end" font-size="9" fill="#64748b">${value}</text>`,
      `<line x1="${LEFT - 3}" x2="${LEFT}" y1="${at}" y2="${at}" stroke="#94a3b8"/>`,
    );
  }
  return parts.join('\n');
}

/** "old AMI" / "new AMI" by instance, when the run has more than one AMI (an instance refresh to a new one). */
function amiNames(lanes: InstanceLane[]): Map<string, string> {
  const names = new Map<string, string>();
  if (new Set(lanes.map((lane) => lane.amiId)).size < 2) return names;
  // A group's first instances run the AMI it had before the scenario: that is the old one.
  const first = new Map<string, InstanceLane>();
  for (const lane of lanes) {
    const seen = first.get(lane.group);
    if (seen === undefined || lane.launchedAt < seen.launchedAt) first.set(lane.group, lane);
  }
  for (const lane of lanes)
    names.set(lane.id, lane.amiId === first.get(lane.group)?.amiId ? 'old AMI' : 'new AMI');
  return names;
}

function laneSvg(
  run: RunResult,
  lane: InstanceLane,
  amis: Map<string, string>,
  x: (t: number) => number,
  from: number,
  to: number,
  y: number,
): string {
  const parts: string[] = [`<g class="lane" data-instance="${escape(lane.id)}">`];
  const segment = (start: number | undefined, end: number | undefined, fill: string) => {
    if (start === undefined) return;
    const s = Math.max(start, from);
    const e = Math.min(end ?? to, to);
    if (e <= s) return;
    parts.push(`<rect x="${x(s)}" y="${y + 2}" width="${x(e) - x(s)}" height="${LANE - 3}" fill="${fill}"/>`);
  };
  segment(lane.launchedAt, lane.inServiceAt ?? lane.waitingAt ?? lane.terminatedAt, PALETTE.booting);
  segment(lane.inServiceAt, lane.waitingAt ?? lane.terminatedAt, PALETTE.inService);
  segment(lane.waitingAt, lane.proceedingAt ?? lane.terminatedAt, PALETTE.draining);
  segment(lane.proceedingAt, lane.terminatedAt, PALETTE.shutdown);
  const ami = amis.get(lane.id);
  parts.push(
    `<text class="lane-id" x="10" y="${y + LANE - 3}" font-size="9" fill="#334155">${escape(lane.id)}${ami ? ` · ${ami}` : ''}</text>`,
  );
  const ending = laneEnding(run, lane);
  if (ending !== undefined) {
    const end = x(Math.min(lane.terminatedAt ?? to, to));
    // After the lane's end when it fits; otherwise ending where the drain began, if that leaves it
    // inside the chart; otherwise from the chart's left edge. Never over the instance's ID.
    const width = ending.length * 5;
    const fits = end + 4 + width <= WIDTH - RIGHT;
    const before = x(Math.min(lane.waitingAt ?? lane.proceedingAt ?? lane.terminatedAt ?? to, to));
    const place = fits
      ? { at: end + 4, anchor: '' }
      : before - 4 - width >= LEFT
        ? { at: before - 4, anchor: ' text-anchor="end"' }
        : { at: LEFT + 4, anchor: '' };
    parts.push(
      `<text class="lane-end" x="${place.at}" y="${y + LANE - 3}" font-size="9" fill="#334155" stroke="white" stroke-width="3" paint-order="stroke"${place.anchor}>${escape(ending)}</text>`,
    );
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** How an instance's lifecycle action ended, and what its termination killed; nothing for a lane that goes on. */
function laneEnding(run: RunResult, lane: InstanceLane): string | undefined {
  const action: EndedAction | undefined = run.recorder.actions.filter((a) => a.instanceId === lane.id).pop();
  const killed = run.recorder.killedTasks
    .filter((kill) => kill.instanceId === lane.id)
    .reduce((sum, kill) => sum + kill.groups.length, 0);
  const kills = killed > 0 ? `, ${plural(killed, 'task')} killed` : '';
  if (action !== undefined) {
    const after = `after ${round(action.endedAt - action.startedAt)} s`;
    const by =
      action.endedBy === 'completed'
        ? 'released by the controller'
        : action.endedBy === 'heartbeat-timeout'
          ? 'released by the heartbeat timeout'
          : action.endedBy === 'global-timeout'
            ? 'released by the global timeout'
            : `lifecycle action ended: ${action.endedBy}`;
    return `${by} ${after}${kills}`;
  }
  if (lane.terminatedAt === undefined) return undefined;
  return `terminated ${run.withController ? 'without a lifecycle action' : '(no hook)'}${kills}`;
}

/** A vertical line through the panel at the moment the scenario acts, with what it did. */
function actionMarker(run: RunResult, at: number, top: number, bottom: number): string {
  return [
    `<g class="scenario-acts">`,
    `<line x1="${at}" x2="${at}" y1="${top}" y2="${bottom}" stroke="${PALETTE.action}" stroke-dasharray="2 2"/>`,
    `<text x="${at + 4}" y="${top + 7}" font-size="10" fill="${PALETTE.action}">${escape(SCENARIO_ACTS[run.scenario])} (${clock(run.actionAt)})</text>`,
    '</g>',
  ].join('\n');
}

/** [start, end, value] spans of a step function over [from, to]. */
function steps(t: number[], values: number[], from: number, to: number): [number, number, number][] {
  const spans: [number, number, number][] = [];
  let current = 0;
  let since = from;
  for (let i = 0; i < t.length; i++) {
    const at = t[i] as number;
    if (at <= from) {
      current = values[i] as number;
      continue;
    }
    if (at > to) break;
    spans.push([since, at, current]);
    since = at;
    current = values[i] as number;
  }
  spans.push([since, to, current]);
  return spans;
}

function axis(x: (t: number) => number, from: number, to: number, y: number): string {
  const parts = [`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="#94a3b8"/>`];
  const span = to - from;
  const step = [60, 300, 600, 1800, 3600, 7200].find((candidate) => span / candidate <= 12) ?? 14400;
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y}" y2="${y + 4}" stroke="#94a3b8"/>`);
    parts.push(`<text x="${x(t)}" y="${y + 15}" text-anchor="middle" fill="#475569">${clock(t)}</text>`);
  }
  return parts.join('\n');
}

/** What every colour and line means, wrapped to the width; `top` is its first row's baseline. */
function legend(top: number): { svg: string; height: number } {
  const swatch = (fill: string) => `<rect width="10" height="10" y="-9" fill="${fill}"/>`;
  const line = (stroke: string, dash: string) =>
    `<line x1="0" x2="12" y1="-4" y2="-4" stroke="${stroke}" stroke-width="1.6" stroke-dasharray="${dash}"/>`;
  const items: [string, string][] = [
    [swatch(PALETTE.booting), 'booting'],
    [swatch(PALETTE.inService), 'in service'],
    [swatch(PALETTE.draining), 'Terminating:Wait (draining)'],
    [swatch(PALETTE.shutdown), 'shutting down'],
    [line(PALETTE.floor, '4 3'), 'floor: ceil(desiredCount × minimumHealthyPercent / 100)'],
    [swatch(PALETTE.belowFloor), 'below floor'],
    [swatch(PALETTE.atZero), 'no healthy task'],
    [line(PALETTE.action, '2 2'), 'the scenario acts'],
  ];
  const parts: string[] = ['<g class="legend">'];
  let x = 10;
  let y = top;
  for (const [mark, label] of items) {
    const width = 18 + label.length * 6 + 18;
    if (x + width > WIDTH - RIGHT) {
      x = 10;
      y += 16;
    }
    parts.push(`<g transform="translate(${x} ${y})">${mark}<text x="16">${escape(label)}</text></g>`);
    x += width;
  }
  parts.push('</g>');
  return { svg: parts.join('\n'), height: y - top + 12 };
}

/** Simulated seconds as h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function round(value: number): number {
  return Math.round(value);
}

/** Text and attribute values, escaped for XML (and so for HTML, where the SVG is inlined). */
export function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
