import { z } from 'zod';

/** The SNS envelope Lambda receives; each record is validated on its own so one bad record loses no other. */
export const SnsRecord = z.object({
  Sns: z.object({ MessageId: z.string().optional(), Message: z.string() }),
});
export type SnsRecord = z.infer<typeof SnsRecord>;

export const SnsEnvelope = z.object({ Records: z.array(z.unknown()) });
