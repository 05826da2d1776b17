import { createRandom, type Interactions } from '../learning/index.js';
import type { LeaveOneOutCase, Ratings } from './ncf-format.js';

/** The users × items shape that covers every id in the given ratings and cases. */
export function datasetShape(ratings: readonly Ratings[], cases: readonly LeaveOneOutCase[] = []): { users: number; items: number } {
  let users = 0;
  let items = 0;
  for (const r of ratings) {
    for (let k = 0; k < r.user.length; k++) {
      if (r.user[k]! >= users) users = r.user[k]! + 1;
      if (r.item[k]! >= items) items = r.item[k]! + 1;
    }
  }
  for (const c of cases) {
    users = Math.max(users, c.user + 1);
    items = Math.max(items, c.item + 1);
    for (const n of c.negatives) items = Math.max(items, n + 1);
  }
  return { users, items };
}

/** Implicit interactions from NCF ratings: each line is one observed (user, item), value 1. */
export function ratingsToInteractions(r: Ratings, shape: { users: number; items: number }): Interactions {
  return { users: shape.users, items: shape.items, user: r.user, item: r.item };
}

/**
 * Holds out each user's latest interaction (largest timestamp; the later line
 * on ties) as a validation case with `negatives` sampled items the user never
 * interacted with, as the NCF protocol does for its test set. Users with a
 * single interaction keep it in training and get no case.
 */
export function holdOutLatest(train: Ratings, shape: { users: number; items: number }, options: { negatives?: number; seed?: number } = {}): { train: Ratings; cases: LeaveOneOutCase[] } {
  const nNeg = options.negatives ?? 99;
  const rng = createRandom(options.seed ?? 17);
  const latest = new Int32Array(shape.users).fill(-1);
  const count = new Int32Array(shape.users);
  for (let k = 0; k < train.user.length; k++) {
    const u = train.user[k]!;
    count[u]!++;
    const l = latest[u]!;
    if (l < 0 || train.timestamp[k]! >= train.timestamp[l]!) latest[u] = k;
  }
  const held = new Uint8Array(train.user.length);
  const seen: Set<number>[] = Array.from({ length: shape.users }, () => new Set());
  for (let k = 0; k < train.user.length; k++) seen[train.user[k]!]!.add(train.item[k]!);
  const cases: LeaveOneOutCase[] = [];
  for (let u = 0; u < shape.users; u++) {
    if (count[u]! < 2) continue;
    held[latest[u]!] = 1;
    const want = Math.min(nNeg, shape.items - seen[u]!.size);
    const picked = new Set<number>();
    while (picked.size < want) {
      const i = rng.int(shape.items);
      if (!seen[u]!.has(i)) picked.add(i);
    }
    cases.push({ user: u, item: train.item[latest[u]!]!, negatives: Int32Array.from(picked) });
  }
  const keep = (a: Int32Array | Float32Array | Float64Array) => a.filter((_, k) => !held[k]);
  return {
    train: { user: keep(train.user) as Int32Array, item: keep(train.item) as Int32Array, rating: keep(train.rating) as Float32Array, timestamp: keep(train.timestamp) as Float64Array },
    cases,
  };
}
