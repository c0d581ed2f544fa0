import { currentContainer } from '../lambda';
import { type ApiTarget, answer } from './server';

/**
 * A request handler for the real SDK clients that answers from the simulation without a socket:
 * the SDK still serializes the request and parses the response in AWS's wire format, only the
 * loopback HTTP hop is skipped. The local endpoint (server.ts) answers the same way.
 *
 * Calls take simulated time (the target's latency), so invocations of several Lambda containers
 * interleave between their calls as they would in AWS. A call from a container Lambda has discarded
 * (timed out) never returns: its work has no further effect.
 */
const utf8 = new TextDecoder();

export class InProcessHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly target: () => ApiTarget | undefined) {}

  async handle(request: {
    headers: Record<string, string>;
    body?: unknown;
  }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    const current = this.target();
    if (current === undefined) throw new Error('no simulation is running');
    const container = currentContainer();
    if (container?.dead) return new Promise(() => undefined);
    const [low, high] = current.latency ?? [0, 0];
    // Half the latency before the call takes effect, half before its answer arrives.
    const half = container === undefined || high <= 0 ? 0 : current.random.between(low, high) / 2;
    if (half > 0) await current.clock.sleep(half);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    // JSON bodies come as bytes (a Uint8Array subclass), query bodies as strings.
    const body = ArrayBuffer.isView(request.body)
      ? utf8.decode(request.body as Uint8Array)
      : String(request.body ?? '');
    const reply = answer(current, headers, body);
    if (half > 0) await current.clock.sleep(half);
    return {
      response: {
        statusCode: reply.status,
        headers: { 'content-type': reply.contentType, 'x-amzn-requestid': 'sim' },
        body: Buffer.from(reply.body),
      },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {}
}
