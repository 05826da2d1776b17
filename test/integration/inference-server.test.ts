// The inference node in-process (real gRPC server on port 0, real ORT sessions),
// called through the project's TypeScript client.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { DATATYPES, type Datatype } from '../../shared/onnx/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { fromFloat16Bits, tensorDataFromValues } from '../../shared/tensor/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildSlowModel, identityModelName, standardTestModels, writeTestRepository } from '../fixtures/models.js';

const VALUES: Record<Datatype, readonly (number | bigint | boolean | string)[]> = {
  BOOL: [true, false, true, false, false, true],
  UINT8: [0, 1, 2, 128, 254, 255],
  UINT16: [0, 1, 2, 300, 65534, 65535],
  UINT32: [0, 1, 2, 70000, 4294967294, 4294967295],
  UINT64: [0n, 1n, 2n, 3n, 2n ** 63n, 2n ** 64n - 1n],
  INT8: [-128, -1, 0, 1, 2, 127],
  INT16: [-32768, -1, 0, 1, 2, 32767],
  INT32: [-(2 ** 31), -1, 0, 1, 2, 2 ** 31 - 1],
  INT64: [-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n],
  FP16: [-2, -0.5, 0, 0.25, 1, 65504],
  FP32: [-1.5, 0, 1e-30, 3.25, 1e30, -0],
  FP64: [-1e300, 0, Math.PI, Math.E, 1e-300, 42],
  BYTES: ['alpha', '', 'γάμμα', 'x'.repeat(1000), '\u{1F600} emoji', 'last'],
};

async function expectError(promise: Promise<unknown>, code: Code, message: RegExp): Promise<InfermeshError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as InfermeshError,
  );
  expect(err).toBeInstanceOf(InfermeshError);
  expect(err.message).toMatch(message);
  expect(Code[err.code]).toBe(Code[code]);
  return err;
}

let repo: string;
let node: InferenceNode;
let client: InferenceClient;

beforeAll(async () => {
  repo = await writeTestRepository({
    ...standardTestModels(),
    slow: { versions: { '1': buildSlowModel() } },
    'bad-config': { versions: { '1': buildSlowModel(1) }, config: { maxBatchSize: 4, colour: 'blue' } },
  });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, modelControl: 'explicit' });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
});

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe('health and metadata', () => {
  it('is live and ready, and names itself', async () => {
    expect(await client.serverLive()).toBe(true);
    expect(await client.serverReady()).toBe(true);
    const meta = await client.serverMetadata();
    expect(meta.name).toBe('infermesh');
    expect(meta.extensions).toContain('model_repository');
  });

  it('reports model readiness per model and version', async () => {
    expect(await client.modelReady('mlp')).toBe(true);
    expect(await client.modelReady('mlp', '1')).toBe(true);
    expect(await client.modelReady('mlp', '9')).toBe(false);
    expect(await client.modelReady('broken')).toBe(false);
    expect(await client.modelReady('nope')).toBe(false);
  });

  it('reads model metadata from the ONNX file, -1 for dynamic dims', async () => {
    const meta = await client.modelMetadata('dynamic');
    expect(meta.name).toBe('dynamic');
    expect(meta.versions).toEqual(['1']);
    expect(meta.platform).toBe('onnxruntime_onnx');
    expect(meta.inputs.map((t) => [t.name, t.datatype, t.shape.map(Number)])).toEqual([
      ['a', 'FP32', [-1, -1]],
      ['b', 'FP32', [-1, -1]],
      ['scale', 'FP32', [1]],
    ]);
    expect(meta.outputs.map((t) => t.name)).toEqual(['sum', 'product']);
    const strings = await client.modelMetadata('strings');
    expect(strings.inputs[0]).toMatchObject({ name: 'text', datatype: 'BYTES' });
  });

  it('answers ModelConfig with batching, tensors and instance groups', async () => {
    const config = await client.modelConfig('mlp');
    expect(config.name).toBe('mlp');
    expect(config.maxBatchSize).toBe(8);
    // With batching on, dims leave out the batch dimension, as Triton's do.
    expect(config.input.map((t) => [t.name, t.dataType, t.dims.map(Number)])).toEqual([['x', 'TYPE_FP32', [4]]]);
    expect(config.output[0]!.dims.map(Number)).toEqual([3]);
    expect(config.instanceGroup).toEqual([expect.objectContaining({ kind: 'KIND_CPU', count: 1 })]);
    expect(config.dynamicBatching?.defaultQueuePolicy?.maxQueueSize).toBe(1024);
    const plain = await client.modelConfig('strings');
    expect(plain.maxBatchSize).toBe(0);
    expect(plain.dynamicBatching).toBeFalsy();
    expect(plain.input[0]!.dataType).toBe('TYPE_STRING');
  });

  it('lists the repository, with the reason for models that cannot load', async () => {
    const index = await client.repositoryIndex();
    const byName = new Map(index.map((m) => [`${m.name}/${m.version}`, m]));
    expect(byName.get('mlp/1')).toMatchObject({ state: 'READY', reason: '' });
    expect(byName.get(`${identityModelName('FP16')}/1`)?.state).toBe('READY');
    expect(byName.get('broken/1')?.state).toBe('UNAVAILABLE');
    expect(byName.get('broken/1')?.reason).toMatch(/not an ONNX model/);
    expect(byName.get('bad-config/')?.state).toBe('UNAVAILABLE');
    expect(byName.get('bad-config/')?.reason).toMatch(/unknown key 'colour'/);
    const ready = await client.repositoryIndex({ ready: true });
    expect(ready.every((m) => m.state === 'READY')).toBe(true);
    expect(ready.some((m) => m.name === 'broken')).toBe(false);
  });
});

