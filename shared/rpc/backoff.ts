/**
 * One backoff for every retry loop in the mesh: the registry follower, the outbox publisher,
 * the NATS link, the clients' retries of idempotent calls. Exponential with a cap and optional
 * jitter; `reset()` after a success starts the next failure run from `initialDelayMs` again.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { resolveOptions } from '../options/index.js';

export interface BackoffOptions {
  /** First pause after a failure, in ms. Default: 250. */
  initialDelayMs?: number;
  /** The pause never grows past this, in ms. Default: 5000. */
  maxDelayMs?: number;
  /** Each failure multiplies the pause by this. Default: 2. */
  multiplier?: number;
  /** Each pause is drawn from [delay × (1 − jitter), delay]; 0 = none. Default: 0. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialDelayMs: 250,
  maxDelayMs: 5000,
  multiplier: 2,
  jitter: 0,
});

/** Resolves the options once, with a clear error for a bad value. */
export function resolveBackoffOptions(options: BackoffOptions = {}): Required<BackoffOptions> {
  const o = resolveOptions(DEFAULT_BACKOFF, options);
  if (!(Number.isFinite(o.initialDelayMs) && o.initialDelayMs >= 0)) throw new RangeError(`backoff initialDelayMs must be a number >= 0, got ${o.initialDelayMs}`);
  if (!(Number.isFinite(o.maxDelayMs) && o.maxDelayMs >= o.initialDelayMs)) throw new RangeError(`backoff maxDelayMs must be >= initialDelayMs (${o.initialDelayMs}), got ${o.maxDelayMs}`);
  if (!(Number.isFinite(o.multiplier) && o.multiplier >= 1)) throw new RangeError(`backoff multiplier must be >= 1, got ${o.multiplier}`);
  if (!(Number.isFinite(o.jitter) && o.jitter >= 0 && o.jitter <= 1)) throw new RangeError(`backoff jitter must be from 0 to 1, got ${o.jitter}`);
  return o;
}

/** The pauses of one failure run: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  readonly #o: Required<BackoffOptions>;
  #delayMs: number;

  constructor(options: BackoffOptions = {}) {
    this.#o = resolveBackoffOptions(options);
    this.#delayMs = this.#o.initialDelayMs;
  }

  /** The pause to wait now, in ms; the one after it grows by `multiplier` up to `maxDelayMs`. */
  next(): number {
    const base = this.#delayMs;
    this.#delayMs = Math.min(base * this.#o.multiplier, this.#o.maxDelayMs);
    return this.#o.jitter === 0 ? base : base * (1 - this.#o.jitter * Math.random());
  }

  /** Starts the next failure run from `initialDelayMs`. */
  reset(): void {
    this.#delayMs = this.#o.initialDelayMs;
  }

  /** Waits `next()` ms, or less when `signal` aborts (never rejects). */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(this.next(), signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. The timer does not keep the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return delay(ms, undefined, { signal, ref: false }).catch(() => undefined);
}
