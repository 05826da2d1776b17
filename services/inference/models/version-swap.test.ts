import { describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-node';
import { silentLogger } from '../../../shared/logging/index.js';
import { addOneModel } from '../../../bench/sample-models.js';
import { loadModelVersion } from './version-loader.js';
import { ServedVersion } from './version-leases.js';
import { VersionStatistics } from './version-statistics.js';
import { VersionRetirement } from './version-swap.js';
import { createModelExecutor } from '../execution/index.js';

const context = { logger: silentLogger, telemetry: undefined, createExecutor: createModelExecutor };

describe('VersionRetirement', () => {
  it('closes a retired executor only after its last lease is released, and keeps its counts in the version statistics', async () => {
    const stats = new VersionStatistics();
    const served = new ServedVersion(await loadModelVersion(context, 'm', '1', { modelBytes: addOneModel(2) }, { executionThread: 'main' }, stats));
    const executor = served.loaded.executor;
    const lease = served.lease();
    await executor.execute({ inputs: { x: new Tensor('float32', new Float32Array([1, 2]), [1, 2]) }, outputNames: [], priority: 0, deadlineMs: Infinity });
    const retirement = new VersionRetirement(silentLogger);
    let closed = false;
    const done = retirement.retire(served, stats).then(() => (closed = true));
    expect(retirement.pending).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    // Still open: a request in flight on the retired version finishes on it.
    const out = await executor.execute({ inputs: { x: new Tensor('float32', new Float32Array([5, 6]), [1, 2]) }, outputNames: [], priority: 0, deadlineMs: Infinity });
    expect(Array.from(out.outputs.y!.data as Float32Array)).toEqual([6, 7]);
    lease.release();
    await done;
    await retirement.settled();
    expect(closed).toBe(true);
    expect(retirement.pending).toBe(0);
    expect(stats.retiredExecutions).toBe(2);
    await expect(executor.execute({ inputs: { x: new Tensor('float32', new Float32Array([1, 2]), [1, 2]) }, outputNames: [], priority: 0, deadlineMs: Infinity })).rejects.toThrow(/unloading/);
  });

  it('settled() resolves at once with nothing retiring', async () => {
    await expect(new VersionRetirement(silentLogger).settled()).resolves.toBeUndefined();
  });
});
