/**
 * When the executor looks at its queue again: on the next setImmediate (so
 * every request read in one event-loop turn can join a batch; ORT defers its
 * run to setImmediate anyway), or at a time, with one unref'd timer for the
 * whole queue (and setImmediate below a millisecond, timers being coarser).
 */
export class PumpScheduler {
  readonly #pump: () => void;
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #wakeAtMs = Infinity;

  /** `pump` runs at each wake-up; it is called with nothing scheduled. */
  constructor(pump: () => void) {
    this.#pump = pump;
  }

  /** Pumps on the next setImmediate (once, however often it is asked). */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#onImmediate);
  }

  /** Pumps at `atMs` (clock ms; `nowMs` is now), unless a wake-up is already due by then. */
  wakeAt(atMs: number, nowMs: number): void {
    if (atMs >= this.#wakeAtMs) return;
    this.cancel();
    const inMs = atMs - nowMs;
    if (inMs < 1) {
      this.schedule();
      return;
    }
    this.#wakeAtMs = atMs;
    this.#timer = setTimeout(this.#onTimer, Math.floor(inMs));
    this.#timer.unref();
  }

  /** Drops the pending timed wake-up (a scheduled setImmediate still runs). */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAtMs = Infinity;
  }

  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.#pump();
  };

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#wakeAtMs = Infinity;
    this.#pump();
  };
}