describe('ModelInfer over every datatype', () => {
  describe.each(DATATYPES)('%s', (datatype) => {
    const modelName = identityModelName(datatype);
    const expected = Array.from(tensorDataFromValues(datatype, VALUES[datatype]) as ArrayLike<unknown>);

    it('round-trips raw_input_contents, echoing id and version', async () => {
      const response = await client.modelInfer(
        buildInferRequest({ modelName, id: `raw-${datatype}`, inputs: [{ name: 'input', datatype, shape: [2, 3], data: VALUES[datatype] }] }),
      );
      expect(response.id).toBe(`raw-${datatype}`);
      expect(response.modelName).toBe(modelName);
      expect(response.modelVersion).toBe('1');
      expect(response.outputs[0]).toMatchObject({ name: 'output', datatype });
      expect(response.outputs[0]!.shape.map(Number)).toEqual([2, 3]);
      expect(response.rawOutputContents).toHaveLength(1);
      const out = await client.infer({ modelName, inputs: [{ name: 'input', datatype, shape: [2, 3], data: VALUES[datatype] }] });
      expect(Array.from(out.output!.data as ArrayLike<unknown>)).toEqual(expected);
      if (datatype === 'FP16') expect(Array.from(out.output!.data as Uint16Array, fromFloat16Bits)).toEqual([-2, -0.5, 0, 0.25, 1, 65504]);
    });

    it.skipIf(datatype === 'FP16')('round-trips typed contents, equal to the raw answer', async () => {
      const out = await client.infer({ modelName, encoding: 'contents', inputs: [{ name: 'input', datatype, shape: [2, 3], data: VALUES[datatype] }] });
      expect(Array.from(out.output!.data as ArrayLike<unknown>)).toEqual(expected);
    });
  });

  it('rejects FP16 typed contents', async () => {
    await expectError(
      client.modelInfer({ modelName: identityModelName('FP16'), inputs: [{ name: 'input', datatype: 'FP16', shape: [1, 3], contents: { intContents: [1, 2, 3] } }] }),
      Code.INVALID_ARGUMENT,
      /input 'input': FP16 has no typed contents field; send it in raw_input_contents/,
    );
  });

  it('runs the MLP, with dynamic dims, and returns only the requested outputs in the requested order', async () => {
    const mlp = await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [0.1, 0.2, 0.3, 0.4, 1, 2, 3, 4] }] });
    expect(mlp.probabilities!.shape).toEqual([2, 3]);
    const p = mlp.probabilities!.data as Float32Array;
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);

    const inputs = [
      { name: 'a', datatype: 'FP32' as const, shape: [2, 5], data: Array.from({ length: 10 }, (_, i) => i) },
      { name: 'b', datatype: 'FP32' as const, shape: [2, 5], data: Array.from({ length: 10 }, () => 2) },
      { name: 'scale', datatype: 'FP32' as const, shape: [1], data: [10] },
    ];
    const both = await client.modelInfer(buildInferRequest({ modelName: 'dynamic', inputs, outputs: ['product', 'sum'] }));
    expect(both.outputs.map((o) => o.name)).toEqual(['product', 'sum']);
    const one = await client.infer({ modelName: 'dynamic', inputs, outputs: ['sum'] });
    expect(Object.keys(one)).toEqual(['sum']);
    expect(Array.from(one.sum!.data as Float32Array)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 2) * 10));
    const other = await client.infer({ modelName: 'dynamic', inputs: inputs.map((t) => (t.name === 'scale' ? t : { ...t, shape: [5, 2] })) });
    expect(other.product!.shape).toEqual([5, 2]);
  });
});

