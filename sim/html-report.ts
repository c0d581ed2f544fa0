import { basename, extname } from 'node:path';
import { type RunSummary, summarize } from './report';
import type { RunResult } from './scenario';
import { escape, headline, renderTimeline } from './svg';

/**
 * A rehearsal as one self-contained HTML page: the headline, the timeline inlined, the comparison of
 * `formatComparison` as tables, and the findings as a list. It loads nothing: no script, no font, no
 * stylesheet from elsewhere, and its Content-Security-Policy forbids any. Pure.
 */
export function renderReport(runs: RunResult[], summaries: RunSummary[] = runs.map(summarize)): string {
  const controlled = summaries[summaries.length - 1];
  if (controlled === undefined) throw new Error('a report needs at least one run');
  const run = runs[runs.length - 1] as RunResult;
  const title = `Rehearsal: ${controlled.scenario}, seed ${controlled.seed}`;
  const clusters = run.fleet.clusters;
  const setting =
    `${run.fleet.groups.reduce((sum, group) => sum + group.instances, 0)} instances, ` +
    `${controlled.services.length} services` +
    (clusters.length > 1 ? ` in ${clusters.length} clusters` : '');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escape(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escape(title)}</h1>`,
    `<p class="setting">${escape(setting)}</p>`,
    '<ul class="headline">',
    ...headline(summaries).map(
      ({ run: who, figures }) => `<li><strong>${escape(who)}:</strong> ${escape(figures.join(', '))}</li>`,
    ),
    '</ul>',
    `<figure>${renderTimeline(runs, summaries, { withHeadline: false })}</figure>`,
    '<h2>Services</h2>',
    servicesTable(summaries),
    '<h2>Instances and lifecycle actions</h2>',
    runsTable(summaries),
    '<h2>The controller</h2>',
    controllerTable(controlled),
    '<h2>Findings</h2>',
    controlled.findings.length === 0
      ? '<p class="findings">None.</p>'
      : [
          '<ul class="findings">',
          ...controlled.findings.map((finding) => `<li>${escape(finding)}</li>`),
          '</ul>',
        ].join('\n'),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const STYLE = [
  'body { font-family: sans-serif; margin: 1.5rem; color: #0f172a; max-width: 1140px; }',
  'h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; }',
  '.setting { color: #475569; }',
  '.headline { font-size: 1.05rem; line-height: 1.6; }',
  'figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }',
  'table { border-collapse: collapse; } th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e2e8f0; }',
  'th { text-align: left; } td { text-align: right; } td:first-child { text-align: left; }',
  'td.below { color: #b91c1c; font-weight: bold; }',
].join('\n');

function label(summary: RunSummary): string {
  return summary.withController ? 'With the controller' : 'Without (no hook)';
}

/** Each service's lowest healthy count against its floor, and its time below the floor and at zero. */
function servicesTable(summaries: RunSummary[]): string {
  const controlled = summaries[summaries.length - 1] as RunSummary;
  const rows = controlled.services.map((service, index) => {
    const cells = summaries.flatMap((summary) => {
      const s = summary.services[index];
      if (s === undefined) return ['<td></td>', '<td></td>', '<td></td>'];
      const below = !s.daemon && s.lowestHealthy < s.floor;
      return [
        `<td${below ? ' class="below"' : ''}>${s.daemon ? 'daemon' : `${s.lowestHealthy} / ${s.floor}`}</td>`,
        `<td>${s.secondsBelowFloor} s</td>`,
        `<td${!s.daemon && s.secondsAtZero > 0 ? ' class="below"' : ''}>${s.secondsAtZero} s</td>`,
      ];
    });
    return `<tr><td>${escape(service.name)}</td>${cells.join('')}</tr>`;
  });
  return [
    '<table class="services">',
    '<thead>',
    `<tr><th rowspan="2">service</th>${summaries.map((s) => `<th colspan="3">${escape(label(s))}</th>`).join('')}</tr>`,
    `<tr>${summaries.map(() => '<th>lowest / floor</th><th>below floor</th><th>at zero</th>').join('')}</tr>`,
    '</thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
  ].join('\n');
}

/** One row per figure, one column per run. */
function runsTable(summaries: RunSummary[]): string {
  const seconds = (value: number | null) => (value === null ? '–' : `${value} s`);
  const rows: [string, (summary: RunSummary) => string][] = [
    ['instances terminated', (s) => String(s.instancesTerminated)],
    ['tasks killed', (s) => String(s.tasksKilled)],
    ['released with tasks running', (s) => String(s.releasedWithTasksRunning)],
    [
      'lifecycle actions completed by the controller',
      (s) => String(s.lifecycleActions.completedByController),
    ],
    ['lifecycle actions ended by the heartbeat timeout', (s) => String(s.lifecycleActions.heartbeatTimeouts)],
    ['lifecycle actions ended by the global timeout', (s) => String(s.lifecycleActions.globalTimeouts)],
    ['drain median', (s) => seconds(s.lifecycleActions.drainSecondsMedian)],
    ['drain max', (s) => seconds(s.lifecycleActions.drainSecondsMax)],
    ['simulated', (s) => `${s.simulatedSeconds} s${s.settled ? '' : ' (did not settle)'}`],
  ];
  return table(
    'runs',
    ['', ...summaries.map(label)],
    rows.map(([name, value]) => [name, ...summaries.map(value)]),
  );
}

/** What the controller's run cost: invocations, API calls, ECS reads, and how fast it handed instances back. */
function controllerTable(summary: RunSummary): string {
  const calls = Object.values(summary.apiCalls).reduce((sum, n) => sum + n, 0);
  const rows: [string, string][] = [
    ['invocations (failed)', `${summary.invocations} (${summary.invocationErrors})`],
    ['API calls (throttled)', `${calls} (${summary.throttledCalls})`],
    ['events that failed every retry', String(summary.failedEvents)],
    ['ECS reads (peak per second)', `${summary.ecsReads.total} (${summary.ecsReads.perSecondPeak})`],
  ];
  if (summary.handBackSeconds.median !== null) {
    rows.push([
      'hand-back after the last task stopped: median / p99',
      `${summary.handBackSeconds.median} s / ${summary.handBackSeconds.p99} s`,
    ]);
  }
  return table('controller', [], rows);
}

function table(className: string, head: string[], rows: string[][]): string {
  return [
    `<table class="${className}">`,
    ...(head.length === 0
      ? []
      : [`<thead><tr>${head.map((cell) => `<th>${escape(cell)}</th>`).join('')}</tr></thead>`]),
    '<tbody>',
    ...rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

/**
 * The name `npm start` gives a rehearsal's files (`<stem>.svg`, `<stem>.html`): what sets this run apart
 * from another. The demo's is `instance-refresh-seed1`; a `--config` file's basename comes first
 * (`cluster-instance-refresh-seed1`); then every other option given, in alphabetical order, a flag by its
 * name and a value after its name (`-faults`, `-heartbeat-timeout600`, `-deadline-action-stop-tasks`).
 * Options that change only the output (`presentational`) are left out. An option added to the command
 * line later is named too, without a change here.
 */
export function reportStem(
  options: Record<string, string | boolean | undefined>,
  presentational: readonly string[] = ['out', 'json', 'verbose', 'help'],
): string {
  const { scenario, seed, config, ...rest } = options;
  const parts: string[] = [];
  if (typeof config === 'string' && config !== '') parts.push(basename(config, extname(config)));
  parts.push(String(scenario), `seed${value(String(seed))}`);
  for (const name of Object.keys(rest).sort()) {
    const given = rest[name];
    if (presentational.includes(name) || given === undefined || given === false) continue;
    if (given === true) parts.push(name);
    else parts.push(/^\d+$/.test(value(given)) ? `${name}${value(given)}` : `${name}-${value(given)}`);
  }
  return parts.map((part) => part.replace(/[^A-Za-z0-9._-]+/g, '_')).join('-');
}

/** A number as its value (`--seed 01` is seed 1); anything else as written. */
function value(text: string): string {
  const number = Number(text);
  return text.trim() !== '' && Number.isFinite(number) ? String(number) : text;
}
