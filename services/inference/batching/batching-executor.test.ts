import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-node';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import type { ExecutionRequest, ExecutionResult } from '../execution/executor.js';
import { createBatchingExecutor, type BatchingConfig, type BatchingExecutor, type Clock } from './batching-executor.js';
import { addOneModel, mlpModel, stringIdentityModel } from '../../../bench/sample-models.js';
import { PACKAGED_MODELS, packagedModelPath } from '../../../shared/onnx/index.js';

const open: BatchingExecutor[] = [];
/** Every behaviour is checked with sessions on worker threads (the default) and on the event-loop thread. */
let sessionThread: 'worker' | 'main' = 'worker';
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function executor(config: BatchingConfig, extra: { modelBytes?: Uint8Array; clock?: Clock; priorityAgingMs?: number; cpuCount?: number } = {}) {
  const e = await createBatchingExecutor({ modelBytes: extra.modelBytes ?? addOneModel(), config, logger: silentLogger, sessionThread, ...extra });
  open.push(e);
  return e;
}

/** A request whose x is `rows` rows of `width` values, all equal to `value` + row index. */
function request(value: number, opts: { rows?: number; width?: number; priority?: number; deadlineMs?: number; signal?: AbortSignal } = {}): ExecutionRequest {
  const rows = opts.rows ?? 1;
  const width = opts.width ?? 4;
  const data = Float32Array.from({ length: rows * width }, (_, i) => value + Math.floor(i / width));
  return {
    inputs: { x: new Tensor('float32', data, [rows, width]) },
    outputNames: ['y'],
    priority: opts.priority ?? 0,
    deadlineMs: opts.deadlineMs ?? Infinity,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

function expectOwnOutput(result: ExecutionResult, value: number, rows = 1, width = 4) {
  const y = result.outputs.y!;
  expect(y.dims).toEqual([rows, width]);
  expect(Array.from(y.data as Float32Array)).toEqual(Array.from({ length: rows * width }, (_, i) => value + Math.floor(i / width) + 1));
}

async function rejection(p: Promise<unknown>): Promise<InfermeshError> {
  const r = await p.then(() => undefined, (err: unknown) => err);
  expect(r).toBeInstanceOf(InfermeshError);
  return r as InfermeshError;
}

describe.each(['worker', 'main'] as const)('sessions on the %s thread', (thread) => {
  beforeAll(() => {
    sessionThread = thread;
  });

  describe('dynamic batching', () => {
    it('forms batches up to maxBatchSize and gives every caller its own slice', async () => {
      const e = await executor({ maxBatchSize: 4 });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => e.execute(request(i * 10))));
      results.forEach((r, i) => expectOwnOutput(r, i * 10));
      expect(e.executionCount()).toBe(3);
      expect(e.batchStatistics().map((s) => [s.batchSize, s.count])).toEqual([[2, 1], [4, 2]]);
      expect(results.map((r) => r.batchSize)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 2, 2]);
      // Slices are views over the batch output, not copies.
      expect((results[1]!.outputs.y!.data as Float32Array).buffer).toBe((results[0]!.outputs.y!.data as Float32Array).buffer);
    });

    it('concatenates requests of several rows and slices them back by row count', async () => {
      const e = await executor({ maxBatchSize: 8 });
      const [a, b, c] = await Promise.all([e.execute(request(100, { rows: 3 })), e.execute(request(200)), e.execute(request(300, { rows: 4 }))]);
      expectOwnOutput(a, 100, 3);
      expectOwnOutput(b, 200, 1);
      expectOwnOutput(c, 300, 4);
      expect(e.executionCount()).toBe(1);
      expect(e.batchStatistics()).toMatchObject([{ batchSize: 8, count: 1 }]);
    });

    it('batches requests with different non-batch dimensions separately', async () => {
      const e = await executor({ maxBatchSize: 8 });
      const rs = await Promise.all([
        e.execute(request(1, { width: 4 })), e.execute(request(2, { width: 3 })), e.execute(request(3, { width: 4 })), e.execute(request(4, { width: 3 })),
      ]);
      expectOwnOutput(rs[0], 1, 1, 4);
      expectOwnOutput(rs[1], 2, 1, 3);
      expectOwnOutput(rs[2], 3, 1, 4);
      expectOwnOutput(rs[3], 4, 1, 3);
      expect(e.executionCount()).toBe(2);
      expect(rs.map((r) => r.batchSize)).toEqual([2, 2, 2, 2]);
    });

    it('waits up to maxQueueDelayUs for a batch to fill, then runs what it has', async () => {
      const e = await executor({ maxBatchSize: 8, maxQueueDelayUs: 80_000 });
      const first = e.execute(request(1));
      // Later arrivals inside the window join the first request's batch.
      await new Promise((r) => setTimeout(r, 10));
      const later = [e.execute(request(2)), e.execute(request(3))];
      const [r1, r2, r3] = await Promise.all([first, ...later]);
      expect(e.executionCount()).toBe(1);
      expect(r1.batchSize).toBe(3);
      expect(Number(r1.timings.queueNs) / 1e6).toBeGreaterThanOrEqual(70);
      expect(Number(r1.timings.queueNs) / 1e6).toBeLessThan(2_000);
      expectOwnOutput(r2!, 2);
      expectOwnOutput(r3!, 3);
    });

    it('dispatches at once when the batch is full or reaches a preferred size, without waiting out the delay', async () => {
      const full = await executor({ maxBatchSize: 2, maxQueueDelayUs: 30_000_000 });
      const t0 = performance.now();
      await Promise.all([full.execute(request(1)), full.execute(request(2))]);
      const preferred = await executor({ maxBatchSize: 8, preferredBatchSizes: [3], maxQueueDelayUs: 30_000_000 });
      const rs = await Promise.all([preferred.execute(request(1)), preferred.execute(request(2)), preferred.execute(request(3))]);
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(full.batchStatistics()).toMatchObject([{ batchSize: 2, count: 1 }]);
      expect(rs.map((r) => r.batchSize)).toEqual([3, 3, 3]);
    });

    it('with maxBatchSize 0 runs every request as sent, one per run', async () => {
      const e = await executor({ maxBatchSize: 0 });
      const rs = await Promise.all([e.execute(request(5, { rows: 3 })), e.execute(request(6, { rows: 2 }))]);
      expectOwnOutput(rs[0], 5, 3);
      expectOwnOutput(rs[1], 6, 2);
      expect(e.executionCount()).toBe(2);
      expect(rs.map((r) => r.batchSize)).toEqual([1, 1]);
      // A lone request runs on its own tensor: the output is ORT's, handed over as is.
      expect(rs[0].timings.computeInferNs).toBeGreaterThan(0n);
    });

    it('batches BYTES tensors as arrays of strings', async () => {
      const e = await executor({ maxBatchSize: 8 }, { modelBytes: stringIdentityModel() });
      const rs = await Promise.all(
        [0, 1, 2].map((i) =>
          e.execute({ inputs: { x: new Tensor('string', [`a${i}`, `b${i}`], [1, 2]) }, outputNames: ['y'], priority: 0, deadlineMs: Infinity }),
        ),
      );
      expect(e.executionCount()).toBe(1);
      rs.forEach((r, i) => {
        expect(r.outputs.y!.dims).toEqual([1, 2]);
        expect(r.outputs.y!.data).toEqual([`a${i}`, `b${i}`]);
      });
    });

    it('rejects a request larger than maxBatchSize with INVALID_ARGUMENT', async () => {
      const e = await executor({ maxBatchSize: 2 });
      const err = await rejection(e.execute(request(1, { rows: 3 })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/batch dimension 3 exceeds the model's maxBatchSize 2/);
    });
  });

  describe('queue policy', () => {
    it('answers RESOURCE_EXHAUSTED at once when the queue is full', async () => {
      const e = await executor({ maxBatchSize: 0, maxQueueSize: 2 });
      const calls = Array.from({ length: 4 }, (_, i) => e.execute(request(i)).then((r) => r, (err: unknown) => err));
      const out = await Promise.all(calls);
      expectOwnOutput(out[0] as ExecutionResult, 0);
      expectOwnOutput(out[1] as ExecutionResult, 1);
      for (const r of out.slice(2)) {
        expect(r).toBeInstanceOf(InfermeshError);
        expect((r as InfermeshError).code).toBe(Code.RESOURCE_EXHAUSTED);
      }
      expect(e.executionCount()).toBe(2);
    });

    it('drops requests whose deadline passes in the queue; they never run', async () => {
      const e = await executor({ maxBatchSize: 8, maxQueueDelayUs: 5_000_000 });
      const t0 = Date.now();
      const err = await rejection(e.execute(request(1, { deadlineMs: Date.now() + 30 })));
      expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(e.queueDepth()).toBe(0);
      expect(e.executionCount()).toBe(0);
      // A deadline already past never enters the queue.
      expect((await rejection(e.execute(request(1, { deadlineMs: Date.now() - 1 })))).code).toBe(Code.DEADLINE_EXCEEDED);
      expect(e.executionCount()).toBe(0);
    });

    it('applies defaultTimeoutMs to requests without a deadline', async () => {
      const e = await executor({ maxBatchSize: 8, maxQueueDelayUs: 5_000_000, defaultTimeoutMs: 20 });
      expect((await rejection(e.execute(request(1)))).code).toBe(Code.DEADLINE_EXCEEDED);
      expect(e.executionCount()).toBe(0);
    });

    it('drops a queued request whose caller aborts, with CANCELLED, and never runs it', async () => {
      const e = await executor({ maxBatchSize: 8, maxQueueDelayUs: 5_000_000 });
      const ac = new AbortController();
      const p = e.execute(request(1, { signal: ac.signal }));
      await new Promise((r) => setImmediate(r));
      expect(e.queueDepth()).toBe(1);
      ac.abort();
      const err = await rejection(p);
      expect(err.code).toBe(Code.CANCELLED);
      expect(e.queueDepth()).toBe(0);
      expect(e.executionCount()).toBe(0);
    });

    it('serves higher priority levels first', async () => {
      const e = await executor({ maxBatchSize: 0, priorityLevels: 3 });
      const order: string[] = [];
      const send = (name: string, priority: number) => e.execute(request(1, { priority })).then(() => order.push(name));
      await Promise.all([send('a0', 0), send('b0', 0), send('c2', 2), send('d1', 1), send('e2', 2)]);
      expect(order).toEqual(['c2', 'e2', 'd1', 'a0', 'b0']);
    });

    it('promotes requests by age so low priorities do not starve', async () => {
      let now = 1_000_000;
      const clock: Clock = { nowMs: () => now };
      const e = await executor({ maxBatchSize: 0, priorityLevels: 3 }, { clock, priorityAgingMs: 100 });
      const order: string[] = [];
      const low = e.execute(request(1, { priority: 0 })).then(() => order.push('old-low'));
      // The low request has waited 1 s (10 aging steps) when the high ones arrive: it goes first.
      now += 1_000;
      const highs = [1, 2].map((i) => e.execute(request(1, { priority: 2 })).then(() => order.push(`high${i}`)));
      await Promise.all([low, ...highs]);
      expect(order).toEqual(['old-low', 'high1', 'high2']);
    });

    it('rejects a priority outside the configured levels', async () => {
      const e = await executor({ maxBatchSize: 0, priorityLevels: 2 });
      const err = await rejection(e.execute(request(1, { priority: 2 })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/priority: expected an integer from 0 to 1/);
    });

    it('close() lets queued requests finish, then refuses new ones with UNAVAILABLE', async () => {
      const e = await createBatchingExecutor({ modelBytes: addOneModel(), config: { maxBatchSize: 4, maxQueueDelayUs: 5_000_000 }, logger: silentLogger, sessionThread });
      const queued = [e.execute(request(1)), e.execute(request(2))];
      const closing = e.close();
      expect((await rejection(e.execute(request(3)))).code).toBe(Code.UNAVAILABLE);
      const rs = await Promise.all(queued);
      expectOwnOutput(rs[1]!, 2);
      await closing;
      await e.close();
    });
  });

  describe('instances', () => {
    it('never runs more batches at once than there are instances, and uses them all', async () => {
      const e = await executor({ maxBatchSize: 0, instances: [{ device: 'cpu', count: 2 }] }, { cpuCount: 4 });
      expect(e.devices).toEqual(['cpu', 'cpu']);
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => e.execute(request(i))));
      rs.forEach((r, i) => expectOwnOutput(r, i));
      expect(e.peakConcurrentRuns()).toBe(2);
      const stats = e.instanceStatistics();
      expect(stats.map((s) => s.executionCount).reduce((a, b) => a + b)).toBe(20);
      for (const s of stats) {
        expect(s.executionCount).toBeGreaterThan(0);
        expect(s.interOpThreads).toBe(1);
      }
      // Threads default so that the CPU instances share the cores: 4 cores / 2 instances on the
      // event-loop thread; on workers one core stays with the event loop, 3 cores / 2 instances.
      expect(stats.map((s) => s.intraOpThreads)).toEqual(thread === 'main' ? [2, 2] : [2, 1]);
    });

    it('a single instance runs one batch at a time', async () => {
      const e = await executor({ maxBatchSize: 2 });
      await Promise.all(Array.from({ length: 9 }, (_, i) => e.execute(request(i))));
      expect(e.peakConcurrentRuns()).toBe(1);
      expect(e.executionCount()).toBe(5);
    });

    it('puts a tiny model on the event-loop thread and a large one on worker threads by default', async () => {
    const tiny = await createBatchingExecutor({ modelBytes: addOneModel(), config: { maxBatchSize: 0 }, logger: silentLogger });
    open.push(tiny);
    expect(tiny.instanceStatistics()[0]!.sessionThread).toBe('main');
    const large = await createBatchingExecutor({ modelPath: packagedModelPath(PACKAGED_MODELS.ocrClassifier), config: { maxBatchSize: 4 }, logger: silentLogger });
    open.push(large);
    expect(large.instanceStatistics()[0]!.sessionThread).toBe('worker');
    const x = new Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]);
    const r = await large.execute({ inputs: { x }, outputNames: [], priority: 0, deadlineMs: Infinity });
    expect(Object.values(r.outputs)[0]!.dims).toEqual([1, 2]);
  });

  it('takes thread counts from the config', async () => {
      const e = await executor({ maxBatchSize: 0, intraOpThreads: 3, interOpThreads: 2 });
      expect(e.instanceStatistics()).toMatchObject([{ intraOpThreads: 3, interOpThreads: 2 }]);
    });

    it('rejects a bad device list before creating sessions', async () => {
      const err = await rejection(executor({ maxBatchSize: 0, instances: [{ device: 'cpu', count: 1 }, { device: 'cpu', count: 1 }] }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/listed twice/);
    });

    const cudaInstalled = existsSync(join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
    describe.skipIf(cudaInstalled)('without the CUDA provider (not installed here)', () => {
      it('fails with UNAVAILABLE naming the reason when CPU fallback is off', async () => {
        const err = await rejection(executor({ maxBatchSize: 0, instances: [{ device: 'cpu', count: 1 }, { device: 'cuda:0', count: 1 }] }));
        expect(err.code).toBe(Code.UNAVAILABLE);
        expect(err.message).toMatch(/cuda:0.*CUDA execution provider cannot be used.*allowCpuFallback/);
      });

      it('falls back to the CPU and says so when allowCpuFallback is on', async () => {
        const e = await executor(
          { maxBatchSize: 4, allowCpuFallback: true, instances: [{ device: 'cpu', count: 1 }, { device: 'cuda:0', count: 2 }] },
          { cpuCount: 6 },
        );
        expect(e.devices).toEqual(['cpu', 'cpu', 'cpu']);
        expect(e.notes.join('\n')).toMatch(/cuda:0: the CUDA execution provider cannot be used.*run on the CPU/);
        // 6 cores over 3 CPU instances; on workers 5 of them (one stays with the event loop).
        expect(e.instanceStatistics().map((s) => s.intraOpThreads)).toEqual(thread === 'main' ? [2, 2, 2] : [2, 2, 1]);
        expectOwnOutput(await e.execute(request(7)), 7);
      });
    });
  });

  describe('warm-up', () => {
    it('runs every warm-up sample on every instance before the executor is ready', async () => {
      const e = await executor({
        maxBatchSize: 4,
        instances: [{ device: 'cpu', count: 2 }],
        warmup: [
          { inputs: { x: { datatype: 'FP32', shape: [1, 4], data: 'zeros' } } },
          { inputs: { x: { datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] } } },
        ],
      });
      expect(e.instanceStatistics().map((s) => s.warmupRuns)).toEqual([2, 2]);
      // Warm-up runs are not request executions.
      expect(e.executionCount()).toBe(0);
    });

    it('fails creation when a warm-up sample does not fit the model, naming it', async () => {
      const err = await rejection(
        executor({ maxBatchSize: 4, warmup: [{ inputs: { x: { datatype: 'FP32', shape: [1, 2, 3], data: 'zeros' } } }] }),
      );
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(/warmup\[0\] failed on instance 0 \(cpu\)/);
      const bad = await rejection(executor({ maxBatchSize: 4, warmup: [{ inputs: { x: { datatype: 'FP32', shape: [1, 4], data: [1] } } }] }));
      expect(bad.message).toMatch(/warmup\[0\]\.inputs\.x: expected 'zeros' or 4 element/);
    });
  });
});

