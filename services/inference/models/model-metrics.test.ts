import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ModelsLoadedGauge } from './model-metrics.js';

async function values(gauge: Gauge<'device'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await gauge.get()).values) out[String(v.labels.device)] = v.value;
  return out;
}

describe('ModelsLoadedGauge', () => {
  it('counts READY versions per device, a version once per device however many instances it has there', async () => {
    const gauge = new Gauge({ name: 'models_loaded', help: 'test', labelNames: ['device'], registers: [new Registry()] });
    const g = new ModelsLoadedGauge(gauge);
    g.update([['cpu', 'cpu'], ['cpu', 'cuda:0']]);
    expect(await values(gauge)).toEqual({ cpu: 2, 'cuda:0': 1 });
  });

  it('drops a device it has shown to 0 when its last version goes', async () => {
    const gauge = new Gauge({ name: 'models_loaded', help: 'test', labelNames: ['device'], registers: [new Registry()] });
    const g = new ModelsLoadedGauge(gauge);
    g.update([['cuda:0'], ['cpu']]);
    g.update([['cpu']]);
    expect(await values(gauge)).toEqual({ cpu: 1, 'cuda:0': 0 });
  });

  it('does nothing without a gauge', () => {
    expect(() => new ModelsLoadedGauge(undefined).update([['cpu']])).not.toThrow();
  });
});