describe('bad requests', () => {
  const x = (shape: number[], data: number[]) => [{ name: 'x', datatype: 'FP32' as const, shape, data }];

  it('unknown model or version is NOT_FOUND', async () => {
    await expectError(client.infer({ modelName: 'nope', inputs: x([1, 4], [1, 2, 3, 4]) }), Code.NOT_FOUND, /model 'nope' is not served/);
    await expectError(client.infer({ modelName: 'mlp', modelVersion: '7', inputs: x([1, 4], [1, 2, 3, 4]) }), Code.NOT_FOUND, /model 'mlp' has no version '7'/);
    await expectError(client.modelMetadata('nope'), Code.NOT_FOUND, /nope/);
  });

  it('a model that failed to load is UNAVAILABLE with its reason', async () => {
    await expectError(client.infer({ modelName: 'broken', inputs: x([1, 4], [1, 2, 3, 4]) }), Code.UNAVAILABLE, /not an ONNX model/);
  });

  it('names the tensor and what was expected', async () => {
    await expectError(
      client.infer({ modelName: 'mlp', inputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
      Code.INVALID_ARGUMENT,
      /unexpected input 'y': the model's inputs are 'x' \(FP32 \[-1,4\]\)/,
    );
    await expectError(
      client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 4], data: [1, 2, 3, 4] }] }),
      Code.INVALID_ARGUMENT,
      /input 'x': expected datatype FP32, got 'FP64'/,
    );
    await expectError(client.infer({ modelName: 'mlp', inputs: x([1, 5], [1, 2, 3, 4, 5]) }), Code.INVALID_ARGUMENT, /input 'x': dimension 1 must be 4, got 5/);
    await expectError(client.infer({ modelName: 'mlp', inputs: x([4], [1, 2, 3, 4]) }), Code.INVALID_ARGUMENT, /input 'x': expected shape \[-1,4\] \(rank 2\), got \[4\] \(rank 1\)/);
    await expectError(client.infer({ modelName: 'mlp', inputs: x([2, 4], [1, 2, 3, 4]) }), Code.INVALID_ARGUMENT, /input 'x': shape \[2,4\] needs 8 element\(s\), got 4/);
    await expectError(
      client.infer({ modelName: 'mlp', encoding: 'contents', inputs: x([2, 4], [1, 2, 3, 4]) }),
      Code.INVALID_ARGUMENT,
      /input 'x': shape \[2,4\] needs 8 element\(s\), got 4/,
    );
    await expectError(client.infer({ modelName: 'mlp', inputs: x([9, 4], new Array(36).fill(0)) }), Code.INVALID_ARGUMENT, /batch size 9 must be between 1 and the model's maxBatchSize 8/);
    await expectError(
      client.infer({ modelName: 'dynamic', inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 1], data: [1] }] }),
      Code.INVALID_ARGUMENT,
      /missing input 'b' \(FP32 \[-1,-1\]\)/,
    );
    await expectError(client.infer({ modelName: 'mlp', inputs: x([1, 4], [1, 2, 3, 4]), outputs: ['logits'] }), Code.INVALID_ARGUMENT, /unknown output 'logits': the model's outputs are 'probabilities'/);
  });

  it('rejects raw bytes that do not fit, and truncated BYTES frames', async () => {
    await expectError(
      client.modelInfer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], rawInputContents: [Buffer.alloc(15)] }),
      Code.INVALID_ARGUMENT,
      /input 'x': 15 raw byte\(s\) is not a whole number of FP32 elements/,
    );
    await expectError(
      client.modelInfer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1] }], rawInputContents: [Buffer.from([9, 0, 0, 0, 65])] }),
      Code.INVALID_ARGUMENT,
      /input 'text': truncated BYTES element 0/,
    );
    await expectError(
      client.infer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['ok', 'nul\u0000inside'] }] }),
      Code.INVALID_ARGUMENT,
      /input 'text': BYTES element 1 contains a NUL byte/,
    );
    await expectError(
      client.modelInfer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1] }], rawInputContents: [Buffer.from([2, 0, 0, 0, 0xff, 0xfe])] }),
      Code.INVALID_ARGUMENT,
      /input 'text': BYTES element 0 is not valid UTF-8/,
    );
    await expectError(
      client.modelInfer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], rawInputContents: [] }),
      Code.INVALID_ARGUMENT,
      /shape \[1,4\] needs 4 element\(s\), got 0/,
    );
  });

  it('honours client deadlines (DEADLINE_EXCEEDED) and keeps serving', async () => {
    const big = new Float32Array(2048 * 512);
    await expectError(
      client.infer({ modelName: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [2048, 512], data: big }] }, { timeoutMs: 20 }),
      Code.DEADLINE_EXCEEDED,
      /deadline/i,
    );
    expect(await client.serverLive()).toBe(true);
  });

  it('cancels a call when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const call = client.infer({ modelName: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [2048, 512], data: new Float32Array(2048 * 512) }] }, { signal: controller.signal });
    controller.abort();
    await expectError(call, Code.CANCELLED, /cancel/i);
  });
});

