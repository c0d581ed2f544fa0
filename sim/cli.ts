import { writeFileSync } from 'node:fs';
import { runProgram } from './cli-input';
import { type Controller, loadController, openTransport, rehearsalRollout } from './controller';
import { rehearsalInput } from './rehearsal-input';
import {
  type Progress,
  type RunResult,
  runScenario,
  AMI_SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
} from './scenario';
import { formatComparison, summarize } from './report';
import { renderReport } from './html-report';
import { clock, plural, renderTimeline } from './svg';

const HELP = `npm start -- [options]

Rehearses an Auto Scaling event on a simulated ECS cluster twice: once without the drain controller
(no termination hook, as most clusters run today) and once with the real controller handlers, then
compares what the services went through. Nothing reaches AWS.

Options:
  --scenario NAME         instance-refresh (default), scale-in, spot (EC2 takes instances away),
                          ami-update (AWS publishes a new ECS-optimized AMI: the stack's AMI watcher
                          rolls it out; without it, an instance refresh with Auto Scaling's defaults),
                          bad-ami (the same with an AMI whose ECS agent never connects), or
                          blue-green (the watcher rolls it out blue/green: a new fleet beside the old)
  --seed N                random seed; the same seed gives the same run (default 1)
  --instances N           size of the built-in demo cluster (default 6)
  --config FILE           rehearse your own cluster shape (JSON: instances, services, standaloneTasks, ...)
  --min-healthy PCT       instance refresh MinHealthyPercentage (default 90)
  --max-healthy PCT       instance refresh MaxHealthyPercentage (default: omitted)
  --warmup SECONDS        instance refresh InstanceWarmup (default 60)
  --scale-in-by N         instances the scale-in scenario removes (default a third)
  --heartbeat-timeout S   the hook's HeartbeatTimeout (default 1800)
  --drain-deadline S      the stack's DrainDeadline (default 3600)
  --deadline-action A     the stack's DeadlineAction: continue (default), stop-tasks or keep-waiting
  --faults                duplicate, delay and reorder events; throttle API calls at random, fail
                          some, and lose some answers after the call took effect (ECS's token
                          buckets and the SDK's retries are always on)
  --controller-only       skip the run without the controller
  --rollback              blue-green: an operator asks for the way back half-way through the burn-in
  --json                  print a machine-readable summary instead of the table
  --out DIR               where to write the timeline (.svg) and the report (.html, and report.html
                          for the latest) (default out/)
  --over-http             the handlers' SDK clients call a local HTTP endpoint (default: in-process handler)
  --verbose               show the controller's own log lines
  --help                  this text
`;

async function main(): Promise<void> {
  const input = rehearsalInput(process.argv.slice(2));
  if (input.help) {
    process.stdout.write(HELP);
    return;
  }
  const { values, options, drain, svgPath, reportPath, latestReport } = input;
  const { shape, scenario } = options;

  const { transport, close } = await openTransport(values['over-http'] ? 'http' : 'in-process');
  try {
    const controller = loadController(transport, {
      heartbeatTimeout: options.heartbeatTimeout,
      logLevel: values.verbose ? 'INFO' : 'SILENT',
      drain,
      ...(AMI_SCENARIOS.includes(scenario) && {
        rollout: rehearsalRollout(scenario === 'blue-green' ? 'blue-green' : 'rolling'),
      }),
    });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say(
      `Rehearsing ${scenario} on ${plural(shape.instances, 'instance')}, ${plural(shape.services.length, 'service')} (seed ${options.seed})`,
    );
    const without = values['controller-only']
      ? undefined
      : await rehearse(options, undefined, reporter('without controller', scenario));
    const withController = await rehearse(options, controller, reporter('with controller', scenario));

    const runs = without ? [without, withController] : [withController];
    writeFileSync(svgPath, renderTimeline(runs));
    const report = renderReport(runs);
    writeFileSync(reportPath, report);
    // And the latest rehearsal's report under a name that does not move: out/report.html.
    writeFileSync(latestReport, report);

    const summaries = runs.map(summarize);
    const withSummary = summaries[summaries.length - 1];
    if (withSummary === undefined) throw new Error('no run');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ scenario, seed: options.seed, runs: summaries, timeline: svgPath, report: reportPath }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(
        `\n${formatComparison(without ? summaries[0] : undefined, withSummary)}\n\nTimeline: ${svgPath}\nReport:   ${reportPath}\n`,
      );
    }
  } finally {
    await close();
  }
}

/** One run of the rehearsal, its progress reported as it goes and where it ended. */
async function rehearse(
  options: ScenarioOptions,
  controller: Controller | undefined,
  progress: ReturnType<typeof reporter>,
): Promise<RunResult> {
  const result = await runScenario({
    ...options,
    ...(controller && { controller }),
    onProgress: progress.onProgress,
  });
  progress.finish();
  return result;
}

/**
 * Live progress on stderr: one line rewritten in place on a terminal, a line every 10 simulated
 * minutes otherwise; `finish` prints where the run ended, which those lines may have skipped.
 */
function reporter(label: string, scenario: ScenarioName) {
  let lastPrinted = -Infinity;
  let last: string | undefined;
  // A refresh replaces instances; a scale-in and a spot interruption only take them away.
  const done = scenario === 'instance-refresh' || AMI_SCENARIOS.includes(scenario) ? 'replaced' : 'removed';
  return {
    onProgress: (progress: Progress) => {
      const line = `  ${label}: t=${clock(progress.simulatedSeconds)}  ${done} ${progress.instancesReplaced}/${progress.instancesToReplace}  draining ${progress.draining}  in service ${progress.inService}`;
      last = line;
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${line}\u001b[K`);
      } else if (progress.simulatedSeconds - lastPrinted >= 600) {
        process.stderr.write(`${line}\n`);
        lastPrinted = progress.simulatedSeconds;
        last = undefined;
      }
    },
    finish: () => {
      if (process.stderr.isTTY) process.stderr.write('\n');
      else if (last !== undefined) process.stderr.write(`${last}\n`);
    },
  };
}

runProgram('npm start', main);
