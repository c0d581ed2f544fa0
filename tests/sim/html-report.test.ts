import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { renderReport, reportStem } from '../../sim/html-report';
import { type RunSummary, summarize } from '../../sim/report';
import { headline } from '../../sim/svg';
import { rehearseDemo } from '../helpers/rehearsal';

/** Debian's chromium, which .ci/run installs; playwright-core drives it and never downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('reportStem', () => {
  // parseArgs gives every option with a default, and the others only when given.
  const demo = { scenario: 'instance-refresh', seed: '1', faults: false, 'controller-only': false };

  it("keeps the demo's name, and leaves out the options that change only the output", () => {
    expect(reportStem({ ...demo, out: 'elsewhere', json: true, verbose: true, help: false })).toBe(
      'instance-refresh-seed1',
    );
  });

  it('names the config file first, then every other option given, flags by name and values after it', () => {
    expect(
      reportStem({
        ...demo,
        scenario: 'scale-in',
        seed: '07',
        config: 'sim/examples/cluster.json',
        faults: true,
        'controller-only': true,
        'heartbeat-timeout': '600',
        'deadline-action': 'stop-tasks',
        'min-healthy': undefined,
      }),
    ).toBe('cluster-scale-in-seed7-controller-only-deadline-action-stop-tasks-faults-heartbeat-timeout600');
  });

  it('gives runs that differ in one option different names, and the same run the same name', () => {
    const names = [
      reportStem(demo),
      reportStem({ ...demo, seed: '2' }),
      reportStem({ ...demo, config: 'cluster.json' }),
      reportStem({ ...demo, 'controller-only': true }),
      reportStem({ ...demo, faults: true }),
      reportStem({ ...demo, 'over-http': true }),
      reportStem({ ...demo, 'drain-deadline': '900' }),
      // An option the command line does not have yet is named too.
      reportStem({ ...demo, 'future-option': 'x' }),
    ];

    expect(new Set(names).size).toBe(names.length);
    // Options named in any order; a number however it was written.
    expect(reportStem({ 'drain-deadline': '900', ...demo, faults: true })).toBe(
      reportStem({ ...demo, faults: true, 'drain-deadline': '0900' }),
    );
  });

  it('keeps a file name out of what a value may hold', () => {
    expect(reportStem({ ...demo, config: '../my cluster (v2).json', 'deadline-action': 'a/b' })).toBe(
      'my_cluster_v2_-instance-refresh-seed1-deadline-action-a_b',
    );
  });
});

describe('the HTML report, opened in Chromium', () => {
  const hostile = 'a finding with <img src=x onerror="document.title=1"> & <script>document.title=2</script>';
  let dir: string;
  let url: string;
  let summaries: [RunSummary, RunSummary];
  let browser: Browser | undefined;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: this test opens the report in it. Install Debian's chromium ` +
          '(apt-get install chromium; .ci/run does) or set CHROMIUM_PATH to a Chromium or Chrome binary.',
      );
    }
    const runs = await rehearseDemo();
    const [without, withController] = runs.map(summarize) as [RunSummary, RunSummary];
    summaries = [without, { ...withController, findings: [...withController.findings, hostile] }];
    dir = mkdtempSync(join(tmpdir(), 'html-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(runs, summaries));
    url = pathToFileURL(file).href;

    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("opens with both runs' key figures, written once, as text", async () => {
    const [without] = summaries;
    const lines = await page.locator('ul.headline li').allTextContents();

    expect(lines).toEqual(headline(summaries).map(({ run, figures }) => `${run}: ${figures.join(', ')}`));
    expect(lines[0]).toContain(`${without.tasksKilled} tasks killed`);
    expect(await page.locator('figure svg .headline text').count()).toBe(0);
    expect(await page.title()).toBe('Rehearsal: instance-refresh, seed 1');
  });

  it('shows the timeline inline, at a readable size, with the time at zero drawn', async () => {
    const svg = await page.locator('figure svg').boundingBox();
    expect(svg?.width).toBeGreaterThan(800);
    expect(svg?.height).toBeGreaterThan(500);
    expect(await page.locator('figure svg g.run').count()).toBe(2);
    const zero = await page.locator('figure svg rect.at-zero').first().boundingBox();
    expect(zero?.width).toBeGreaterThan(0);
  });

  it("puts each run's tasks killed, and each service's time at zero, in the comparison tables", async () => {
    const [without, withController] = summaries;
    const row = (table: string, name: string) =>
      page
        .locator(`table.${table} tbody tr`)
        .filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) })
        .locator('td')
        .allTextContents();

    expect(await row('runs', 'tasks killed')).toEqual([
      'tasks killed',
      String(without.tasksKilled),
      String(withController.tasksKilled),
    ]);
    for (const [index, service] of without.services.entries()) {
      const cells = await row('services', service.name);
      const controlled = withController.services[index] as RunSummary['services'][number];
      expect([cells[3], cells[6]]).toEqual([`${service.secondsAtZero} s`, `${controlled.secondsAtZero} s`]);
    }
  });

  it('lists the findings as text: markup in them is shown, never run', async () => {
    const findings = await page.locator('ul.findings li').allTextContents();

    expect(findings).toEqual(summaries[1].findings);
    expect(await page.locator('img, script').count()).toBe(0);
    expect(await page.title()).toBe('Rehearsal: instance-refresh, seed 1');
  });

  it('loads nothing but itself, without an error', () => {
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
  });
});
