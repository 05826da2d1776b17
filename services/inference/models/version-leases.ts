import type { LoadedVersion } from './version-loader.js';

/** A version held for one request; `release()` once the request is answered (idempotent). */
export interface VersionLease {
  readonly version: LoadedVersion;
  release(): void;
}

/**
 * A loaded version and the requests holding it. A swapped-out or unloaded
 * version is closed only once {@link whenIdle} resolves, so requests in flight
 * finish on the executor they started on.
 */
export class ServedVersion {
  readonly loaded: LoadedVersion;
  #leases = 0;
  #onIdle: (() => void) | undefined;

  constructor(loaded: LoadedVersion) {
    this.loaded = loaded;
  }

  /** Requests holding it now. */
  get leases(): number {
    return this.#leases;
  }

  /** Holds it for one request until the lease's `release()`. */
  lease(): VersionLease {
    this.#leases++;
    return new Lease(this);
  }

  /** A lease's release (once per lease: Lease makes sure). */
  releaseOne(): void {
    if (--this.#leases === 0) this.#onIdle?.();
  }

  /** Resolves once no lease is held (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.#leases === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.#onIdle;
      this.#onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }
}

/** One request's hold on a ServedVersion: one object per request (no closure). */
class Lease implements VersionLease {
  readonly version: LoadedVersion;
  #served: ServedVersion | undefined;

  constructor(served: ServedVersion) {
    this.version = served.loaded;
    this.#served = served;
  }

  release(): void {
    const served = this.#served;
    if (!served) return;
    this.#served = undefined;
    served.releaseOne();
  }
}
