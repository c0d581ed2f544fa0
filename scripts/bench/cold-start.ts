/**
 * Cold start (issue 11, section 3): for every function template.yaml builds with esbuild, the bundle
 * `sam build` makes from the template's own BuildProperties, twice: with the AWS SDK bundled, and with
 * `@aws-sdk/*` and `@smithy/*` left to the Lambda runtime (the runtime's copy is found through NODE_PATH,
 * /var/runtime/node_modules there; this project's node_modules here). Each is loaded by fresh Node
 * processes that require the bundle and check that its handler is a function, interleaved round-robin
 * with the floor (`node -e 0`) and with a process that requires only the SDK client packages the
 * function uses (the target: within 30 ms of that).
 *
 * The figures are whole-process wall times (spawn to exit), nothing subtracted: the floor is reported
 * beside them. Performance is measured here, never asserted in tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { median, percentile } from '../../sim/metrics';
import {
  type EsbuildFunction,
  esbuildFunctions,
  esbuildOptions,
  inScopes,
  localEnvironment,
} from '../../sim/sam-build';
import { readTemplate } from '../../sim/template';

const ROOT = join(__dirname, '..', '..');

/**
 * What the Node.js Lambda runtimes (18 and later) provide: the AWS SDK for JavaScript v3, whose
 * clients are `@aws-sdk/*` and whose core runtime is `@smithy/*` (the SDK team asks that both scopes be
 * treated alike: aws/aws-cdk#31610; CDK's NodejsFunction leaves both out for these runtimes).
 */
export const RUNTIME_SDK = ['@aws-sdk/*', '@smithy/*'];

/** The target: a function loads within this much of the floor plus loading the SDK clients it uses. */
export const TARGET_MARGIN_MS = 30;

/** The SDK shipping choices the benchmark compares. */
export type Shipping = 'bundled' | 'external';

export interface LoadFigures {
  medianMs: number;
  p90Ms: number;
}

export interface VariantFigures extends LoadFigures {
  bytes: number;
  /** Median load time within TARGET_MARGIN_MS of the SDK clients reference. */
  withinTarget: boolean;
}

export interface FunctionFigures {
  name: string;
  id: string;
  /** The SDK packages the bundle with the SDK left out requires: the clients the function uses. */
  sdkClients: string[];
  bundled: VariantFigures;
  external: VariantFigures;
  /** Median of a fresh process that requires only sdkClients, from node_modules. */
  sdkClientsMs: number;
  sdkClientsP90Ms: number;
  /** sdkClientsMs + TARGET_MARGIN_MS. */
  targetMs: number;
  /** external.medianMs / bundled.medianMs: below 1, the runtime's SDK loads faster. */
  externalToBundled: number;
}

export interface ColdStartReport {
  node: string;
  processes: number;
  floorMs: number;
  floorP90Ms: number;
  functions: FunctionFigures[];
  /** What template.yaml ships now (read from its BuildProperties). */
  shipped: Shipping;
  /** What the figures favour (see favoured). */
  favoured: Shipping;
  why: string;
}

/** Median and p90 of a variant's samples, to 0.1 ms. */
export function loadFigures(samples: number[]): LoadFigures {
  const medianMs = median(samples);
  const p90Ms = percentile(samples, 0.9);
  if (medianMs === null || p90Ms === null) throw new Error('no samples');
  return { medianMs: round(medianMs), p90Ms: round(p90Ms) };
}

/**
 * The order in which the processes run: every variant once per round, each round starting one variant
 * further on, so that a noisy neighbour, and the slot after a heavy process, hit every variant alike.
 */
export function roundRobin<T>(variants: T[], rounds: number): T[] {
  const order: T[] = [];
  for (let round = 0; round < rounds; round++)
    for (let slot = 0; slot < variants.length; slot++)
      order.push(variants[(round + slot) % variants.length] as T);
  return order;
}

/** The packages of those scopes that an esbuild output leaves external (requires at run time). */
export function externalPackages(metafile: Metafile, patterns: string[]): string[] {
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const imported of output.imports)
      if (imported.external && inScopes(imported.path, patterns)) found.add(imported.path);
  return [...found].sort();
}

