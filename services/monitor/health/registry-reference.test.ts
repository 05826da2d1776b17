import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { createHealthEngine } from './health-engine.js';
import { createHealthStore } from './health-store.js';
import type { FetchedReference } from './registry-reference.js';

function record(version: string, id: string, x: number, timeMs: number) {
  return {
    model: 'reg', version, node: '', requestId: id, traceId: '', timeUnixNano: String(BigInt(timeMs) * 1_000_000n), latencyNano: '1000000',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '1'], treatment: 'TENSOR_TREATMENT_VALUES' as const, values: [x], bytesValues: [], hash: '' }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['1', '1'], treatment: 'TENSOR_TREATMENT_VALUES' as const, values: [x], bytesValues: [], hash: '' }],
    droppedInputs: [], task: 'MODEL_TASK_UNSPECIFIED' as const,
  };
}

/** Lets the fetcher's promise settle and the engine take its answer. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("the health engine's registry references", () => {
  it('asks once per version at its first record, makes no first-records reference while the registry is down, retries, and falls back only on "none"', async () => {
    let now = 1_800_000_000_000;
    const store = createHealthStore({ now: () => now });
    const calls: string[] = [];
    let registryUp = false;
    const reference: FetchedReference = { columns: [{ name: 'x', values: Array.from({ length: 50 }, (_, i) => 100 + i), categories: [] }], totalRows: 500 };
    const engine = createHealthEngine({
      store, registry: new Registry(), logger: silentLogger, referenceRecords: 10, windowRecords: 10, referenceRetryMs: 1000, now: () => now,
      referenceFetcher: async (model, version) => {
        calls.push(`${model}/${version}`);
        if (!registryUp) throw new InfermeshError(Code.UNAVAILABLE, 'connection refused');
        return version === '1' ? reference : undefined;
      },
    });
    let seq = 0;
    const ingest = (version: string, n: number) => {
      for (let i = 0; i < n; i++) engine.ingestRecord(record(version, `${version}-${seq}`, i, now) as never, ++seq);
    };
    ingest('1', 20);
    expect(calls).toEqual(['reg/1']);
    await settle();
    await engine.evaluate();
    // The registry did not answer: no reference at all (the first records must not stand in for the registry's).
    expect(engine.health('reg', '1')[0]!.referenceSource).toBe('');
    // Before the retry time nothing is asked again.
    await engine.evaluate();
    expect(calls).toEqual(['reg/1']);

    registryUp = true;
    now += 1001;
    await engine.evaluate();
    expect(calls).toEqual(['reg/1', 'reg/1']);
    await settle();
    await engine.evaluate();
    const [v1] = engine.health('reg', '1');
    expect(v1!.referenceSource).toBe('file');
    expect(v1!.referenceSamples).toBe(500);
    // Records 0..19 against a reference at 100..149: drift.
    expect(v1!.features.find((f) => f.name === 'x')!.psi).toBeGreaterThan(1);

    // Version 2: the registry has none, so its first records make the reference.
    ingest('2', 20);
    await settle();
    await engine.evaluate();
    expect(engine.health('reg', '2')[0]!.referenceSource).toBe('records');
    await engine.evaluate();
    expect(calls).toEqual(['reg/1', 'reg/1', 'reg/2']);
    await engine.close();
    store.close();
  });
});
