import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

// The same esbuild settings as the functions' Metadata in template.yaml: a bundle that fails
// here would fail in `sam build`, and a handler that is not exported would fail in Lambda.
describe.each(['start-drain', 'finish-drain', 'reconcile'])('%s bundle', (name) => {
  const outdir = mkdtempSync(join(tmpdir(), `bundle-${name}-`));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles into one self-contained CommonJS file that exports the handler', async () => {
    const result = await build({
      entryPoints: [`functions/${name}/handler.ts`],
      outdir,
      bundle: true,
      platform: 'node',
      target: 'es2022',
      format: 'cjs',
      minify: true,
      logLevel: 'silent',
    });

    expect(result.errors).toEqual([]);
    const bundle = require(join(outdir, 'handler.js'));
    expect(typeof bundle.handler).toBe('function');
  });
});
