/**
 * Tells waiters that something committed. `generation` grows with every
 * commit; a waiter reads it before looking at the database and then waits for
 * it to move on, so a commit between the look and the wait is never missed.
 */
export class CommitSignal {
  private gen = 0;
  private waiters = new Set<() => void>();

  get generation(): number {
    return this.gen;
  }

  notify(): void {
    this.gen++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves once `generation` differs from `seen`, when `signal` aborts, or after `timeoutMs`. */
  wait(seen: number, signal?: AbortSignal, timeoutMs = Infinity): Promise<void> {
    if (this.gen !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(done, timeoutMs);
        timer.unref();
      }
    });
  }
}
