import { Code, InfermeshError, deadlineExceeded } from '../../../shared/errors/index.js';

/**
 * Waits for `work` until `deadlineMs` (ms since the epoch; Infinity for none)
 * or until `signal` aborts: DEADLINE_EXCEEDED or CANCELLED then, naming `what`.
 * `work` itself goes on (others may share it).
 */
export function raceDeadline<T>(work: Promise<T>, deadlineMs: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (deadlineMs === Infinity && !signal) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => finish(() => reject(new InfermeshError(Code.CANCELLED, `cancelled while ${what}`)));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadlineMs !== Infinity) {
      timer = setTimeout(() => finish(() => reject(deadlineExceeded(`the deadline passed while ${what}`))), Math.max(0, deadlineMs - Date.now()));
      timer.unref();
    }
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

