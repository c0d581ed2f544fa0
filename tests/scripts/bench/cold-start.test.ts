import type { Metafile } from 'esbuild';
import {
  externalPackages,
  favoured,
  loadFigures,
  roundRobin,
  RUNTIME_SDK,
  templateShipping,
} from '../../../scripts/bench/cold-start';
import { esbuildFunctions, type EsbuildFunction } from '../../../sim/sam-build';
import { readTemplate } from '../../../sim/template';

describe('cold start figures', () => {
  it('reports the median and the 90th percentile of the samples', () => {
    // Unsorted, with one outlier that would move a mean; an even count: the median is the mean of the two middle samples.
    const samples = [50, 10, 40, 20, 30, 60, 1000, 70, 90, 80];

    expect(loadFigures(samples)).toEqual({ medianMs: 55, p90Ms: 90 });
    expect(loadFigures([31.24, 30.01, 29.96])).toEqual({ medianMs: 30, p90Ms: 31.2 });
    expect(() => loadFigures([])).toThrow('no samples');
  });

  it('runs every variant once per round, each round starting one variant further on', () => {
    expect(roundRobin(['floor', 'a', 'b'], 4)).toEqual([
      ...['floor', 'a', 'b'],
      ...['a', 'b', 'floor'],
      ...['b', 'floor', 'a'],
      ...['floor', 'a', 'b'],
    ]);
  });

  it('finds the SDK packages a bundle leaves to the runtime, and nothing else it leaves out', () => {
    const metafile: Metafile = {
      inputs: {},
      outputs: {
        'out/handler.js': {
          bytes: 1,
          inputs: {},
          exports: [],
          imports: [
            { path: '@aws-sdk/client-ecs', kind: 'require-call', external: true },
            { path: '@smithy/core', kind: 'require-call', external: true },
            { path: '@aws-sdk/client-ecs', kind: 'require-call', external: true },
            { path: '@aws-sdk/client-auto-scaling', kind: 'require-call', external: true },
            { path: 'node:fs', kind: 'require-call', external: true },
            { path: 'pg-native', kind: 'require-call', external: true },
          ],
        },
      },
    };

    expect(externalPackages(metafile, RUNTIME_SDK)).toEqual([
      '@aws-sdk/client-auto-scaling',
      '@aws-sdk/client-ecs',
      '@smithy/core',
    ]);
  });

  it("reads what the template ships from the functions' External lists", () => {
    const functions = esbuildFunctions(readTemplate());
    const withExternal = (fn: EsbuildFunction, External: string[]): EsbuildFunction => ({
      ...fn,
      buildProperties: { ...fn.buildProperties, External },
    });

    expect(templateShipping(functions)).toBe('bundled');
    expect(templateShipping(functions.map((fn) => withExternal(fn, ['@aws-sdk/*', '@smithy/*'])))).toBe(
      'external',
    );
    // Only @aws-sdk out: the bundle would carry its own @smithy core beside the runtime's clients.
    expect(templateShipping(functions.map((fn) => withExternal(fn, ['@aws-sdk/*'])))).toBe('bundled');
    const [first, ...rest] = functions;
    expect(() => templateShipping([withExternal(first!, RUNTIME_SDK), ...rest])).toThrow(/some functions/);
  });

  it('favours the runtime SDK only if it alone meets the target somewhere, or is faster everywhere by more than the margin', () => {
    // Medians in ms, and the target of each function (its SDK clients + 30 ms).
    const fn = (bundled: number, external: number, target: number) => ({
      bundled: { medianMs: bundled, withinTarget: bundled <= target },
      external: { medianMs: external, withinTarget: external <= target },
    });

    // Faster everywhere, but by less than the margin and within no target bundled misses.
    expect(favoured([fn(200, 180, 100), fn(300, 290, 100)])).toBe('bundled');
    // Faster everywhere by more than the margin.
    expect(favoured([fn(200, 160, 100), fn(300, 260, 100)])).toBe('external');
    // Much faster for one function only.
    expect(favoured([fn(200, 100, 50), fn(300, 310, 100)])).toBe('bundled');
    // Within the target where bundled is not.
    expect(favoured([fn(130, 120, 125), fn(300, 310, 100)])).toBe('external');
    // Both within the target.
    expect(favoured([fn(120, 100, 125), fn(90, 80, 100)])).toBe('bundled');
  });
});
