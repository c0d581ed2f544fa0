import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.aws-sam/', 'coverage/', 'out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
  {
    // The CommonJS launcher of `npx ecs-drain` (it registers tsx, then requires the TypeScript).
    files: ['scripts/ecs-drain/bin.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // What the Lambda bundles load: zod/mini through shared/zod.ts, which also loads zod's English
    // messages. Classic zod would put 443 KB and some 40 ms into every cold start (README, cold start).
    files: ['functions/**/*.ts', 'shared/**/*.ts'],
    ignores: ['shared/zod.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'zod', message: "import * as z from 'shared/zod' (zod/mini with English messages)" },
          ],
          patterns: [
            { group: ['zod/*'], message: "import * as z from 'shared/zod' (it loads the English messages)" },
          ],
        },
      ],
    },
  },
  {
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
