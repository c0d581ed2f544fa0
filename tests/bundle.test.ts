import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildFunctions, esbuildOptions, inScopes, localEnvironment } from '../sim/sam-build';
import { readTemplate } from '../sim/template';

const root = join(__dirname, '..');
const functions = esbuildFunctions(readTemplate());
const envFile = JSON.parse(readFileSync(join(root, 'events', 'env.json'), 'utf8'));

it('bundles all five functions', () => {
  expect(functions.map((fn) => fn.name)).toEqual([
    'start-drain',
    'finish-drain',
    'reconcile',
    'launch-readiness',
    'watch-ami',
  ]);
});

// Each function's esbuild settings as `sam build` reads them from its Metadata in template.yaml: a
// bundle that fails here would fail in `sam build`, and a handler that is not exported would fail in Lambda.
describe.each(functions.map((fn) => [fn.name, fn] as const))('%s bundle', (_name, fn) => {
  const outdir = mkdtempSync(join(tmpdir(), `bundle-${fn.name}-`));
  const saved = { ...process.env };
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    process.env = saved;
  });

  it('bundles into one self-contained file that exports the handler', async () => {
    const result = await build({
      ...esbuildOptions(fn.buildProperties, outdir),
      absWorkingDir: root,
      metafile: true,
      logLevel: 'silent',
    });

    expect(result.errors).toEqual([]);
    // Self-contained: nothing left to require but Node's own modules and what the template leaves out.
    const leftOut = (fn.buildProperties.External as string[] | undefined) ?? [];
    const builtin = (path: string) => builtinModules.includes(path.replace(/^node:/, ''));
    const external = Object.values(result.metafile.outputs).flatMap((output) =>
      output.imports.filter(
        (imported) => imported.external && !builtin(imported.path) && !inScopes(imported.path, leftOut),
      ),
    );
    expect(external.map((imported) => imported.path)).toEqual([]);
    // zod/mini and its English messages only (shared/zod.ts): classic zod or every locale would add
    // 443 KB or 260 KB to the bundle, and tens of ms to every cold start.
    const bundled = Object.values(result.metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs).flatMap(([path, input]) => (input.bytesInOutput > 0 ? [path] : [])),
    );
    expect(bundled.filter((path) => /node_modules\/zod\/.*\/(classic|locales)\//.test(path))).toEqual([
      'node_modules/zod/v4/locales/en.js',
    ]);
    // The SDK comes from its ES modules (MainFields module,main), which esbuild can tree-shake: its
    // CommonJS build brought every command of every client (ECS alone has about sixty), 37-49% of each
    // bundle and 25-60% of its load time (README, Cold start).
    expect(bundled.filter((path) => /node_modules\/@aws-sdk\/[^/]+\/dist-cjs\//.test(path))).toEqual([]);
    expect(
      bundled.filter((path) => /client-ecs\/dist-es\/commands\/CreateClusterCommand/.test(path)),
    ).toEqual([]);
    // The configuration it validates at load, as `sam local invoke -n events/env.json` gives it.
    Object.assign(process.env, localEnvironment(envFile, fn.id));
    const bundle = require(join(outdir, fn.handlerFile));
    expect(typeof bundle[fn.handlerExport]).toBe('function');
  });
});