describe('ModelStatistics', () => {
  it('counts inferences (batch items) and executions, with durations and batch stats', async () => {
    const before = (await client.modelStatistics('mlp', '1'))[0]!;
    await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data: new Array(12).fill(1) }] });
    await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Array(4).fill(1) }] });
    await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5], data: new Array(5).fill(1) }] }).catch(() => undefined);
    const after = (await client.modelStatistics('mlp', '1'))[0]!;
    expect(Number(after.inferenceCount) - Number(before.inferenceCount)).toBe(4);
    expect(Number(after.executionCount) - Number(before.executionCount)).toBe(2);
    expect(Number(after.inferenceStats!.success!.count) - Number(before.inferenceStats!.success!.count)).toBe(2);
    expect(Number(after.inferenceStats!.fail!.count) - Number(before.inferenceStats!.fail!.count)).toBe(1);
    expect(BigInt(after.inferenceStats!.computeInfer!.ns)).toBeGreaterThan(BigInt(before.inferenceStats!.computeInfer!.ns));
    expect(Number(after.lastInference)).toBeGreaterThan(0);
    const sizes = after.batchStats.map((b) => Number(b.batchSize));
    expect(sizes).toContain(3);
    expect(sizes).toContain(1);
    const all = await client.modelStatistics();
    expect(all.some((s) => s.name === 'strings')).toBe(true);
    await expectError(client.modelStatistics('nope'), Code.NOT_FOUND, /nope/);
  });
});

describe('RepositoryModelLoad / RepositoryModelUnload', () => {
  it('unloads a model, then loads it again with a config override', async () => {
    await client.repositoryModelUnload('strings');
    expect(await client.modelReady('strings')).toBe(false);
    const index = await client.repositoryIndex();
    expect(index.find((m) => m.name === 'strings')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
    await expectError(client.infer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['a'] }] }), Code.UNAVAILABLE, /unloaded/);

    await client.repositoryModelLoad('strings', { config: { defaultTimeoutMs: 5000 } });
    expect(await client.modelReady('strings')).toBe(true);
    const out = await client.infer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['a', 'bc'] }] });
    expect(out.echo!.data).toEqual(['a', 'bc']);
    expect((await client.modelConfig('strings')).dynamicBatching).toBeFalsy();
  });

  it('answers NOT_FOUND for a model not in the repository, and the reason for one that cannot load', async () => {
    await expectError(client.repositoryModelLoad('missing'), Code.NOT_FOUND, /model 'missing' is not in the model repository/);
    await expectError(client.repositoryModelLoad('strings', { config: { maxBatchSize: -1 } }), Code.INVALID_ARGUMENT, /'maxBatchSize' must be an integer >= 0/);
    await expectError(client.repositoryModelLoad('broken'), Code.UNAVAILABLE, /not an ONNX model/);
    await expectError(client.repositoryModelUnload('missing'), Code.NOT_FOUND, /missing/);
  });
});
