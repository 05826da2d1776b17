// A stock KServe/Triton client's view: the proto loaded with raw protobufjs
// (keepCase: snake_case fields, as another language's generated client sees
// them) and a plain grpc-js client built from that definition, none of the
// project's loader options or client code.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { protosDir } from '../../shared/proto/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildMlpModel, buildStringModel, writeTestRepository } from '../fixtures/models.js';

type Plain = Record<string, unknown>;
type UnaryMethod = (request: Plain, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response?: Plain) => void) => void;

let repo: string;
let node: InferenceNode;
let client: grpc.Client & Record<string, UnaryMethod>;

beforeAll(async () => {
  repo = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() } }, strings: { versions: { '1': buildStringModel() } } });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protosDir(), target);
  root.loadSync('inference/grpc_service.proto', { keepCase: true });
  const service = root.lookupService('inference.GRPCInferenceService');
  const definition: Record<string, grpc.MethodDefinition<Plain, Plain>> = {};
  for (const method of service.methodsArray) {
    const req = root.lookupType(method.requestType);
    const res = root.lookupType(method.responseType);
    definition[method.name] = {
      path: `/inference.GRPCInferenceService/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (obj: Plain) => Buffer.from(req.encode(req.fromObject(obj)).finish()),
      requestDeserialize: (buf: Buffer) => req.toObject(req.decode(buf)),
      responseSerialize: (obj: Plain) => Buffer.from(res.encode(res.fromObject(obj)).finish()),
      responseDeserialize: (buf: Buffer) => res.toObject(res.decode(buf), { longs: Number, defaults: true }),
    };
  }
  const Client = grpc.makeGenericClientConstructor(definition, 'GRPCInferenceService');
  client = new Client(node.grpcAddress, grpc.credentials.createInsecure()) as typeof client;
});

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  if (repo) await rm(repo, { recursive: true, force: true });
});

const call = (method: string, request: Plain) =>
  new Promise<Plain>((resolve, reject) =>
    client[method]!(request, { deadline: Date.now() + 30_000 }, (err, response) => (err ? reject(err) : resolve(response!))),
  );

describe('a stock Triton/KServe client (snake_case protobufjs + plain grpc-js)', () => {
  it('calls ModelMetadata', async () => {
    const meta = await call('ModelMetadata', { name: 'mlp' });
    expect(meta.name).toBe('mlp');
    expect(meta.platform).toBe('onnxruntime_onnx');
    expect(meta.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    expect(meta.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
  });

  it('calls RepositoryIndex', async () => {
    const index = await call('RepositoryIndex', { ready: true });
    expect(index.models).toEqual(
      expect.arrayContaining([
        { name: 'mlp', version: '1', state: 'READY', reason: '' },
        { name: 'strings', version: '1', state: 'READY', reason: '' },
      ]),
    );
  });

  it('calls ModelInfer with raw_input_contents and with typed contents', async () => {
    const x = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    const raw = await call('ModelInfer', {
      model_name: 'mlp',
      id: 'stock-1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    expect(raw.id).toBe('stock-1');
    expect(raw.model_version).toBe('1');
    const outputs = raw.outputs as Array<{ name: string; datatype: string; shape: number[] }>;
    expect(outputs).toEqual([expect.objectContaining({ name: 'probabilities', datatype: 'FP32', shape: [1, 3] })]);
    const bytes = (raw.raw_output_contents as Uint8Array[])[0]!;
    const probabilities = new Float32Array(Uint8Array.from(bytes).buffer);
    expect(probabilities[0]! + probabilities[1]! + probabilities[2]!).toBeCloseTo(1, 5);

    const typed = await call('ModelInfer', {
      model_name: 'mlp',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: Array.from(x) } }],
    });
    expect(Buffer.from((typed.raw_output_contents as Uint8Array[])[0]!)).toEqual(Buffer.from(bytes));

    const text = await call('ModelInfer', {
      model_name: 'strings',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('hi'), Buffer.from('')] } }],
      outputs: [{ name: 'echo' }],
    });
    expect([...Buffer.from((text.raw_output_contents as Uint8Array[])[0]!)]).toEqual([2, 0, 0, 0, 104, 105, 0, 0, 0, 0]);
  });

  it('gets the gRPC status codes a Triton client expects', async () => {
    await expect(call('ModelInfer', { model_name: 'nope', inputs: [] })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(call('ModelInfer', { model_name: 'mlp', inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 4] }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/input 'x': expected datatype FP32/),
    });
  });
});
