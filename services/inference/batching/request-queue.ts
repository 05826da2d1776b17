/** What the queue needs to know of an entry. */
export interface QueueEntry {
  /** Priority level, 0 (lowest) .. levels-1 (highest). */
  readonly level: number;
  /** When it was queued, in the executor clock's ms. */
  readonly enqueuedAtMs: number;
  /** True while it waits; the queue skips (and later drops) entries set false. */
  queued: boolean;
}

interface Level<E> {
  items: E[];
  head: number;
}

/**
 * The executor's waiting room: one FIFO per priority level. Service order puts
 * the level whose oldest entry has the highest *effective* priority first, where
 * effective priority = level + floor(wait / agingMs) (ties: the older first).
 * Hence the starvation bound: an entry is never passed by an entry that arrived
 * more than (levels - 1) × agingMs after it, whatever their levels.
 * Removal is lazy (an entry's `queued` flag), so expiring or cancelling is O(1).
 */
export class RequestQueue<E extends QueueEntry> {
  private readonly levels: Level<E>[];
  private live = 0;

  constructor(levelCount: number, private readonly agingMs: number) {
    this.levels = Array.from({ length: levelCount }, () => ({ items: [], head: 0 }));
  }

  /** Entries waiting. */
  get size(): number {
    return this.live;
  }

  push(entry: E): void {
    this.levels[entry.level]!.items.push(entry);
    entry.queued = true;
    this.live++;
  }

  /** Takes an entry out (it is being run, has expired, or was cancelled). Idempotent. */
  remove(entry: E): void {
    if (!entry.queued) return;
    entry.queued = false;
    this.live--;
  }

  /** Waiting entries in service order at `nowMs` (see the class comment). Safe to remove entries while iterating. */
  *ordered(nowMs: number): Generator<E> {
    const heads: { level: Level<E>; rank: number; age: number }[] = [];
    for (let l = this.levels.length - 1; l >= 0; l--) {
      const level = this.levels[l]!;
      this.skipDead(level);
      const head = level.items[level.head];
      if (!head) continue;
      const age = nowMs - head.enqueuedAtMs;
      heads.push({ level, rank: l + Math.floor(Math.max(0, age) / this.agingMs), age });
    }
    if (heads.length > 1) heads.sort((a, b) => b.rank - a.rank || b.age - a.age);
    for (const { level } of heads) {
      for (let i = level.head; i < level.items.length; i++) {
        const e = level.items[i]!;
        if (e.queued) yield e;
      }
    }
  }

  private skipDead(level: Level<E>): void {
    while (level.head < level.items.length && !level.items[level.head]!.queued) level.head++;
    // Reclaim the dead prefix once it is both large and most of the array.
    if (level.head > 256 && level.head * 2 > level.items.length) {
      level.items = level.items.slice(level.head);
      level.head = 0;
    }
  }
}
