import type { CatalogueItem } from '../store/index.js';

/**
 * The item catalogue in memory: ids and labels by dense index, for masks and
 * answers on the hot path without a database read.
 */
export class Catalogue {
  #ids: string[] = [];
  #labels: Record<string, string>[] = [];
  #byId = new Map<string, number>();

  constructor(items: readonly CatalogueItem[]) {
    this.replace(items);
  }

  /** Replaces the whole catalogue (after an upsert). */
  replace(items: readonly CatalogueItem[]): void {
    this.#ids = items.map((i) => i.id);
    this.#labels = items.map((i) => i.labels);
    this.#byId = new Map(items.map((i) => [i.id, i.idx]));
  }

  get size(): number {
    return this.#ids.length;
  }

  idOf(idx: number): string {
    return this.#ids[idx]!;
  }

  indexOf(id: string): number | undefined {
    return this.#byId.get(id);
  }

  /** True when item `idx` carries every key/value of `filter`. */
  matches(idx: number, filter: Readonly<Record<string, string>>): boolean {
    const labels = this.#labels[idx]!;
    for (const key in filter) if (labels[key] !== filter[key]) return false;
    return true;
  }
}
