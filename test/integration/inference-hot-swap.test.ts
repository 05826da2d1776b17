// The model manager's API for a registry follower, through a running server:
// load a version from bytes, route default and canary, swap atomically, unload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { buildOnnxModel } from '../../shared/onnx/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildSlowModel } from '../fixtures/models.js';

/** y = x * k: tells versions apart by their answer. */
const scaleModel = (k: number) =>
  buildOnnxModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['n'] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['n'] }],
    initializers: [{ name: 'k', datatype: 'FP32', dims: [1], values: [k] }],
    nodes: [{ op: 'Mul', inputs: ['x', 'k'], outputs: ['y'] }],
  });

let node: InferenceNode;
let client: InferenceClient;

beforeAll(async () => {
  node = await startInferenceNode({ logger: silentLogger });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
});

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
});

const answer = async (version = '') =>
  (await client.infer({ modelName: 'scale', modelVersion: version, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] })).y!.data[0];

describe('ModelManager while serving', () => {
  it('loads versions from bytes, serves the highest by default, and follows routing', async () => {
    const manager = node.manager;
    await manager.loadVersion('scale', '1', { modelBytes: scaleModel(1) });
    expect(await answer()).toBe(1);
    await manager.loadVersion('scale', '2', { modelBytes: scaleModel(2) }, { maxBatchSize: 0 });
    expect(await answer()).toBe(2);
    expect(await answer('1')).toBe(1);
    expect((await client.modelMetadata('scale')).versions).toEqual(['1', '2']);

    manager.setRouting('scale', { default: '1' });
    expect(await answer()).toBe(1);
    manager.setRouting('scale', { default: '1', canary: '2', canaryWeight: 100 });
    expect(await answer()).toBe(2);
    manager.setRouting('scale', { default: '1', canary: '2', canaryWeight: 0 });
    expect(await answer()).toBe(1);
    expect(() => manager.setRouting('scale', { canary: '2', canaryWeight: 101 })).toThrow(/canaryWeight must be 0-100/);
    manager.setRouting('scale', {});
    expect(manager.list().filter((s) => s.model === 'scale').map((s) => [s.version, s.state])).toEqual([['1', 'READY'], ['2', 'READY']]);
  });

  it('splits traffic by the canary weight', async () => {
    let draws = 0;
    const manager = node.manager;
    manager.setRouting('scale', { default: '1', canary: '2', canaryWeight: 50 });
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      seen.add((await answer()) as number);
      draws++;
    }
    expect(seen).toEqual(new Set([1, 2]));
    expect(draws).toBeLessThan(40);
    manager.setRouting('scale', {});
  });

  it('swaps a version atomically: the call in flight finishes on the old executor, the next one runs on the new', async () => {
    const manager = node.manager;
    await manager.loadVersion('swap', '1', { modelBytes: buildSlowModel(12) });
    const inFlight = client.infer({ modelName: 'swap', inputs: [{ name: 'x', datatype: 'FP32', shape: [1024, 512], data: new Float32Array(1024 * 512).fill(1) }] });
    // Wait (bounded) until the node holds the call, then swap in a model with another signature under the same version.
    const deadline = Date.now() + 10_000;
    while (!manager.list().some((s) => s.model === 'swap' && s.inFlight > 0)) {
      if (Date.now() > deadline) throw new Error('the call never reached the node');
      await new Promise((resolve) => setImmediate(resolve));
    }
    const swapped = manager.loadVersion('swap', '1', { modelBytes: scaleModel(3) });
    const [old] = await Promise.all([inFlight, swapped]);
    expect(old.y!.shape).toEqual([1024, 512]);
    const fresh = await client.infer({ modelName: 'swap', inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: [1, 2] }] });
    expect(Array.from(fresh.y!.data as Float32Array)).toEqual([3, 6]);
  });

  it('unloads a version: requests for it are NOT_FOUND, the others keep serving', async () => {
    const manager = node.manager;
    await manager.unloadVersion('scale', '2');
    await expect(answer('2')).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(await answer()).toBe(1);
  });

  it('keeps the old version serving when a replacement fails to load, and reports why', async () => {
    const manager = node.manager;
    await expect(manager.loadVersion('scale', '1', { modelBytes: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(await answer('1')).toBe(1);
    const fixed = buildOnnxModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [3] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });
    await expect(manager.loadVersion('scale', '5', { modelBytes: fixed }, { maxBatchSize: 4 })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/maxBatchSize 4 needs a dynamic first \(batch\) dimension on every tensor, but 'x' has shape \[3\]/),
    });
    await expect(manager.loadVersion('scale', 'v2', { modelBytes: scaleModel(5) })).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    const five = (await client.repositoryIndex()).find((m) => m.name === 'scale' && m.version === '5');
    expect(five?.state).toBe('UNAVAILABLE');
  });
});
