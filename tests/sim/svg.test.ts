import { type RunSummary, type ServiceSummary, summarize } from '../../sim/report';
import { ClusterShape, type RunResult } from '../../sim/scenario';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_LEFT, headline, headlineText, renderTimeline } from '../../sim/svg';
import { Recorder } from '../../sim/world';
import { rehearseDemo } from '../helpers/rehearsal';

function service(name: string, figures: Partial<ServiceSummary> = {}): ServiceSummary {
  return {
    name,
    daemon: false,
    desiredCount: 2,
    floor: 1,
    lowestHealthy: 2,
    secondsBelowFloor: 0,
    secondsBelowFloorWithRoom: 0,
    secondsAtZero: 0,
    ...figures,
  };
}

function summary(figures: Partial<RunSummary>): RunSummary {
  return {
    scenario: 'instance-refresh',
    withController: false,
    seed: 1,
    settled: true,
    simulatedSeconds: 630,
    services: [],
    lifecycleActions: {
      completedByController: 0,
      heartbeatTimeouts: 0,
      globalTimeouts: 0,
      drainSecondsMedian: null,
      drainSecondsMax: null,
    },
    instancesTerminated: 6,
    tasksKilled: 0,
    releasedWithTasksRunning: 0,
    ecsReads: { total: 0, perSecondMean: 0, perSecondPeak: 0 },
    handBackSeconds: { median: null, p99: null },
    failedEvents: 0,
    invocations: 0,
    invocationErrors: 0,
    apiCalls: {},
    throttledCalls: 0,
    findings: [],
    ...figures,
  };
}

describe('headline', () => {
  it('names the tasks killed, the services at zero and those below their floor', () => {
    const without = summary({
      tasksKilled: 19,
      services: [
        service('web', { desiredCount: 6, floor: 6, lowestHealthy: 3, secondsBelowFloor: 591 }),
        service('api', { desiredCount: 3, floor: 2, lowestHealthy: 1, secondsBelowFloor: 2 }),
        service('checkout', { floor: 1, lowestHealthy: 0, secondsBelowFloor: 109, secondsAtZero: 109 }),
        // Neither a daemon nor a service that wants no task is an outage at zero.
        service('log-router', { daemon: true, floor: 0, lowestHealthy: 0, secondsAtZero: 30 }),
        service('idle', { desiredCount: 0, floor: 0, lowestHealthy: 0, secondsAtZero: 630 }),
      ],
    });

    expect(headline([without])).toEqual([
      {
        run: 'Without the controller',
        figures: [
          '19 tasks killed',
          'checkout at zero for 109 s',
          '3 services below their floor (longest web, 591 s)',
        ],
      },
    ]);
  });

  it('says when no service went below its floor, and how the lifecycle actions ended', () => {
    const released = summary({
      withController: true,
      services: [service('web'), service('api')],
      lifecycleActions: { ...summary({}).lifecycleActions, completedByController: 6 },
    });
    const timedOut = summary({
      withController: true,
      settled: false,
      simulatedSeconds: 43200,
      services: [service('ledger', { lowestHealthy: 0, secondsBelowFloor: 40, secondsAtZero: 40 })],
      lifecycleActions: {
        ...summary({}).lifecycleActions,
        completedByController: 1,
        heartbeatTimeouts: 1,
        globalTimeouts: 1,
      },
    });

    expect(headline([released, timedOut]).map((line) => line.figures)).toEqual([
      ['0 tasks killed', 'no service below its floor', '6 instances released by the controller'],
      [
        '0 tasks killed',
        'ledger at zero for 40 s',
        'ledger below its floor for 40 s',
        '1 instance released by the controller, 2 by a timeout',
        'not settled after 43200 s',
      ],
    ]);
    expect(headlineText(headline([released]))).toBe(
      'With the controller: 0 tasks killed, no service below its floor, 6 instances released by the controller',
    );
  });
});

