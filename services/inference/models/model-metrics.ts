import type { Gauge } from 'prom-client';

/**
 * `infermesh_models_loaded{device}`: READY versions with an instance on each
 * device. A device that has shown a count stays on the gauge and drops to 0
 * when its last version goes.
 */
export class ModelsLoadedGauge {
  readonly #gauge: Gauge<'device'> | undefined;
  /** Devices the gauge has shown, so one that empties drops to 0. */
  readonly #shown = new Set<string>();

  /** `gauge` undefined: no metrics, {@link update} does nothing. */
  constructor(gauge: Gauge<'device'> | undefined) {
    this.#gauge = gauge;
  }

  /** Sets the gauge from the devices of every READY version (one list per version; a device counts once per version). */
  update(readyVersionDevices: Iterable<readonly string[]>): void {
    const gauge = this.#gauge;
    if (!gauge) return;
    const counts = new Map<string, number>([...this.#shown].map((d) => [d, 0]));
    for (const devices of readyVersionDevices) {
      for (const device of new Set(devices)) counts.set(device, (counts.get(device) ?? 0) + 1);
    }
    for (const [device, n] of counts) {
      this.#shown.add(device);
      gauge.set({ device }, n);
    }
  }
}
