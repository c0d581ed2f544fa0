/**
 * The zod the functions validate with: zod/mini, zod v4's functional API (`z.optional(z.string())`,
 * `z.string().check(z.minLength(1))`), with zod's English messages. Every module a function bundles
 * imports `* as z` from here, never from 'zod' (ESLint says so): the classic API is one object whose
 * methods esbuild cannot drop, 443 KB minified in every bundle and about 40 ms of each cold start,
 * where zod/mini carries only what the schemas use, some 20 KB.
 *
 * zod/mini loads no locale, so without this every message would be "Invalid input"; the log lines of
 * rejected messages quote them (tests/bad-input). Only the English locale is imported: `z.locales.en()`
 * would bundle every locale (+260 KB). Re-exported with `export *` so that a namespace import of this
 * module is tree-shaken as one of zod/mini is; `export { z }` of a namespace would bundle all of zod/mini.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
