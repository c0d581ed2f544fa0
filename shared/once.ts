/**
 * `create`, run on the first call and its promise shared by every later one: for a client a function
 * needs on few of its runs, created when first needed rather than at every cold start. A creation
 * that failed is not kept: the next call tries again.
 */
export function once<T>(create: () => Promise<T>): () => Promise<T> {
  let created: Promise<T> | undefined;
  return () => {
    created ??= create().catch((error: unknown) => {
      created = undefined;
      throw error;
    });
    return created;
  };
}
