#!/usr/bin/env node
// `npx ecs-drain` from the repository: the TypeScript sources run through tsx, as `npm start` does.
require('tsx/cjs');
// The SDK's notice that its 2027 releases need Node 22 would precede every line this tool writes on
// stderr (errors are one line by contract); `engines` in package.json says what Node this needs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `ecs-drain status | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { runCli } = require('./main.ts');

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
