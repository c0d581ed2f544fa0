import { SingleBar } from 'cli-progress';
import { CliError, type CommandContext, EXIT } from './context';

/**
 * Progress while a command waits: a live bar on a terminal, a line per change elsewhere (a CI log),
 * nothing with --no-progress. Always on stderr, so that stdout carries only the result.
 */
export interface Progress {
  update(done: number, total: number, status: string): void;
  stop(): void;
}

/** Without a terminal, how often a line is written while the count stays the same. */
const QUIET_LINE_MS = 30_000;

export function progressFor(context: CommandContext, label: string): Progress {
  const { options, io } = context;
  if (!options.progress) return { update: () => undefined, stop: () => undefined };
  if (io.stderrIsTty) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} {status}`,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    });
    let started = false;
    return {
      update(done, total, status) {
        if (!started) bar.start(total, done, { status });
        started = true;
        bar.setTotal(total);
        bar.update(done, { status });
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  // Not a terminal (a CI log): a line when the count moves, else one every QUIET_LINE_MS at most,
  // so that a status that changes with every poll (a failed-task count) does not fill the log.
  let lastCount = '';
  let lastAt = 0;
  const started = Date.now();
  return {
    update(done, total, status) {
      const count = `${done}/${total}`;
      if (count === lastCount && Date.now() - lastAt < QUIET_LINE_MS) return;
      lastCount = count;
      lastAt = Date.now();
      io.stderr(`[${Math.round((lastAt - started) / 1000)}s] ${label}: ${count} ${status}\n`);
    },
    stop: () => undefined,
  };
}

/** One look at what a command waits for: finished with a result, or how far it has got. */
export type PollResult<T> =
  { finished: true; result: T } | { finished: false; done: number; total: number; status: string };

export interface WaitOptions {
  /** What is waited for, for the progress line and the timeout message. */
  what: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  sleep?: (milliseconds: number) => Promise<void>;
  now?: () => number;
}

/** Polls until `poll` says finished, showing progress; past the timeout, a CliError (EXIT.timedOut). */
export async function waitUntil<T>(
  context: CommandContext,
  { what, timeoutSeconds, intervalSeconds, sleep = realSleep, now = Date.now }: WaitOptions,
  poll: () => Promise<PollResult<T>>,
): Promise<T> {
  const progress = progressFor(context, what);
  const deadline = now() + timeoutSeconds * 1000;
  try {
    for (;;) {
      const state = await poll();
      if (state.finished) return state.result;
      progress.update(state.done, state.total, state.status);
      if (now() >= deadline)
        throw new CliError(
          EXIT.timedOut,
          `${what}: not finished after ${timeoutSeconds} s (${state.done}/${state.total} ${state.status}); it goes on without us, nothing was undone`,
        );
      await sleep(Math.min(intervalSeconds * 1000, Math.max(0, deadline - now())));
    }
  } finally {
    progress.stop();
  }
}

const realSleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));