/** What template.yaml ships: the SDK left external when every function's External names the runtime's scopes. */
export function templateShipping(functions: EsbuildFunction[]): Shipping {
  const leavesOut = (fn: EsbuildFunction) => {
    const external = fn.buildProperties.External;
    return Array.isArray(external) && RUNTIME_SDK.every((scope) => external.includes(scope));
  };
  if (functions.every(leavesOut)) return 'external';
  if (functions.some(leavesOut))
    throw new Error('template.yaml: some functions leave the SDK out, others not');
  return 'bundled';
}

/**
 * What the figures favour. Bundling pins the SDK version the code was tested with (the runtime brings
 * its own, which lags the one in package-lock.json and changes when Lambda updates the runtime), so
 * leaving the SDK out must buy something the target counts: external is favoured if it brings some
 * function within the target that bundled leaves outside, or if it loads faster for every function by
 * more than the target's own margin.
 */
type Loads = Pick<VariantFigures, 'medianMs' | 'withinTarget'>;
export function favoured(functions: { bundled: Loads; external: Loads }[]): Shipping {
  const onlyExternalMeetsTarget = functions.some(
    (fn) => fn.external.withinTarget && !fn.bundled.withinTarget,
  );
  const externalMuchFaster = functions.every(
    (fn) => fn.bundled.medianMs - fn.external.medianMs > TARGET_MARGIN_MS,
  );
  return onlyExternalMeetsTarget || externalMuchFaster ? 'external' : 'bundled';
}

interface Variant {
  key: string;
  args: string[];
  env: Record<string, string>;
}

/** Requires the bundle (argv[1]) and exits 3 unless its export argv[2] is a function. */
const LOAD_HANDLER =
  "const m=require(process.argv[1]);if(typeof m[process.argv[2]]!=='function'){console.error(process.argv[2]+' is not a function');process.exit(3)}";
/** Requires each package named on the command line. */
const LOAD_PACKAGES = 'for(const p of process.argv.slice(1))require(p)';

