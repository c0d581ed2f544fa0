// Bundles each function the way `sam build` does (BuildMethod esbuild), into dist/<function>/handler.js.
// Useful to check bundle sizes or to ship without SAM; `sam build` does not need it.
import { build } from 'esbuild';

const functions = ['start-drain', 'finish-drain'];

for (const name of functions) {
  const result = await build({
    entryPoints: [`functions/${name}/handler.ts`],
    outfile: `dist/${name}/handler.js`,
    bundle: true,
    platform: 'node',
    target: 'es2022',
    format: 'cjs',
    minify: true,
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  console.log(`dist/${name}/handler.js  ${(bytes / 1024).toFixed(0)} KiB`);
}