describe('the throughput curve', () => {
  const fixed = () => mlpModel({ inputWidth: 4, hiddenWidth: 8, layers: 1, outputWidth: 4 });
  const mlpRequest = (rows = 1): ExecutionRequest => ({
    inputs: { x: new Tensor('float32', new Float32Array(rows * 4).fill(0.5), [rows, 4]) }, outputNames: [], priority: 0, deadlineMs: Infinity,
  });

  it('is measured at load at the powers of two up to maxBatchSize, and updated from the batches served', async () => {
    const published = new Map<number, number>();
    const instruments = { tracer: undefined, spanAttributes: {}, recordBatch: () => {}, setQueueDepth: () => {}, setBatchRowsPerSecond: (s: number, r: number) => published.set(s, r) };
    const e = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 12 }, logger: silentLogger, instruments });
    open.push(e);
    const [curve] = e.profile().curves;
    expect(curve!.points.map((p) => [p.batchSize, p.source])).toEqual([[1, 'probe'], [2, 'probe'], [4, 'probe'], [8, 'probe'], [12, 'probe']]);
    expect(e.instanceStatistics()[0]!.probeRuns).toBeGreaterThanOrEqual(10);
    // The gauge gets the load-time figures at once.
    expect([...published.keys()].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 12]);
    expect(published.get(4)).toBe(curve!.points[2]!.rowsPerSecond);
    // A request of 3 rows runs alone as sent: size 3 joins the curve from that run.
    await e.execute(mlpRequest(3));
    const three = e.profile().curves[0]!.points.find((p) => p.batchSize === 3);
    expect(three).toMatchObject({ source: 'runs', runs: 1 });
    const before = e.profile().curves[0]!.points.find((p) => p.batchSize === 1)!;
    for (let i = 0; i < 3; i++) await e.execute(mlpRequest(1));
    expect(e.profile().curves[0]!.points.find((p) => p.batchSize === 1)).toMatchObject({ source: 'runs', runs: before.runs + 3 });
  });

  it('is measured on the first request when no warm-up sample fixes the dynamic dimensions', async () => {
    // add_one's width is dynamic: nothing to shape a probe with until a request shows it.
    const e = await createBatchingExecutor({ modelBytes: addOneModel(), config: { maxBatchSize: 4 }, logger: silentLogger });
    open.push(e);
    expect(e.profile().curves[0]!.points).toEqual([]);
    expectOwnOutput(await e.execute(request(1, { width: 6 })), 1, 1, 6);
    expect(e.profile().curves[0]!.points.filter((p) => p.source === 'probe').map((p) => p.batchSize)).toEqual([2, 4]);
    expect(e.instanceStatistics()[0]!.probeRuns).toBeGreaterThan(0);
  });

  it('is not measured with curveProbeBudgetMs 0 (then batches are as large as fit) and not at all without batching', async () => {
    const off = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 8, curveProbeBudgetMs: 0 }, logger: silentLogger, sessionThread: 'main' });
    open.push(off);
    expect(off.profile().curves[0]!.points).toEqual([]);
    const rs = await Promise.all(Array.from({ length: 12 }, () => off.execute(mlpRequest())));
    expect(rs.map((r) => r.batchSize)).toEqual([8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4]);
    const unbatched = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 0 }, logger: silentLogger, sessionThread: 'main' });
    open.push(unbatched);
    expect(unbatched.profile().curves).toEqual([]);
  });
});

