// The bookkeeping both load generators (load-client.ts for gRPC, rest-load.ts
// for REST) share: a closed loop keeps a fixed number of requests in flight,
// counts only those that finish inside the measured window, and, once the
// window closes, waits for what is still in flight before it reports.
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** One closed-loop run: call {@link begin} as a request goes out and {@link finish} when it is answered. */
export class ClosedLoop {
  readonly #recorder = new LatencyRecorder();
  #measuring = false;
  #stopping = false;
  #completed = 0;
  #errors = 0;
  #firstError: string | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;

  /** A request goes out: returns its start time, for {@link finish}. */
  begin(): bigint {
    this.#inFlight++;
    return process.hrtime.bigint();
  }

  /** A request started at `startNs` is answered (`error` when it failed); true while the loop should send another. */
  finish(startNs: bigint, error: string | undefined): boolean {
    this.#inFlight--;
    if (this.#measuring) {
      if (error) {
        this.#errors++;
        this.#firstError ??= error;
      } else {
        this.#completed++;
        this.#recorder.add(Number(process.hrtime.bigint() - startNs) / 1e6);
      }
    }
    if (this.#stopping && this.#inFlight === 0) this.#drained?.();
    return !this.#stopping;
  }

  /** Lets the load warm up for `warmupMs`, measures `windowMs`, then stops and waits (up to 30 s) for the requests in flight. */
  async measure(warmupMs: number, windowMs: number): Promise<{ summary: LatencySummary; firstError?: string }> {
    await new Promise((r) => setTimeout(r, warmupMs));
    this.#measuring = true;
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, windowMs));
    this.#measuring = false;
    const measuredMs = Number(process.hrtime.bigint() - t0) / 1e6;
    this.#stopping = true;
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
      clearTimeout(timer);
    }
    const firstError = this.#firstError;
    return { summary: this.#recorder.summarize(measuredMs, this.#completed, this.#errors), ...(firstError ? { firstError } : {}) };
  }
}
