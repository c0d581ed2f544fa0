import { parseJson } from './json';

/**
 * What Auto Scaling sent, from a message of a queue subscribed to the hook topic. The subscriptions
 * deliver it as it is (raw message delivery); should raw delivery be turned off, the body is SNS's
 * envelope and its `Message` is what Auto Scaling sent. `field` names where it came from, for a
 * rejection to name.
 */
export function snsMessageOf(body: string): { message: string; field: 'Message' | 'body' } {
  const parsed = parseJson(body);
  if (typeof parsed === 'object' && parsed !== null && 'Type' in parsed && 'Message' in parsed) {
    const { Type, Message } = parsed as { Type: unknown; Message: unknown };
    if (Type === 'Notification' && typeof Message === 'string') return { message: Message, field: 'Message' };
  }
  return { message: body, field: 'body' };
}