describe('where the sessions run', () => {
  const fixed = () => mlpModel({ inputWidth: 4, hiddenWidth: 8, layers: 1, outputWidth: 4 });

  it('honours executionThread from the config and says it was configured', async () => {
    for (const thread of ['main', 'worker'] as const) {
      const e = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 4, executionThread: thread }, logger: silentLogger });
      open.push(e);
      expect(e.threadDecision).toEqual({ thread, setting: thread, reason: 'configured' });
      expect(e.instanceStatistics()[0]!.sessionThread).toBe(thread);
      expect(e.profile().executionThread).toEqual({ thread, setting: thread, reason: 'configured' });
    }
    await expect(createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 4, executionThread: 'gpu' as never }, logger: silentLogger })).rejects.toThrow(
      /executionThread: expected 'auto', 'main' or 'worker', got "gpu"/,
    );
  });

  it('auto measures a run against a hand-off to a worker and reports what it decided and why', async () => {
    const e = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 8 }, logger: silentLogger, cpuCount: 2 });
    open.push(e);
    const d = e.threadDecision;
    expect(d.setting).toBe('auto');
    expect(d.runUs).toBeGreaterThanOrEqual(0);
    expect(d.handoffUs).toBeGreaterThan(0);
    expect(d.thread).toBe(d.runUs! >= d.handoffUs! ? 'worker' : 'main');
    expect(d.reason).toMatch(/hand-off to a worker/);
    expect(e.instanceStatistics()[0]!.sessionThread).toBe(d.thread);
    // On one core a worker could not run beside the event loop.
    const one = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 8 }, logger: silentLogger, cpuCount: 1 });
    open.push(one);
    expect(one.threadDecision).toMatchObject({ thread: 'main', setting: 'auto', reason: expect.stringMatching(/one core/) });
  });

  it('keeps ORT from spinning on the event loop\'s core, and leaves it a core on workers', async () => {
    const crowded = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 0, intraOpThreads: 2 }, logger: silentLogger, sessionThread: 'main', cpuCount: 1 });
    open.push(crowded);
    expect(crowded.instanceStatistics()[0]).toMatchObject({ intraOpThreads: 2, spinning: false });
    const roomy = await createBatchingExecutor({ modelBytes: fixed(), config: { maxBatchSize: 0 }, logger: silentLogger, sessionThread: 'worker', cpuCount: 4 });
    open.push(roomy);
    expect(roomy.instanceStatistics()[0]).toMatchObject({ intraOpThreads: 3, spinning: true });
  });
});

describe('dispatch without waiting on itself', () => {
  it('runs a lone request at once when requests arrive further apart than maxQueueDelay', async () => {
    let now = 1_000_000;
    const clock: Clock = { nowMs: () => now };
    const e = await createBatchingExecutor({ modelBytes: addOneModel(), config: { maxBatchSize: 8, maxQueueDelayUs: 10_000_000 }, logger: silentLogger, clock });
    open.push(e);
    // The first request knows no arrival rate: it waits for the 10 s window (of this clock) to pass.
    const first = e.execute(request(1));
    await new Promise((r) => setImmediate(r));
    now += 20_000;
    expectOwnOutput(await first, 1);
    // 40 s after it, the next one: requests come further apart than the window, so it goes at once,
    // though its window is open for as long as this clock stands still.
    now += 20_000;
    expectOwnOutput(await e.execute(request(2)), 2);
    expect(e.executionCount()).toBe(2);
  });
});
