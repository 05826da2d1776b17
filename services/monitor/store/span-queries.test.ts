import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTR_MODEL_NAME, ATTR_MODEL_VERSION } from '../../../shared/telemetry/index.js';
import { createSpanStore, MAX_LIMIT, MAX_TRACE_SPANS, type SpanStore } from './span-store.js';
import type { SpanRecord } from './span-record.js';

const stores: SpanStore[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const MS = 1_000_000n;
let nextId = 1;

function span(traceNo: number, startMs: number, durationMs: number, overrides: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: traceNo.toString(16).padStart(32, '0'),
    spanId: (nextId++).toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: 'op',
    kind: 'SERVER',
    service: 'svc',
    startNs: BigInt(startMs) * MS,
    endNs: BigInt(startMs) * MS + BigInt(Math.round(durationMs * 1e6)),
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

const modelSpan = (traceNo: number, startMs: number, durationMs: number, version: string, error: boolean) =>
  span(traceNo, startMs, durationMs, {
    statusCode: error ? 'ERROR' : 'OK',
    attributes: { [ATTR_MODEL_NAME]: { value: 'mlp', type: 'string' }, [ATTR_MODEL_VERSION]: { value: version, type: 'string' } },
  });

/** What modelOverview reports, computed in JS from the spans themselves (nearest-rank percentiles). */
function expectedOverview(spans: SpanRecord[], version: string, nowMs: number, minutes: number) {
  const startMs = nowMs - minutes * 60_000;
  const mine = spans.filter((s) => s.attributes[ATTR_MODEL_VERSION]?.value === version && Number(s.startNs / MS) >= startMs);
  const durations = mine.map((s) => Number(s.endNs - s.startNs) / 1e6).sort((a, b) => a - b);
  const at = (p: number) => durations[Math.min(durations.length - 1, Math.max(0, Math.ceil(p * durations.length) - 1))];
  const perMinute = new Array<number>(minutes).fill(0);
  for (const s of mine) perMinute[Math.min(minutes - 1, Math.floor((Number(s.startNs / MS) - startMs) / 60_000))]!++;
  return { requests: mine.length, errors: mine.filter((s) => s.statusCode === 'ERROR').length, p50Ms: at(0.5), p99Ms: at(0.99), requestsPerMinute: perMinute };
}

describe('span store reads are bounded', () => {
  it('returns at most MAX_TRACE_SPANS spans of one huge trace, and says it cut it', () => {
    const store = createSpanStore({ pruneIntervalMs: 0 });
    stores.push(store);
    const spans = Array.from({ length: MAX_TRACE_SPANS + 50 }, (_, i) => span(7, 1_000 + i, 1));
    expect(store.insert(spans)).toBe(MAX_TRACE_SPANS + 50);
    const detail = store.getTrace((7).toString(16).padStart(32, '0'))!;
    expect(detail.spans).toHaveLength(MAX_TRACE_SPANS);
    expect(detail.truncated).toBe(true);
    // Oldest first: the cut drops the newest.
    expect(detail.spans[0]!.startNs).toBe(1_000n * MS);
    expect(detail.spans.at(-1)!.startNs).toBe(BigInt(1_000 + MAX_TRACE_SPANS - 1) * MS);
  });

  it('caps a search at MAX_LIMIT traces whatever limit is asked for', () => {
    const store = createSpanStore({ pruneIntervalMs: 0 });
    stores.push(store);
    store.insert(Array.from({ length: MAX_LIMIT + 100 }, (_, i) => span(i + 1, 1_000 + i, 1)));
    const found = store.search({ limit: 50_000 });
    expect(found).toHaveLength(MAX_LIMIT);
    // Newest first.
    expect(found[0]!.traceId).toBe((MAX_LIMIT + 100).toString(16).padStart(32, '0'));
  });

  it('answers a file store on its worker while the loop keeps receiving, with the figures the spans give', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infermesh-span-queries-'));
    dirs.push(dir);
    const nowMs = 100 * 60_000 * 60;
    const store = createSpanStore({ dataDir: dir, pruneIntervalMs: 0, now: () => nowMs });
    stores.push(store);
    // 40,000 inference spans over the last hour, two versions, 1 in 20 an error, durations 1..500 ms.
    const spans = Array.from({ length: 40_000 }, (_, i) =>
      modelSpan(i + 1, nowMs - 60 * 60_000 + Math.floor((i * 3_600_000) / 40_000), 1 + ((i * 7919) % 500), i % 3 === 0 ? '2' : '1', i % 20 === 0),
    );
    for (let i = 0; i < spans.length; i += 5_000) store.insert(spans.slice(i, i + 5_000));

    let ticks = 0;
    let answered = false;
    const query = store.queries.modelOverview(60).finally(() => (answered = true));
    // The loop is free while the worker scans: immediates run and spans are still received.
    while (!answered) {
      await new Promise<void>((r) => setImmediate(r));
      ticks++;
      if (ticks === 1) expect(store.insert([span(999_999, nowMs - 1_000, 1)])).toBe(1);
    }
    expect(ticks).toBeGreaterThan(1);
    const overview = await query;
    expect(overview.map((m) => m.version)).toEqual(['1', '2']);
    for (const m of overview) {
      const want = expectedOverview(spans, m.version, nowMs, 60);
      expect({ requests: m.requests, errors: m.errors, p50Ms: m.p50Ms, p99Ms: m.p99Ms, requestsPerMinute: m.requestsPerMinute }).toEqual(want);
    }
    // The same figures as the synchronous read, and the other reads through the worker too.
    expect(store.modelOverview(60)).toEqual(overview);
    expect(await store.queries.listServices()).toEqual(['svc']);
    expect(await store.queries.listOperations('svc')).toEqual(['op']);
    expect(await store.queries.search({ model: 'mlp', version: '2', limit: 3 })).toEqual(store.search({ model: 'mlp', version: '2', limit: 3 }));
    expect((await store.queries.getTrace(spans[0]!.traceId))!.spans).toHaveLength(1);
    await expect(store.queries.search({ attributes: [{ key: 'a\u0000b', value: 'x' }] })).rejects.toThrow('contains a control character');
  });
});
