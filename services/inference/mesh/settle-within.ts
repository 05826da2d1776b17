/**
 * Waits for `promise` to settle, at most `timeoutMs`; never rejects. For
 * best-effort steps of a shutdown (a flush or drain that would wait for a NATS
 * server that is gone).
 */
export async function settleWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
