import { type ApiTarget, answer } from './server';

/**
 * A request handler for the real SDK clients that answers from the simulation without a socket:
 * the SDK still serializes the request and parses the response in AWS's wire format, only the
 * loopback HTTP hop is skipped. The local endpoint (server.ts) answers the same way.
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
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    // JSON bodies come as bytes (a Uint8Array subclass), query bodies as strings.
    const body = ArrayBuffer.isView(request.body)
      ? utf8.decode(request.body as Uint8Array)
      : String(request.body ?? '');
    const reply = answer(current, headers, body);
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
