import { basename, dirname } from 'node:path';
import type { BuildOptions } from 'esbuild';

/**
 * What `sam build` does with a function's `Metadata: { BuildMethod: esbuild, BuildProperties }`, so
 * that the bundle test and the cold-start benchmark build exactly what the template ships, read from
 * template.yaml rather than written again beside it.
 *
 * The mapping follows aws-lambda-builders (workflows/nodejs_npm_esbuild/esbuild.py): always
 * `--bundle --platform=node --outdir`; `--target=es2020`, `--format=cjs` and `--minify` unless the
 * template says otherwise; booleans (Minify, Sourcemap) only when true; External, Loader,
 * OutExtension and Banner as lists of flags.
 */

/** A function of the template that `sam build` bundles with esbuild. */
export interface EsbuildFunction {
  /** The logical id, e.g. StartDrainFunction. */
  id: string;
  /** The folder of its first entry point, e.g. start-drain (functions/start-drain/handler.ts). */
  name: string;
  /** The handler module's file name in the build output, e.g. handler.js (from Properties.Handler). */
  handlerFile: string;
  /** The exported handler's name, e.g. handler. */
  handlerExport: string;
  buildProperties: BuildProperties;
}

export interface BuildProperties {
  EntryPoints: string[];
  [property: string]: unknown;
}

/** The BuildProperties aws-lambda-builders passes on to esbuild; any other is a mistake in the template. */
const KNOWN_PROPERTIES = new Set([
  'EntryPoints',
  'Minify',
  'Sourcemap',
  'Target',
  'Format',
  'MainFields',
  'SourcesContent',
  'External',
  'Loader',
  'OutExtension',
  'Banner',
]);

/** Every `AWS::Serverless::Function` of the (parsed) template built with esbuild, in template order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CloudFormation template is untyped data
export function esbuildFunctions(template: any): EsbuildFunction[] {
  const globalHandler: unknown = template.Globals?.Function?.Handler;
  return Object.entries(template.Resources ?? {}).flatMap(([id, resource]) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
    const { Type, Metadata, Properties } = resource as any;
    if (Type !== 'AWS::Serverless::Function' || Metadata?.BuildMethod !== 'esbuild') return [];
    const buildProperties = Metadata.BuildProperties as BuildProperties | undefined;
    const entryPoints = buildProperties?.EntryPoints;
    if (buildProperties === undefined || !Array.isArray(entryPoints) || entryPoints.length === 0)
      throw new Error(`template.yaml: ${id} has no BuildProperties.EntryPoints`);
    const unknown = Object.keys(buildProperties).filter((key) => !KNOWN_PROPERTIES.has(key));
    if (unknown.length > 0)
      throw new Error(
        `template.yaml: ${id} has BuildProperties sam build does not pass on: ${unknown.join(', ')}`,
      );
    const handler = Properties?.Handler ?? globalHandler;
    if (typeof handler !== 'string' || !/^[^.]+\.[^.]+$/.test(handler))
      throw new Error(`template.yaml: ${id} has no Handler of the form file.export`);
    const [file, handlerExport] = handler.split('.') as [string, string];
    const outExtension = listFlags(buildProperties.OutExtension, id, 'OutExtension')['.js'] ?? '.js';
    return [
      {
        id,
        name: basename(dirname(entryPoints[0] as string)),
        handlerFile: `${file}${outExtension}`,
        handlerExport,
        buildProperties,
      },
    ];
  });
}

/**
 * The esbuild options `sam build` runs for these BuildProperties, writing to outdir; `external` is
 * added to the template's own External list (the benchmark's variant that leaves the SDK to the runtime).
 */
export function esbuildOptions(
  properties: BuildProperties,
  outdir: string,
  external: string[] = [],
): BuildOptions & { entryPoints: string[]; outdir: string } {
  const flag = (name: string) => properties[name];
  const options: BuildOptions & { entryPoints: string[]; outdir: string } = {
    entryPoints: properties.EntryPoints,
    bundle: true,
    platform: 'node',
    outdir,
    target: String(flag('Target') ?? 'es2020'),
    format: (flag('Format') ?? 'cjs') as BuildOptions['format'],
    // Absent means --minify; present, only `true` adds it.
    minify: flag('Minify') === undefined || flag('Minify') === true,
    sourcemap: flag('Sourcemap') === true,
  };
  if (flag('MainFields') !== undefined) options.mainFields = String(flag('MainFields')).split(',');
  if (flag('SourcesContent') !== undefined)
    options.sourcesContent = String(flag('SourcesContent')) === 'true';
  const templateExternal = flag('External') === undefined ? [] : stringList(flag('External'), 'External');
  if (templateExternal.length > 0 || external.length > 0)
    options.external = [...templateExternal, ...external];
  if (flag('Loader') !== undefined)
    options.loader = listFlags(flag('Loader'), 'BuildProperties', 'Loader') as BuildOptions['loader'];
  if (flag('OutExtension') !== undefined)
    options.outExtension = listFlags(flag('OutExtension'), 'BuildProperties', 'OutExtension');
  if (flag('Banner') !== undefined) options.banner = listFlags(flag('Banner'), 'BuildProperties', 'Banner');
  return options;
}

/**
 * Whether a module specifier matches one of esbuild's External patterns: one `*` stands for anything
 * (`@aws-sdk/*`: the whole scope); a package name also covers its subpaths.
 */
export function inScopes(specifier: string, patterns: string[]): boolean {
  return patterns.some((pattern) => {
    const star = pattern.indexOf('*');
    if (star < 0) return specifier === pattern || specifier.startsWith(`${pattern}/`);
    const [prefix, suffix] = [pattern.slice(0, star), pattern.slice(star + 1)];
    return (
      specifier.length >= prefix.length + suffix.length &&
      specifier.startsWith(prefix) &&
      specifier.endsWith(suffix)
    );
  });
}

/** The environment `sam local invoke -n events/env.json` gives a function: Parameters, then its own section. */
export function localEnvironment(
  envFile: Record<string, Record<string, string>>,
  id: string,
): Record<string, string> {
  return { ...envFile.Parameters, ...envFile[id] };
}

function stringList(value: unknown, property: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw new Error(`BuildProperties.${property} must be a list of strings`);
  return value as string[];
}

/** `['.js=.mjs']` -> `{ '.js': '.mjs' }` (esbuild's `--out-extension:.js=.mjs`). */
function listFlags(value: unknown, where: string, property: string): Record<string, string> {
  if (value === undefined) return {};
  return Object.fromEntries(
    stringList(value, property).map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new Error(`${where}: ${property} item "${item}" is not key=value`);
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}
