import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { parseAlertRules } from './alert-rules.js';
import { createHealthEngine } from './health-engine.js';
import { createHealthStore } from './health-store.js';

/** A classifier record of one row whose scores make `predicted` the argmax. */
function record(version: string, id: string, predicted: number, timeMs: number) {
  const scores = [0.1, 0.1, 0.1];
  scores[predicted] = 0.8;
  return {
    model: 'clf', version, node: '', requestId: id, traceId: '', timeUnixNano: String(BigInt(timeMs) * 1_000_000n), latencyNano: '1000000',
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '2'], treatment: 'TENSOR_TREATMENT_VALUES' as const, values: [predicted, 1], bytesValues: [], hash: '' }],
    outputs: [{ name: 'p', datatype: 'FP32', shape: ['1', '3'], treatment: 'TENSOR_TREATMENT_VALUES' as const, values: scores, bytesValues: [], hash: '' }],
    droppedInputs: [], task: 'MODEL_TASK_UNSPECIFIED' as const,
  };
}

describe('the health engine (store only, no NATS)', () => {
  it('fires accuracy_floor and accuracy_drop against the previous version, and only with enough feedback', async () => {
    let now = 1_800_000_000_000;
    const store = createHealthStore({ now: () => now });
    const rules = parseAlertRules({ default: { accuracy: { floor: 0.7, maxDrop: 0.1, minSamples: 50 }, drift: { minSamples: 1000 } } });
    const engine = createHealthEngine({ store, registry: new Registry(), logger: silentLogger, rules, referenceRecords: 10, now: () => now });
    let seq = 0;
    const label = (version: string, n: number, accuracy: number) => {
      const items = [];
      for (let i = 0; i < n; i++) {
        const id = `${version}-${i}`;
        engine.ingestRecord(record(version, id, i % 3, now) as never, ++seq);
        const right = i % 10 < accuracy * 10;
        items.push({ model: 'clf', requestId: id, traceId: '', truth: 'label' as const, label: String(right ? i % 3 : (i + 1) % 3), timeUnixNano: '0' });
      }
      return engine.submitFeedback(items);
    };
    expect(label('1', 100, 0.9).every((o) => o.code === 0)).toBe(true);
    // Thin window: 40 labelled rows of v2 at 60% fire nothing yet.
    label('2', 40, 0.6);
    await engine.evaluate();
    expect(engine.alerts({ firingOnly: true })).toEqual([]);
    const more = [];
    for (let i = 40; i < 100; i++) {
      const id = `2-${i}`;
      engine.ingestRecord(record('2', id, i % 3, now) as never, ++seq);
      more.push({ model: 'clf', requestId: id, traceId: '', truth: 'label' as const, label: String(i % 10 < 6 ? i % 3 : (i + 1) % 3), timeUnixNano: '0' });
    }
    engine.submitFeedback(more);
    now += 1000;
    await engine.evaluate();
    const firing = engine.alerts({ firingOnly: true });
    expect(firing.map((a) => [a.version, a.rule]).sort()).toEqual([['2', 'accuracy_drop'], ['2', 'accuracy_floor']]);
    const drop = firing.find((a) => a.rule === 'accuracy_drop')!;
    expect(drop.value).toBeCloseTo(0.6, 10);
    expect(drop.evidence.previous_accuracy).toBeCloseTo(0.9, 10);
    expect(drop.evidence.previous_version).toBe(1);
    expect(drop.samples).toBe(100);
    const [v1, v2] = engine.health('clf');
    expect(v1!.quality.accuracy).toBeCloseTo(0.9, 10);
    expect(v2!.quality.accuracy).toBeCloseTo(0.6, 10);
    await engine.close();
    store.close();
  });
});
