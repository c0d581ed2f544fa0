import * as z from '../zod';

/** The SQS batch Lambda receives; each record is validated on its own so one bad record loses no other. */
export const SqsEnvelope = z.object({ Records: z.array(z.unknown()) });

/** The fields of a record this controller reads: the id to report a failure by, and the body. */
export const SqsRecord = z.object({ messageId: z.string().check(z.minLength(1)), body: z.string() });
export type SqsRecord = z.infer<typeof SqsRecord>;
