import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import type { z } from 'zod';
import { ClusterShape } from './scenario';

/**
 * Input checks shared by the command-line programs: every bad flag, value, file or path is one
 * line naming the problem, and exit code 2, before anything runs.
 */

/** A mistake in what the user asked for: reported as one line, exit code 2. */
export class UsageError extends Error {}

/** Runs a program's main, turning usage errors (its own and parseArgs's) into one line and exit code 2. */
export function runProgram(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (isUsageError(error)) {
      // One line, whatever the message (parseArgs's own can run to three).
      const message = (error as Error).message.replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`${name}: ${message} (--help lists the options)\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/**
 * The `code` of a Node.js error (ENOENT, ERR_PARSE_ARGS_...). Read by shape, not `instanceof Error`:
 * an error from another realm (Node's own modules seen from a test sandbox) is not an instance of this
 * realm's Error.
 */
export function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

/** A mistake in what the user asked for: ours, or one parseArgs found in the flags. */
export function isUsageError(error: unknown): error is Error {
  return error instanceof UsageError || errorCode(error).startsWith('ERR_PARSE_ARGS');
}

/** A whole number within [min, max], or a UsageError naming the flag and the range. */
export function wholeNumber(text: string, flag: string, min: number, max: number, why = ''): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}${why}, not "${text}"`);
  }
  return value;
}

/** Creates the output directory, or says why it cannot be one. */
export function outputDirectory(path: string, flag = '--out'): string {
  if (path.trim() === '') throw new UsageError(`${flag} is empty: give a directory`);
  try {
    mkdirSync(path, { recursive: true });
    return path;
  } catch (error) {
    const code = errorCode(error);
    const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : code || String(error);
    throw new UsageError(`${flag} ${path}: cannot be a directory (${why})`);
  }
}

/** A path a file can be written to: not a directory (checked before a run, not after it). */
export function writableFile(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UsageError(`cannot write ${path}: a directory of that name is in the way`);
  }
  return path;
}

/** A cluster shape from a --config file: read, parsed as JSON, validated strictly (unknown keys refused). */
export function readShapeFile(path: string): ClusterShape {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = errorCode(error);
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'a directory, not a file'
          : code || 'unreadable';
    throw new UsageError(`--config ${path}: ${why}`);
  }
  text = text.replace(/^\uFEFF/, ''); // a byte-order mark some editors write
  if (text.trim() === '') throw new UsageError(`--config ${path}: the file is empty`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not JSON (${(error as Error).message})`);
  }
  const parsed = ClusterShape.safeParse(data);
  if (!parsed.success) throw new UsageError(`--config ${path}: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

/** The first problem zod found, in words: the field's path, and for an unknown key a close match. */
function describeIssue(error: z.ZodError): string {
  // A misspelled field shows twice: as an unknown key, and as the field it meant, missing.
  const issue = error.issues.find((each) => each.code === 'unrecognized_keys') ?? error.issues[0];
  if (issue === undefined) return 'invalid';
  const where = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys
      .map((key) => {
        const match = closestMatch(key, known);
        return `${where}: unknown field "${key}"${match === undefined ? '' : ` (did you mean "${match}"?)`}`;
      })
      .join('; ');
  }
  return `${where}: ${issue.message}`;
}

/** The fields a shape at this path knows (the cluster, a service, a standalone task). */
function knownKeys(path: PropertyKey[]): string[] {
  const [first] = path;
  if (first === 'services') return Object.keys(ClusterShape.shape.services.element.shape);
  if (first === 'standaloneTasks')
    return Object.keys(ClusterShape.shape.standaloneTasks.unwrap().element.shape);
  return Object.keys(ClusterShape.shape);
}

/** The candidate closest to `word` (case aside, at most two edits away), if any. */
function closestMatch(word: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
