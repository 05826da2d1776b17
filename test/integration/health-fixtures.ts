// Shared pieces of the model-health tests: a repository with the demo MLP
// recording every request, deterministic traffic, and polling helpers.
import { buildMlpModel, writeTestRepository } from '../fixtures/models.js';
import type { InferenceClient } from '../../shared/client/index.js';
import type { Monitor } from '../../services/monitor/index.js';

/** Deterministic normal samples (Box-Muller over a fixed LCG). */
export function createNormals(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** A repository with `mlp` versions 1 and 2 (the demo MLP), every request recorded. */
export function writeHealthRepository(extra: Parameters<typeof writeTestRepository>[0] = {}): Promise<string> {
  return writeTestRepository({
    mlp: { versions: { '1': buildMlpModel(), '2': buildMlpModel() }, config: { maxBatchSize: 8, records: { sampleRate: 1 } } },
    ...extra,
  });
}

/** The rules the tests run with: judge on 100 rows, fire at once. */
export const TEST_RULES = { default: { drift: { forMs: 0, minSamples: 100 }, accuracy: { forMs: 0, minSamples: 50 } } };

/** Sends `count` single-row requests; `shift` is added to feature x[`feature`]. Resolves with (request id, predicted class) per request. */
export async function sendTraffic(
  client: InferenceClient,
  count: number,
  options: { seed: number; version?: string; shift?: number; feature?: number; idPrefix?: string },
): Promise<Array<{ id: string; predicted: number; version: string }>> {
  const next = createNormals(options.seed);
  const out: Array<{ id: string; predicted: number; version: string }> = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, (_, j) => {
      const x = Array.from({ length: 4 }, (_, f) => next() + (f === (options.feature ?? 2) ? (options.shift ?? 0) : 0));
      const id = options.idPrefix ? `${options.idPrefix}-${i + j}` : undefined;
      return client
        .modelInfer({
          modelName: 'mlp',
          modelVersion: options.version ?? '',
          ...(id ? { id } : {}),
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
          rawInputContents: [Buffer.from(new Float32Array(x).buffer)],
        })
        .then((res) => {
          const raw = res.rawOutputContents[0]!;
          const p = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
          let best = 0;
          for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
          return { id: res.id || res.parameters.request_id!.stringParam!, predicted: best, version: res.modelVersion };
        });
    });
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** Polls `condition` every 50 ms until it holds, failing after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Records the monitor stored for model/version. */
export const storedRecords = (monitor: Monitor, model: string, version: string) => monitor.healthStore.versions(model).find((v) => v.version === version)?.records ?? 0;

/** A sample's value from the monitor's /metrics text, or undefined. */
export async function metricValue(monitor: Monitor, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await monitor.registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue;
    const labelPart = line.slice(name.length).split(' ')[0]!;
    if (want.every((w) => labelPart.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
