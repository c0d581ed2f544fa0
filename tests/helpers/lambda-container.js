// A Lambda container for a built bundle, in a process of its own (a plain Node process, as Lambda's
// runtime is, not jest's sandbox): loads the bundle once, then runs the handler for each event the
// parent sends, and sends back its result or its error. Usage: fork(this, [bundlePath, exportName]).
const [bundlePath, exportName] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is CommonJS, loaded as Lambda loads it
const handler = require(bundlePath)[exportName];
process.on('message', async ({ id, event }) => {
  try {
    const result = await handler(event, { getRemainingTimeInMillis: () => 60_000, awsRequestId: String(id) });
    process.send({ id, result: result ?? null });
  } catch (error) {
    process.send({ id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
});
process.send({ ready: true });
