// The batch throughput curve measured on real ORT sessions at load, and where the node reports it:
// ModelConfig parameters and the infermesh_inference_batch_rows_per_second gauge on /metrics.
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { PACKAGED_MODELS, packagedModelPath } from '../../shared/onnx/index.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { buildMlpModel, writeTestRepository } from '../fixtures/models.js';

let repo: string;
let proc: ServiceProcess;
let client: InferenceClient;

const OCR_SHAPE = [1, 3, 48, 192];

beforeAll(async () => {
  repo = await writeTestRepository({
    // The classifier's height and width are dynamic: a warm-up sample fixes them for the probe.
    'ocr-cls': {
      versions: { '1': await readFile(packagedModelPath(PACKAGED_MODELS.ocrClassifier)) },
      config: { maxBatchSize: 8, executionThread: 'worker', warmup: [{ inputs: { x: { datatype: 'FP32', shape: OCR_SHAPE, data: 'zeros' } } }] },
    },
    mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 16, executionThread: 'main' } },
    plain: { versions: { '1': buildMlpModel() } },
  });
  proc = await spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--metrics-port', '0']);
  client = createInferenceClient(proc.endpoints.grpc!, { timeoutMs: 60_000 });
});

afterAll(async () => {
  client?.close();
  await proc?.stop(5000);
  if (repo) await rm(repo, { recursive: true, force: true });
});

type Curves = { instance: number; device: string; rowsPerSecond: Record<string, number> }[];

async function reported(model: string) {
  const config = await client.modelConfig(model);
  const p = config.parameters;
  return {
    thread: p.execution_thread?.stringValue,
    reason: p.execution_thread_reason?.stringValue,
    curves: p.batch_rows_per_second ? (JSON.parse(p.batch_rows_per_second.stringValue) as Curves) : undefined,
  };
}

/** `infermesh_inference_batch_rows_per_second` samples of one model, by batch size. */
async function gauge(model: string): Promise<Map<number, number>> {
  const text = await (await fetch(`http://${proc.endpoints.metrics}/metrics`)).text();
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^infermesh_inference_batch_rows_per_second\{(.*)\} (\S+)$/.exec(line);
    if (!m || !m[1]!.includes(`model="${model}"`)) continue;
    out.set(Number(/batch_size="(\d+)"/.exec(m[1]!)![1]), Number(m[2]));
  }
  return out;
}

describe('the throughput curve', () => {
  it('is measured at load on the real session and reported in ModelConfig and on /metrics alike', async () => {
    const ocr = await reported('ocr-cls');
    expect(ocr.thread).toBe('worker');
    expect(ocr.reason).toBe('worker: configured');
    expect(ocr.curves).toHaveLength(1);
    const curve = ocr.curves![0]!;
    expect(curve.device).toBe('cpu');
    // Powers of two up to maxBatchSize, ascending, as far as the budget reached (batch 1 always).
    const sizes = Object.keys(curve.rowsPerSecond).map(Number);
    expect(sizes[0]).toBe(1);
    expect([1, 2, 4, 8].slice(0, sizes.length)).toEqual(sizes);
    for (const rate of Object.values(curve.rowsPerSecond)) expect(rate).toBeGreaterThan(0);
    // No request has run yet: the gauge holds the same load-time figures.
    const metrics = await gauge('ocr-cls');
    expect([...metrics.keys()].sort((a, b) => a - b)).toEqual(sizes);
    for (const size of sizes) expect(Math.round(metrics.get(size)!)).toBe(curve.rowsPerSecond[String(size)]);

    const mlp = await reported('mlp');
    expect(mlp.thread).toBe('main');
    expect(Object.keys(mlp.curves![0]!.rowsPerSecond)).toEqual(['1', '2', '4', '8', '16']);
  });

  it('serves correctly on the curve it picks, and reports no curve for a model that does not batch', async () => {
    const data = new Float32Array(3 * 48 * 192).fill(0.25);
    const answers = await Promise.all(Array.from({ length: 12 }, () => client.infer({ modelName: 'ocr-cls', inputs: [{ name: 'x', datatype: 'FP32', shape: OCR_SHAPE, data }] })));
    for (const a of answers) expect(Object.values(a)[0]!.shape).toEqual([1, 2]);
    const stats = await client.modelStatistics('ocr-cls');
    const rows = stats[0]!.batchStats.reduce((n, b) => n + Number(b.batchSize) * Number(b.computeInfer!.count), 0);
    expect(rows).toBe(12);
    for (const b of stats[0]!.batchStats) expect(Number(b.batchSize)).toBeLessThanOrEqual(8);

    const plain = await reported('plain');
    expect(plain.curves).toBeUndefined();
    expect(plain.thread).toMatch(/^(main|worker)$/);
    expect(plain.reason).toMatch(/^auto: /);
  });
});
