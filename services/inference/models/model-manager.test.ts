import { afterEach, describe, expect, it } from 'vitest';
import { Tensor } from 'onnxruntime-node';
import { Code, type InfermeshError } from '../../../shared/errors/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { addOneModel } from '../../../bench/sample-models.js';
import { createModelManager, type ModelManager } from './model-manager.js';

const open: ModelManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** Draws for canary routing, in turn. */
function manager(draws: number[] = []): ModelManager {
  let i = 0;
  const m = createModelManager({ logger: silentLogger, random: () => draws[i++ % Math.max(1, draws.length)] ?? 0 });
  open.push(m);
  return m;
}

const config = { executionThread: 'main' };
const request = () => ({ inputs: { x: new Tensor('float32', new Float32Array([1, 2]), [1, 2]) }, outputNames: [], priority: 0, deadlineMs: Infinity });

function thrown(fn: () => unknown): InfermeshError {
  try {
    fn();
  } catch (err) {
    return err as InfermeshError;
  }
  throw new Error('expected a throw');
}

describe('ModelManager routing', () => {
  it('serves the highest READY version, the default once set, and the canary for the weighted share of draws', async () => {
    const m = manager([0.1, 0.9, 0.29, 0.3]);
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    await m.loadVersion('m', '2', { modelBytes: addOneModel() }, config);
    expect(m.describe('m').version).toBe('2');
    m.setRouting('m', { default: '1', canary: '2', canaryWeight: 30 });
    const picks = [0, 1, 2, 3].map(() => {
      const lease = m.acquire('m');
      lease.release();
      return lease.version.version;
    });
    expect(picks).toEqual(['2', '1', '2', '1']);
    const named = m.acquire('m', '1');
    named.release();
    expect(named.version.version).toBe('1');
    expect(m.routing('m')).toEqual({ default: '1', canary: '2', canaryWeight: 30 });
  });

  it('routes to a default that is not loaded yet with UNAVAILABLE/NOT_FOUND naming it, and rejects a bad routing', async () => {
    const m = manager();
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    m.setRouting('m', { default: '3' });
    const err = thrown(() => m.acquire('m'));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toBe("model 'm' has no version '3' (versions: 1)");
    expect(() => m.setRouting('m', { canary: '2', canaryWeight: 101 })).toThrow(/canaryWeight must be 0-100/);
    expect(m.routing('m')).toEqual({ default: '3' });
    expect(thrown(() => m.acquire('other')).code).toBe(Code.NOT_FOUND);
  });
});

describe('ModelManager leases and swaps', () => {
  it('counts leases in flight, stamps last use, and a swap keeps the old executor serving its lease until released', async () => {
    const m = manager();
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    const before = Date.now();
    const lease = m.acquire('m', '1');
    const old = lease.version.executor;
    expect(m.list()).toMatchObject([{ model: 'm', version: '1', state: 'READY', inFlight: 1 }]);
    expect(m.list()[0]!.lastUsedMs).toBeGreaterThanOrEqual(before);
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    // New requests get the new executor; the lease's old one still runs.
    expect(m.describe('m', '1').executor).not.toBe(old);
    expect(m.list()[0]!.inFlight).toBe(0);
    const out = await old.execute(request());
    expect(Array.from(out.outputs.y!.data as Float32Array)).toEqual([2, 3]);
    lease.release();
    lease.release();
    await m.unloadVersion('m', '1');
    await expect(old.execute(request())).rejects.toThrow(/unloading/);
    expect(thrown(() => m.acquire('m', '1')).code).toBe(Code.NOT_FOUND);
  });

  it('keeps the old version serving when its replacement fails, and records a failed first load as UNAVAILABLE', async () => {
    const m = manager();
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    await expect(m.loadVersion('m', '1', { modelBytes: new Uint8Array([1, 2, 3]) }, config)).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(m.list()).toMatchObject([{ version: '1', state: 'READY', reason: '' }]);
    await expect(m.loadVersion('m', '2', { modelPath: '/nonexistent/model.onnx' }, config)).rejects.toThrow(/cannot read \/nonexistent\/model.onnx/);
    expect(m.list()[1]).toMatchObject({ version: '2', state: 'UNAVAILABLE' });
    expect(m.describe('m').version).toBe('1');
  });

  it('close waits for the lease in flight, then takes no more loads', async () => {
    const m = manager();
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    const lease = m.acquire('m', '1');
    let closed = false;
    const closing = m.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    lease.release();
    await closing;
    await expect(m.loadVersion('m', '2', { modelBytes: addOneModel() }, config)).rejects.toThrow(/closed/);
  });

  it('statistics add the executions of a swapped-out executor to the live one', async () => {
    const m = manager();
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    await m.describe('m', '1').executor.execute(request());
    await m.loadVersion('m', '1', { modelBytes: addOneModel() }, config);
    await m.describe('m', '1').executor.execute(request());
    // The old executor had no lease: it is retired at once; unloading another model waits on nothing of it, so poll its fold-in.
    await expect.poll(() => m.statistics('m', '1')[0]!.executionCount).toBe(2);
    expect(m.statistics('m').length).toBe(1);
    expect(thrown(() => m.statistics('m', '9')).code).toBe(Code.NOT_FOUND);
  });
});
