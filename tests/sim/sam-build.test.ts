import { esbuildFunctions, esbuildOptions, inScopes, localEnvironment } from '../../sim/sam-build';
import { readTemplate } from '../../sim/template';

const fn = (Metadata: unknown, Properties: unknown = { Handler: 'handler.handler' }) => ({
  Type: 'AWS::Serverless::Function',
  Metadata,
  Properties,
});

describe('the functions sam build bundles with esbuild', () => {
  it('finds every function of template.yaml, named by the folder of its entry point', () => {
    const functions = esbuildFunctions(readTemplate());

    expect(
      functions.map(({ id, name, handlerFile, handlerExport }) => ({ id, name, handlerFile, handlerExport })),
    ).toEqual([
      { id: 'StartDrainFunction', name: 'start-drain', handlerFile: 'handler.js', handlerExport: 'handler' },
      {
        id: 'FinishDrainFunction',
        name: 'finish-drain',
        handlerFile: 'handler.js',
        handlerExport: 'handler',
      },
      { id: 'ReconcileFunction', name: 'reconcile', handlerFile: 'handler.js', handlerExport: 'handler' },
      {
        id: 'LaunchReadinessFunction',
        name: 'launch-readiness',
        handlerFile: 'handler.js',
        handlerExport: 'handler',
      },
      { id: 'WatchAmiFunction', name: 'watch-ami', handlerFile: 'handler.js', handlerExport: 'handler' },
    ]);
    expect(functions[0]?.buildProperties.EntryPoints).toEqual(['functions/start-drain/handler.ts']);
  });

  it('includes a function added to the template, and skips resources that are not esbuild functions', () => {
    const template = {
      Globals: { Function: { Handler: 'index.main' } },
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
        Zipped: fn(undefined),
        New: fn({ BuildMethod: 'esbuild', BuildProperties: { EntryPoints: ['functions/new/index.ts'] } }, {}),
      },
    };

    expect(esbuildFunctions(template)).toEqual([
      {
        id: 'New',
        name: 'new',
        handlerFile: 'index.js',
        handlerExport: 'main',
        buildProperties: { EntryPoints: ['functions/new/index.ts'] },
      },
    ]);
  });

  it('refuses a property sam build would not pass on to esbuild, and a function without entry points', () => {
    const withProperties = (BuildProperties: unknown) => ({
      Resources: { F: fn({ BuildMethod: 'esbuild', BuildProperties }) },
    });

    expect(() => esbuildFunctions(withProperties({ EntryPoints: ['a.ts'], Minfy: true }))).toThrow(
      /F.*Minfy/,
    );
    expect(() => esbuildFunctions(withProperties({ EntryPoints: [] }))).toThrow(
      /F has no BuildProperties.EntryPoints/,
    );
  });

  it('names the output file by OutExtension, as the handler must', () => {
    const template = {
      Resources: {
        F: fn(
          {
            BuildMethod: 'esbuild',
            BuildProperties: { EntryPoints: ['f/app.ts'], OutExtension: ['.js=.mjs'] },
          },
          {
            Handler: 'app.handler',
          },
        ),
      },
    };

    expect(esbuildFunctions(template)[0]?.handlerFile).toBe('app.mjs');
  });
});

describe('the esbuild options sam build runs', () => {
  it("applies aws-lambda-builders' defaults when the template says nothing: es2020, CommonJS, minified", () => {
    expect(esbuildOptions({ EntryPoints: ['f.ts'] }, '/out')).toEqual({
      entryPoints: ['f.ts'],
      bundle: true,
      platform: 'node',
      outdir: '/out',
      target: 'es2020',
      format: 'cjs',
      minify: true,
      sourcemap: false,
    });
  });

  it("takes the template's values, and adds the benchmark's externals to the template's own", () => {
    const options = esbuildOptions(
      {
        EntryPoints: ['f.ts'],
        Target: 'es2022',
        Format: 'esm',
        Minify: false,
        Sourcemap: true,
        External: ['pg-native'],
        MainFields: 'module,main',
        OutExtension: ['.js=.mjs'],
        Banner: ['js=// hello'],
        Loader: ['.node=file'],
      },
      '/out',
      ['@aws-sdk/*'],
    );

    expect(options).toMatchObject({
      target: 'es2022',
      format: 'esm',
      minify: false,
      sourcemap: true,
      external: ['pg-native', '@aws-sdk/*'],
      mainFields: ['module', 'main'],
      outExtension: { '.js': '.mjs' },
      banner: { js: '// hello' },
      loader: { '.node': 'file' },
    });
  });
});

describe('what sam leaves out and sets', () => {
  it('gives a function the environment sam local gives it: the common parameters, then its own', () => {
    const envFile = { Parameters: { A: '1', B: '1' }, WatchAmiFunction: { B: '2', C: '3' } };

    expect(localEnvironment(envFile, 'WatchAmiFunction')).toEqual({ A: '1', B: '2', C: '3' });
    expect(localEnvironment(envFile, 'StartDrainFunction')).toEqual({ A: '1', B: '1' });
  });

  it('matches External patterns as esbuild does: a wildcard, or a package and its subpaths', () => {
    expect(inScopes('@aws-sdk/client-ecs', ['@aws-sdk/*'])).toBe(true);
    expect(inScopes('@aws-sdk-other/x', ['@aws-sdk/*'])).toBe(false);
    expect(inScopes('pg-native/lib', ['pg-native'])).toBe(true);
    expect(inScopes('pg-native-extra', ['pg-native'])).toBe(false);
    expect(inScopes('./data.json', ['*.json'])).toBe(true);
  });
});
