import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveIalsParams } from '../learning/index.js';
import { openRecommenderStore, type RecommenderStore } from './recommender-store.js';

describe('recommender store', () => {
  const dirs: string[] = [];
  const stores: RecommenderStore[] = [];
  const open = (dir?: string) => {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'rec-store-'));
    if (!dir) dirs.push(d);
    const s = openRecommenderStore(d);
    stores.push(s);
    return { store: s, dir: d };
  };
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('gives items and users dense indices in arrival order, and relabels without reindexing', () => {
    const { store } = open();
    expect(store.upsertItems([{ id: 'a', labels: {} }, { id: 'b', labels: { g: 'x' } }])).toEqual({ created: 2, updated: 0 });
    expect(store.upsertItems([{ id: 'b', labels: { g: 'y' } }, { id: 'c', labels: {} }, { id: 'a', labels: {} }])).toEqual({ created: 1, updated: 1 });
    expect(store.items().map((i) => [i.idx, i.id, i.labels])).toEqual([[0, 'a', {}], [1, 'b', { g: 'y' }], [2, 'c', {}]]);
    store.recordInteractions([
      { eventId: 'e1', userId: 'u9', itemIdx: 2, kind: 'click', weight: 1, timeMs: 10 },
      { eventId: 'e2', userId: 'u3', itemIdx: 0, kind: 'click', weight: 2, timeMs: 11 },
    ]);
    expect([store.userIdx('u9'), store.userIdx('u3'), store.userIdx('nobody')]).toEqual([0, 1, undefined]);
    expect(store.userId(1)).toBe('u3');
  });

  it('records an event id once, keeps history newest first, and snapshots typed columns', () => {
    const { store } = open();
    store.upsertItems([{ id: 'a', labels: {} }, { id: 'b', labels: {} }]);
    const first = store.recordInteractions([
      { eventId: 'e1', userId: 'u', itemIdx: 0, kind: 'view', weight: 1, timeMs: 100 },
      { eventId: 'e2', userId: 'u', itemIdx: 1, kind: 'view', weight: 3, timeMs: 200 },
    ]);
    expect(first).toEqual({ recorded: 2, fresh: [0, 1] });
    const again = store.recordInteractions([
      { eventId: 'e2', userId: 'u', itemIdx: 1, kind: 'view', weight: 3, timeMs: 200 },
      { eventId: 'e3', userId: 'v', itemIdx: 1, kind: 'view', weight: 1, timeMs: 300 },
    ]);
    expect(again).toEqual({ recorded: 1, fresh: [1] });
    expect(store.interactionCount()).toBe(3);
    expect(store.userHistory(0, 10).map((h) => h.itemIdx)).toEqual([1, 0]);
    expect(Array.from(store.itemCounts())).toEqual([1, 2]);
    const snap = store.snapshot();
    expect([snap.users, snap.items]).toEqual([2, 2]);
    // maxSeq is the newest sequence number (an ignored duplicate may leave a gap before it).
    expect(snap.maxSeq).toBe(store.userHistory(1, 1)[0]!.seq);
    expect(Array.from(snap.user)).toEqual([0, 0, 1]);
    expect(Array.from(snap.weight)).toEqual([1, 3, 1]);
  });

  it('keeps models with their factors across a reopen, and returns the newest promoted one', () => {
    const { store, dir } = open();
    const model = (version: number, promoted: boolean) => ({
      version, trainedAtMs: 1000 + version, maxSeq: 7, interactions: 7, users: 2, items: 3, dim: 2,
      params: resolveIalsParams({ dim: 2 }), metrics: { 'ndcg@10': 0.5 }, promoted,
      userFactors: Float32Array.from([1, 2, 3, 4]), itemFactors: Float32Array.from([5, 6, 7, 8, 9, 10 + version]),
    });
    store.saveModel(model(1, true));
    store.saveModel(model(2, false));
    store.close();
    const { store: reopened } = open(dir);
    const m = reopened.latestPromoted()!;
    expect(m.version).toBe(1);
    expect(Array.from(m.itemFactors)).toEqual([5, 6, 7, 8, 9, 11]);
    expect(m.params.dim).toBe(2);
    reopened.setPromoted(2, true);
    expect(reopened.latestPromoted()!.version).toBe(2);
  });
});
