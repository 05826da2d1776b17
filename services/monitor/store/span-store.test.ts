import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createMonitorMetrics } from '../../../shared/telemetry/index.js';
import { createSpanStore, type SpanStore } from './span-store.js';
import type { SpanRecord } from './span-record.js';

const stores: SpanStore[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const MS = 1_000_000n;
let nextId = 1;

function span(traceNo: number, startMs: number, overrides: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: traceNo.toString(16).padStart(32, '0'),
    spanId: (nextId++).toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: 'op',
    kind: 'SERVER',
    service: 'svc',
    startNs: BigInt(startMs) * MS,
    endNs: BigInt(startMs + 2) * MS,
    statusCode: 'UNSET',
    statusMessage: '',
    attributes: {},
    events: [],
    links: [],
    resource: { 'service.name': { value: 'svc', type: 'string' } },
    scopeName: 'test',
    ...overrides,
  };
}

describe('span store retention', () => {
  it('prunes whole traces older than the age limit, on demand and by its timer', async () => {
    let now = 10_000_000;
    const registry = new Registry();
    const metrics = createMonitorMetrics(registry);
    const store = createSpanStore({ maxAgeMs: 60_000, now: () => now, metrics, pruneIntervalMs: 20 });
    stores.push(store);
    store.insert([span(1, now - 120_000), span(1, now - 119_000), span(2, now - 30_000), span(3, now - 1000)]);
    expect(store.size().spans).toBe(4);

    expect(store.prune()).toEqual({ age: 2, size: 0 });
    expect(store.getTrace((1).toString(16).padStart(32, '0'))).toBeUndefined();
    expect(store.search({}).map((t) => t.traceId.slice(-1))).toEqual(['3', '2']);

    // Time passes; the unref'd timer prunes trace 2 without being asked.
    now += 45_000;
    const deadline = Date.now() + 5000;
    while (store.size().spans !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(store.search({}).map((t) => t.traceId.slice(-1))).toEqual(['3']);
    expect((await metrics.spansPrunedTotal.get()).values).toContainEqual(expect.objectContaining({ labels: { reason: 'age' }, value: 3 }));
    expect((await metrics.spansStored.get()).values[0]!.value).toBe(1);
  });

  it('drops the oldest traces when over the span limit, down to 90% of it', () => {
    const now = 10_000_000;
    const store = createSpanStore({ maxSpans: 20, now: () => now, pruneIntervalMs: 0 });
    stores.push(store);
    for (let t = 1; t <= 25; t++) store.insert([span(t, now - 1000 + t)]);
    // The 21st span put the store over 20; it pruned to 18 and kept going.
    expect(store.size().spans).toBeLessThanOrEqual(20);
    const kept = store.search({ limit: 100 }).map((t) => parseInt(t.traceId, 16));
    expect(Math.max(...kept)).toBe(25);
    expect(kept).not.toContain(1);
    expect(kept).toEqual([...kept].sort((a, b) => b - a));
  });

  it('drops the oldest traces when over the byte limit', () => {
    const now = 10_000_000;
    const store = createSpanStore({ maxBytes: 20_000, now: () => now, pruneIntervalMs: 0 });
    stores.push(store);
    const blob = { big: { value: 'x'.repeat(1000), type: 'string' as const } };
    for (let t = 1; t <= 40; t++) store.insert([span(t, now - 1000 + t, { attributes: blob })]);
    expect(store.size().bytes).toBeLessThanOrEqual(20_000);
    expect(store.getTrace((40).toString(16).padStart(32, '0'))).toBeDefined();
    expect(store.getTrace((1).toString(16).padStart(32, '0'))).toBeUndefined();
  });

  it('keeps spans on disk across a reopen, ignores duplicates, and keeps the true root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infermesh-spans-'));
    dirs.push(dir);
    const now = Date.now();
    const child = span(7, now + 1, { parentSpanId: 'aaaaaaaaaaaaaaaa', name: 'child', service: 'inner' });
    const root = span(7, now + 5, { spanId: 'aaaaaaaaaaaaaaaa', name: 'root', service: 'outer' });
    const first = createSpanStore({ dataDir: dir, pruneIntervalMs: 0 });
    expect(first.insert([child])).toBe(1);
    // Until the root arrives, the earliest span stands in for it.
    expect(first.search({})[0]).toMatchObject({ rootName: 'child', spanCount: 1 });
    expect(first.insert([root, child])).toBe(1);
    first.close();
    first.close();

    const again = createSpanStore({ dataDir: dir, pruneIntervalMs: 0 });
    stores.push(again);
    expect(again.size().spans).toBe(2);
    expect(again.search({})[0]).toMatchObject({ rootName: 'root', rootService: 'outer', spanCount: 2, durationNs: 6_000_000n, services: ['inner', 'outer'] });
  });
});
