#!/usr/bin/env node
// `npx ecs-drain` from the repository: the TypeScript sources run through tsx, as `npm start` does.
require('tsx/cjs');
// `ecs-drain status | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { runCli } = require('./main.ts');

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