/** The SVG as `npm start` draws it, cut into the panel of each run. */
function panels(svg: string): { without: string; withController: string } {
  const [, without = '', withController = ''] = svg.split('<g class="run" ');
  return { without, withController: withController.split('<g class="legend">')[0] as string };
}

function elements(svg: string, tag: string, className: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag} class="${className}"[^>]*>`, 'g'))].map((match) =>
    Object.fromEntries([...match[0].matchAll(/([\w-]+)="([^"]*)"/g)].map(([, name, value]) => [name, value])),
  ) as Record<string, string>[];
}

function texts(svg: string, className: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${className}"[^>]*>([^<]*)</text>`, 'g'))].map((match) =>
    unescape(match[1] as string),
  );
}

/** Each lane's ID label and ending label, by instance ID. */
function lanes(panel: string): Map<string, { id: string; end?: string }> {
  const result = new Map<string, { id: string; end?: string }>();
  for (const [, instance, body] of panel.matchAll(
    /<g class="lane" data-instance="([^"]+)">([\s\S]*?)<\/g>/g,
  )) {
    const end = texts(body as string, 'lane-end')[0];
    result.set(instance as string, { id: texts(body as string, 'lane-id')[0] ?? '', ...(end && { end }) });
  }
  return result;
}

function unescape(text: string): string {
  return text
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('renderTimeline', () => {
  let runs: RunResult[];
  let without: RunSummary;
  let withController: RunSummary;
  let svg: string;

  beforeAll(async () => {
    runs = await rehearseDemo();
    [without, withController] = runs.map(summarize) as [RunSummary, RunSummary];
    svg = renderTimeline(runs);
  }, 60_000);

  it('rehearses a demo where the run without the controller kills tasks and leaves a service at zero', () => {
    // What the other tests need to mean something.
    expect(without.tasksKilled).toBeGreaterThan(0);
    expect(without.services.some((s) => s.secondsAtZero > 0 && !s.daemon)).toBe(true);
    expect(withController.tasksKilled).toBe(0);
  });

  it("opens with a headline of both runs' key figures, from their summaries", () => {
    const [, block = ''] = svg.split('<g class="headline"');
    const lines = [...(block.split('</g>')[0] as string).matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map(
      (match) => unescape(match[1] as string),
    );
    const zero = [...without.services].sort((a, b) => b.secondsAtZero - a.secondsAtZero)[0] as ServiceSummary;

    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`Without the controller: ${without.tasksKilled} tasks killed`);
    expect(lines[0]).toContain(`${zero.name} at zero for ${zero.secondsAtZero} s`);
    expect(lines[1]).toContain('With the controller: 0 tasks killed, no service below its floor');
    expect(lines.join(' · ')).toBe(headlineText(headline([without, withController])));
    expect(svg).toContain(`<title>${headlineText(headline([without, withController]))}</title>`);
  });

  it('draws zero healthy tasks in a colour of its own, for as long as the service had none', () => {
    const { without: panel, withController: controlled } = panels(svg);
    const atZero = elements(panel, 'rect', 'at-zero');
    const belowFloor = elements(panel, 'rect', 'below-floor');
    const legend = svg.split('<g class="legend">')[1] as string;
    const swatch = legend.match(/fill="([^"]+)"\/><text x="16">no healthy task</)?.[1];

    expect(atZero.length).toBeGreaterThan(0);
    expect(belowFloor.length).toBeGreaterThan(0);
    expect(new Set(atZero.map((rect) => rect.fill))).toEqual(new Set([swatch]));
    expect(belowFloor.map((rect) => rect.fill)).not.toContain(swatch);
    const drawn = atZero.reduce((sum, rect) => sum + Number(rect['data-seconds']), 0);
    const measured = without.services.reduce((sum, s) => sum + (s.daemon ? 0 : s.secondsAtZero), 0);
    expect(Math.abs(drawn - measured)).toBeLessThanOrEqual(atZero.length);
    expect(elements(controlled, 'rect', 'at-zero')).toEqual([]);
  });

  it("writes healthy-task counts on each service's chart and explains the floor in the legend", () => {
    for (const [panel, run] of [
      [panels(svg).without, without],
      [panels(svg).withController, withController],
    ] as const) {
      const ticks = texts(panel, 'y-tick');
      expect(ticks.length).toBeGreaterThanOrEqual(2 * run.services.length);
      for (const s of run.services.filter((s) => s.floor > 0)) expect(ticks).toContain(String(s.floor));
    }
    expect(svg.split('<g class="legend">')[1]).toMatch(/<text x="16">floor: [^<]+<\/text>/);
  });

  it('labels every instance lane with its ID, its AMI and how its lifecycle action ended', () => {
    const [withoutRun, controlledRun] = runs as [RunResult, RunResult];
    const controlled = lanes(panels(svg).withController);

    expect([...controlled.keys()]).toEqual([...controlledRun.recorder.lanes.keys()]);
    for (const lane of controlledRun.recorder.lanes.values()) {
      const original = lane.launchedAt < controlledRun.actionAt;
      expect(controlled.get(lane.id)?.id).toBe(`${lane.id} · ${original ? 'old' : 'new'} AMI`);
    }
    expect(controlledRun.recorder.actions.length).toBeGreaterThan(0);
    for (const action of controlledRun.recorder.actions) {
      expect(controlled.get(action.instanceId)?.end).toBe(
        `released by the controller after ${Math.round(action.endedAt - action.startedAt)} s`,
      );
    }

    const unhooked = lanes(panels(svg).without);
    expect(withoutRun.recorder.killedTasks.length).toBeGreaterThan(0);
    for (const { instanceId } of withoutRun.recorder.killedTasks) {
      const killed = withoutRun.recorder.killedTasks
        .filter((kill) => kill.instanceId === instanceId)
        .reduce((sum, kill) => sum + kill.groups.length, 0);
      expect(unhooked.get(instanceId)?.end).toBe(
        `terminated (no hook), ${killed} task${killed === 1 ? '' : 's'} killed`,
      );
    }
  });

  it('says when a timeout, not the controller, ended a lifecycle action', () => {
    const [, controlledRun] = runs as [RunResult, RunResult];
    const [first, ...others] = controlledRun.recorder.actions;
    if (first === undefined) throw new Error('no lifecycle action');
    const recorder = Object.assign(new Recorder(), controlledRun.recorder, {
      actions: [{ ...first, endedBy: 'heartbeat-timeout' }, ...others],
    });

    const timedOut = lanes(
      panels(renderTimeline([runs[0] as RunResult, { ...controlledRun, recorder }])).withController,
    );

    expect(timedOut.get(first.instanceId)?.end).toMatch(/^released by the heartbeat timeout after \d+ s$/);
  });

  it('marks the moment the scenario acts in each run', () => {
    for (const panel of Object.values(panels(svg))) {
      expect(panel).toMatch(
        /<g class="scenario-acts">\s*<line [^>]*\/>\s*<text[^>]*>instance refresh starts \(0:10:00\)<\/text>/,
      );
    }
  });
});

describe('lane labels', () => {
  it('never cover an instance ID, even for the long drains of the README example (labels run from the chart, not before it)', async () => {
    const shape = ClusterShape.parse(
      JSON.parse(readFileSync(join(__dirname, '..', '..', 'sim', 'examples', 'cluster.json'), 'utf8')),
    );
    const svg = renderTimeline(await rehearseDemo({ shape }));
    const labels = [...svg.matchAll(/<text class="lane-end" x="([\d.]+)"([^>]*)>([^<]*)<\/text>/g)];
    expect(labels.length).toBeGreaterThan(0);
    for (const [, x, attributes, text] of labels) {
      // Drawn at 5 px a character (font-size 9): its left edge is the anchor, or the anchor minus its width.
      const left = (attributes ?? '').includes('text-anchor="end"')
        ? Number(x) - (text ?? '').length * 5
        : Number(x);
      expect({ text, left: left >= CHART_LEFT }).toEqual({ text, left: true });
    }
  }, 30_000);
});
