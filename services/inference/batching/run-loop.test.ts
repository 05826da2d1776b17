import { Tensor } from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Code } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { readOnnxSignature } from '../../../shared/onnx/index.js';
import type { ExecutionRequest } from '../execution/executor.js';
import { CurvePublisher } from './curve-gauges.js';
import { resolveInstanceDevices } from './devices.js';
import { systemClock } from './executor-clock.js';
import { prepareInstances, type PreparedInstances } from './prepare-instances.js';
import { RunLoop, type RunLoopOptions } from './run-loop.js';
import { addOneModel } from '../../../bench/sample-models.js';

const pools: PreparedInstances['pool'][] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** A run loop over one real ORT session of y = x + 1 on the event-loop thread. */
async function runLoop(extra: Partial<RunLoopOptions> = {}): Promise<{ loop: RunLoop; prepared: PreparedInstances }> {
  const modelBytes = addOneModel(2);
  const maxBatchSize = extra.maxBatchSize ?? 8;
  const prepared = await prepareInstances({
    modelBytes, devices: resolveInstanceDevices(undefined), allowCpuFallback: false, setting: 'main', maxBatchSize,
    warmup: [], signature: readOnnxSignature(modelBytes), probeBudgetMs: 0, logger: silentLogger,
  });
  pools.push(prepared.pool);
  const loop = new RunLoop({
    maxBatchSize, maxQueueSize: 16, defaultTimeoutMs: 0, priorityLevels: 1, preferredBatchSizes: [], maxQueueDelayMs: 0, probeBudgetMs: 0, priorityAgingMs: 100,
    slots: prepared.slots, outputNames: prepared.pool.instances[0]!.runner.outputNames, onWorker: false, clock: systemClock, logger: silentLogger,
    instruments: undefined, curves: new CurvePublisher(() => [], undefined, systemClock),
    ...extra,
  });
  return { loop, prepared };
}

const request = (value: number, extra: Partial<ExecutionRequest> = {}): ExecutionRequest => ({
  inputs: { x: new Tensor('float32', Float32Array.from([value, value]), [1, 2]) }, outputNames: [], priority: 0, deadlineMs: Infinity, ...extra,
});

describe('RunLoop', () => {
  it('runs the requests of one event-loop turn as one batch and answers each with its own rows', async () => {
    const { loop } = await runLoop();
    const results = await Promise.all([1, 2, 3].map((v) => loop.execute(request(v))));
    expect(results.map((r) => Array.from(r.outputs.y!.data as Float32Array))).toEqual([[2, 2], [3, 3], [4, 4]]);
    expect(results.map((r) => r.batchSize)).toEqual([3, 3, 3]);
    expect(loop.executionCount).toBe(1);
    expect(loop.batchStatistics()).toMatchObject([{ batchSize: 3, count: 1 }]);
    expect(loop.queueDepth).toBe(0);
    expect(loop.peakConcurrentRuns).toBe(1);
  });

  it('runs each request as sent when the model does not batch', async () => {
    const { loop } = await runLoop({ maxBatchSize: 0 });
    const results = await Promise.all([1, 2].map((v) => loop.execute(request(v))));
    expect(results.map((r) => r.batchSize)).toEqual([1, 1]);
    expect(loop.batchStatistics()).toMatchObject([{ batchSize: 1, count: 2 }]);
  });

  it('drops a request cancelled while it waits, never running it', async () => {
    const { loop, prepared } = await runLoop({ maxQueueDelayMs: 10_000 });
    const controller = new AbortController();
    const waiting = loop.execute(request(1, { signal: controller.signal }));
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(prepared.slots[0]!.executions).toBe(0);
    await loop.drain();
    loop.stop();
  });

  it('drain() runs what is queued without waiting for the window, then refuses new requests', async () => {
    const { loop } = await runLoop({ maxQueueDelayMs: 10_000 });
    const queued = loop.execute(request(1));
    const drained = loop.drain();
    expect(Array.from((await queued).outputs.y!.data as Float32Array)).toEqual([2, 2]);
    await drained;
    loop.stop();
    await expect(loop.execute(request(2))).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });
});
