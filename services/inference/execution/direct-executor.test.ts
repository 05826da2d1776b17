import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { buildOnnxModel } from '../../../shared/onnx/index.js';
import { parseModelConfig } from '../models/model-config.js';
import { createPinnedSession } from './session-options.js';
import { DirectExecutor } from './direct-executor.js';

const model = buildOnnxModel({
  inputs: [{ name: 'x', datatype: 'FP32', shape: ['n', 2] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: ['n', 2] }],
  nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['y'] }],
});

const executors: DirectExecutor[] = [];
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
});

async function executor(maxBatchSize = 4): Promise<DirectExecutor> {
  const pinned = await createPinnedSession({ modelBytes: model }, 'cpu', parseModelConfig({}));
  const e = new DirectExecutor({ session: pinned.session, device: pinned.device, maxBatchSize, logger: silentLogger });
  executors.push(e);
  return e;
}

const request = (rows: number, extra: Partial<{ deadlineMs: number; signal: AbortSignal }> = {}) => ({
  inputs: { x: new ort.Tensor('float32', Float32Array.from({ length: rows * 2 }, (_, i) => i), [rows, 2]) },
  outputNames: ['y'],
  priority: 0,
  deadlineMs: Infinity,
  ...extra,
});

describe('DirectExecutor', () => {
  it('runs a request and keeps execution and batch statistics', async () => {
    const e = await executor();
    const result = await e.execute(request(3));
    expect(Array.from(result.outputs.y!.data as Float32Array)).toEqual([-0, -1, -2, -3, -4, -5]);
    expect(result.batchSize).toBe(1);
    expect(result.timings.computeInferNs).toBeGreaterThan(0n);
    await e.execute(request(1));
    expect(e.executionCount()).toBe(2);
    expect(e.batchStatistics().map((s) => [s.batchSize, s.count])).toEqual([[1, 1], [3, 1]]);
    expect(e.devices).toEqual(['cpu']);
  });

  it('refuses a request whose deadline passed or whose signal aborted, without running it', async () => {
    const e = await executor();
    await expect(e.execute(request(1, { deadlineMs: Date.now() - 1 }))).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    await expect(e.execute(request(1, { signal: AbortSignal.abort() }))).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(e.executionCount()).toBe(0);
  });

  it('close() lets the run in flight finish, then refuses new requests (idempotent)', async () => {
    const e = await executor();
    const inFlight = e.execute(request(2));
    const closing = e.close();
    expect(e.close()).toBe(closing);
    expect((await inFlight).outputs.y!.dims).toEqual([2, 2]);
    await closing;
    await expect(e.execute(request(1))).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });

  it('refuses a CUDA device without fallback, and falls back to CPU with a note when allowed', async () => {
    await expect(createPinnedSession({ modelBytes: model }, 'cuda:0', parseModelConfig({}))).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    const pinned = await createPinnedSession({ modelBytes: model }, 'cuda:0', parseModelConfig({ allowCpuFallback: true }));
    expect(pinned.device).toBe('cpu');
    expect(pinned.notes[0]).toMatch(/cuda:0 unavailable: .*fell back to cpu/);
    await pinned.session.release();
    await expect(createPinnedSession({ modelBytes: model }, 'tpu', parseModelConfig({}))).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });
});
