import { fleetServices, type RunResult } from './scenario';

/**
 * An SVG timeline of a rehearsal: healthy tasks per service (with the floor dashed and time below it
 * shaded) and the state of every instance, one panel per run, on one time scale. Pure.
 */

const WIDTH = 1100;
const LEFT = 130;
const RIGHT = 20;
const SERVICE_ROW = 54;
const LANE = 9;
const MAX_LANES = 60;
const COLORS = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f', '#7c2d12'];
const LANE_COLORS = { booting: '#cbd5e1', inService: '#86efac', draining: '#fbbf24', shutdown: '#ef4444' };

export function renderTimeline(runs: RunResult[]): string {
  const from = Math.min(...runs.map((run) => run.actionAt)) - 60;
  const to = Math.max(...runs.map((run) => run.endedAt));
  const x = (t: number) => LEFT + ((t - from) / Math.max(1, to - from)) * (WIDTH - LEFT - RIGHT);
  const parts: string[] = [];
  let y = 10;
  for (const run of runs) {
    const { svg, height } = panel(run, x, from, to, y);
    parts.push(svg);
    y += height + 20;
  }
  parts.push(axis(x, from, to, y));
  const height = y + 48;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    legend(height - 14),
    '</svg>',
  ].join('\n');
}

function panel(run: RunResult, x: (t: number) => number, from: number, to: number, top: number) {
  const parts: string[] = [];
  const title = `${run.scenario}: ${run.withController ? 'with the drain controller' : 'without it (no termination hook)'}`;
  parts.push(`<text x="10" y="${top + 12}" font-size="13" font-weight="bold">${escape(title)}</text>`);
  let y = top + 22;
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
    const points = steps(series.t, series.count, from, to);
    for (const [start, end, value] of points) {
      if (!spec.daemon && value < floor) {
        parts.push(
          `<rect x="${x(start)}" y="${scale(floor)}" width="${Math.max(0.5, x(end) - x(start))}" height="${scale(value) - scale(floor)}" fill="#fecaca"/>`,
        );
      }
    }
    if (floor > 0) {
      parts.push(
        `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${scale(floor)}" y2="${scale(floor)}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
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
  parts.push(`<text x="10" y="${y + 12}">instances</text>`);
  if (lanes.length > MAX_LANES) {
    parts.push(
      `<text x="${LEFT}" y="${y + 12}" fill="#475569">${lanes.length} instances: lanes omitted above ${MAX_LANES}</text>`,
    );
    y += 20;
  } else {
    for (const lane of lanes) {
      const segment = (start: number | undefined, end: number | undefined, fill: string) => {
        if (start === undefined) return;
        const s = Math.max(start, from);
        const e = Math.min(end ?? to, to);
        if (e <= s) return;
        parts.push(
          `<rect x="${x(s)}" y="${y + 2}" width="${x(e) - x(s)}" height="${LANE - 2}" fill="${fill}"/>`,
        );
      };
      segment(lane.launchedAt, lane.inServiceAt ?? lane.waitingAt ?? lane.terminatedAt, LANE_COLORS.booting);
      segment(lane.inServiceAt, lane.waitingAt ?? lane.terminatedAt, LANE_COLORS.inService);
      segment(lane.waitingAt, lane.proceedingAt ?? lane.terminatedAt, LANE_COLORS.draining);
      segment(lane.proceedingAt, lane.terminatedAt, LANE_COLORS.shutdown);
      y += LANE;
    }
  }
  return { svg: parts.join('\n'), height: y - top };
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

function legend(y: number): string {
  const items: [string, string][] = [
    [LANE_COLORS.booting, 'booting'],
    [LANE_COLORS.inService, 'in service'],
    [LANE_COLORS.draining, 'Terminating:Wait'],
    [LANE_COLORS.shutdown, 'shutting down'],
    ['#fecaca', 'below floor'],
  ];
  return items
    .map(
      ([fill, label], i) =>
        `<rect x="${LEFT + i * 140}" y="${y - 8}" width="10" height="10" fill="${fill}"/><text x="${LEFT + i * 140 + 14}" y="${y + 1}">${label}</text>`,
    )
    .join('\n');
}

/** Simulated seconds as h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