export async function measureColdStart(options: {
  processes: number;
  say: (line: string) => void;
}): Promise<ColdStartReport> {
  const { processes, say } = options;
  const functions = esbuildFunctions(readTemplate());
  const shipped = templateShipping(functions);
  const envFile = JSON.parse(readFileSync(join(ROOT, 'events', 'env.json'), 'utf8'));
  // Only what a Lambda container has: nothing of this shell's NODE_OPTIONS (tsx) or AWS profile.
  const baseEnv = {
    PATH: process.env.PATH ?? '',
    NODE_PATH: join(ROOT, 'node_modules'),
    AWS_REGION: 'us-east-1',
    // Lambda runs nodejs22.x; the notice the SDK prints on this machine's Node 20 is not part of a cold start.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const workdir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  try {
    const built = [];
    for (const fn of functions) {
      const env = { ...baseEnv, ...localEnvironment(envFile, fn.id), AWS_LAMBDA_FUNCTION_NAME: fn.id };
      const variants = {} as Record<Shipping, { bytes: number; path: string; sdk: string[] }>;
      for (const shipping of ['bundled', 'external'] as const) {
        const outdir = join(workdir, fn.name, shipping);
        const result = await build({
          ...esbuildOptions(fn.buildProperties, outdir, shipping === 'external' ? RUNTIME_SDK : []),
          absWorkingDir: ROOT,
          metafile: true,
          logLevel: 'silent',
        });
        const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
        variants[shipping] = {
          bytes,
          path: join(outdir, fn.handlerFile),
          sdk: externalPackages(result.metafile, RUNTIME_SDK),
        };
      }
      if (shipped === 'bundled' && variants.bundled.sdk.length > 0)
        throw new Error(`${fn.name}: the bundled build still requires ${variants.bundled.sdk.join(', ')}`);
      built.push({ fn, env, variants });
    }

    const floor: Variant = { key: 'floor', args: ['-e', '0'], env: baseEnv };
    const all: Variant[] = [floor];
    for (const { fn, env, variants } of built) {
      for (const shipping of ['bundled', 'external'] as const)
        all.push({
          key: `${fn.name}/${shipping}`,
          args: ['-e', LOAD_HANDLER, variants[shipping].path, fn.handlerExport],
          env,
        });
      all.push({ key: `${fn.name}/sdk`, args: ['-e', LOAD_PACKAGES, ...variants.external.sdk], env });
    }

    say(
      `cold start: node ${process.version}, ${functions.length} functions, ${all.length} variants, ` +
        `${processes} fresh processes each, interleaved (after one untimed round)`,
    );
    const samples = new Map<string, number[]>(all.map((variant) => [variant.key, []]));
    for (const variant of all) runOnce(variant);
    for (const variant of roundRobin(all, processes)) samples.get(variant.key)?.push(runOnce(variant));

    const figuresOf = (key: string) => loadFigures(samples.get(key) ?? []);
    const floorFigures = figuresOf('floor');
    const figures: FunctionFigures[] = built.map(({ fn, variants }) => {
      const sdk = figuresOf(`${fn.name}/sdk`);
      const targetMs = round(sdk.medianMs + TARGET_MARGIN_MS);
      const variant = (shipping: Shipping) => {
        const load = figuresOf(`${fn.name}/${shipping}`);
        return {
          bytes: variants[shipping].bytes,
          ...load,
          withinTarget: load.medianMs <= targetMs,
        };
      };
      const [bundled, external] = [variant('bundled'), variant('external')];
      return {
        name: fn.name,
        id: fn.id,
        sdkClients: variants.external.sdk,
        bundled,
        external,
        sdkClientsMs: sdk.medianMs,
        sdkClientsP90Ms: sdk.p90Ms,
        targetMs,
        externalToBundled: Math.round((external.medianMs / bundled.medianMs) * 100) / 100,
      };
    });
    const favour = favoured(figures);
    const report: ColdStartReport = {
      node: process.version,
      processes,
      floorMs: floorFigures.medianMs,
      floorP90Ms: floorFigures.p90Ms,
      functions: figures,
      shipped,
      favoured: favour,
      why: explain(shipped, favour, figures),
    };
    printTable(report, say);
    return report;
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** One fresh process: wall time from spawn to exit, in ms; a failed load stops the benchmark. */
function runOnce(variant: Variant): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, variant.args, {
    env: variant.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(
      `${variant.key}: node exited ${result.status ?? result.signal}: ${String(result.stderr).trim()}`,
    );
  return ms;
}

function explain(shipped: Shipping, favour: Shipping, functions: FunctionFigures[]): string {
  const gains = functions.map((fn) => `${fn.name} ${round(fn.bundled.medianMs - fn.external.medianMs)}`);
  const meets = (shipping: Shipping) =>
    functions
      .filter((fn) => fn[shipping].withinTarget)
      .map((fn) => fn.name)
      .join(', ') || 'none';
  const figures =
    `leaving the SDK to the runtime saves (median ms) ${gains.join(', ')}; the target (SDK clients + ` +
    `${TARGET_MARGIN_MS} ms) is met bundled by ${meets('bundled')}, external by ${meets('external')}`;
  if (shipped !== favour)
    return `template.yaml ships ${shipped} but these figures favour ${favour}: ${figures}`;
  return favour === 'bundled'
    ? `SDK bundled: ${figures}; that brings no function within the target, and bundling pins the SDK ` +
        'version the code was tested with (its retries and endpoint settings), where the runtime brings its ' +
        'own, older one that changes when Lambda updates the runtime'
    : `SDK left to the runtime: ${figures}`;
}

function printTable(report: ColdStartReport, say: (line: string) => void): void {
  say(`floor (node -e 0): median ${report.floorMs} ms, p90 ${report.floorP90Ms} ms`);
  const head = [
    'function'.padEnd(17),
    'bundled bytes'.padStart(13),
    'median/p90 ms'.padStart(14),
    'external bytes'.padStart(15),
    'median/p90 ms'.padStart(14),
    'SDK clients ms'.padStart(15),
    'target ms'.padStart(10),
    'ext/bundled'.padStart(12),
  ];
  say(head.join(' '));
  for (const fn of report.functions) {
    const load = (v: VariantFigures) => `${v.medianMs}/${v.p90Ms}${v.withinTarget ? '' : '!'}`;
    say(
      [
        fn.name.padEnd(17),
        String(fn.bundled.bytes).padStart(13),
        load(fn.bundled).padStart(14),
        String(fn.external.bytes).padStart(15),
        load(fn.external).padStart(14),
        `${fn.sdkClientsMs}/${fn.sdkClientsP90Ms}`.padStart(15),
        String(fn.targetMs).padStart(10),
        fn.externalToBundled.toFixed(2).padStart(12),
      ].join(' '),
    );
  }
  say(
    `(! misses the target: SDK clients + ${TARGET_MARGIN_MS} ms)  shipped: ${report.shipped}. ${report.why}`,
  );
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
