// The inference node's REST front door (Open Inference Protocol over HTTP, with
// Triton's binary tensor extension), in-process on port 0 beside its gRPC
// server: every answer is compared with the gRPC answer for the same input.
import { readFile, rm } from 'node:fs/promises';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { DATATYPES, PACKAGED_MODELS, packagedModelPath, type Datatype } from '../../shared/onnx/index.js';
import { ATTR_MODEL_NAME, createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { encodeRawTensor, tensorDataFromValues } from '../../shared/tensor/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildMlpModel, buildSlowModel, identityModelName, standardTestModels, writeTestRepository } from '../fixtures/models.js';
import { DATATYPE_VALUES } from '../fixtures/datatype-values.js';
import { binaryBody, rawConnection, rest, type RestReply } from '../helpers/rest.js';

const VALUES = DATATYPE_VALUES;

/** One element as JSON text: 64-bit integers beyond 2^53 as decimal strings (JSON numbers lose their digits), -0 as -0.0. */
function jsonElement(v: number | bigint | boolean | string): string {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? v.toString() : `"${v}"`;
  if (typeof v === 'number' && v === 0 && 1 / v < 0) return '-0.0';
  return JSON.stringify(v);
}
/** `data` nested by the shape [2, 3] (row-major), or flat. */
const jsonData = (values: readonly (number | bigint | boolean | string)[], nested: boolean) =>
  nested ? `[[${values.slice(0, 3).map(jsonElement).join(',')}],[${values.slice(3).map(jsonElement).join(',')}]]` : `[${values.map(jsonElement).join(',')}]`;

/** The raw bytes of JSON output `data` read from the response text (exact for 64-bit integers and -0). */
function bytesOfJsonData(datatype: Datatype, dataText: string): Buffer {
  if (datatype === 'BYTES') return encodeRawTensor(JSON.parse(dataText) as string[]);
  const tokens = dataText.slice(1, -1).split(',');
  const values = tokens.map((t) => (datatype === 'BOOL' ? t === 'true' : datatype === 'INT64' || datatype === 'UINT64' ? BigInt(t) : Number(t)));
  return encodeRawTensor(tensorDataFromValues(datatype, values));
}
/** The `data` text of output `index` in a response's JSON text. */
function dataTextOf(reply: RestReply, index = 0): string {
  const all = [...reply.text.matchAll(/"data":(\[[^\]]*\])/g)];
  return all[index]![1]!;
}

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let repo: string;
let node: InferenceNode;
let client: InferenceClient;
let http: string;

beforeAll(async () => {
  telemetry = await createTelemetry({ serviceName: 'inference', exporter, defaultMetrics: false });
  repo = await writeTestRepository({
    ...standardTestModels(),
    // A batch goes when it holds 2 rows (or after 2 s): a gRPC and a REST request share one.
    pair: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 2, maxQueueDelayUs: 2_000_000 } },
    slow: { versions: { '1': buildSlowModel() } },
    // One request may wait while one runs: the third in flight finds the queue full.
    'tiny-queue': { versions: { '1': buildSlowModel() }, config: { maxQueueSize: 1 } },
    'ocr-cls': { versions: { '1': await readFile(packagedModelPath(PACKAGED_MODELS.ocrClassifier)) } },
  });
  node = await startInferenceNode({ repositoryDir: repo, httpPort: 0, modelControl: 'explicit', logger: silentLogger, telemetry: { tracer: telemetry.tracer, metrics: telemetry.metrics.inference } });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
  http = node.httpAddress!;
}, 120_000);

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  await telemetry?.shutdown();
  if (repo) await rm(repo, { recursive: true, force: true });
});

const infer = (model: string, body: unknown, headers?: Record<string, string>) => rest(http, 'POST', `/v2/models/${model}/infer`, body, headers);

describe('every datatype, compared bit for bit with the gRPC answer', () => {
  describe.each(DATATYPES)('%s', (datatype) => {
    const modelName = identityModelName(datatype);
    const raw = encodeRawTensor(tensorDataFromValues(datatype, VALUES[datatype]));
    let grpcBytes: Buffer;
    beforeAll(async () => {
      const response = await client.modelInfer(buildInferRequest({ modelName, inputs: [{ name: 'input', datatype, shape: [2, 3], data: VALUES[datatype] }] }));
      grpcBytes = Buffer.from(response.rawOutputContents[0]!);
      expect(grpcBytes.equals(raw)).toBe(true);
    });

    it.skipIf(datatype === 'FP16')('JSON in (nested and flat data), JSON and binary out, echoing id', async () => {
      for (const nested of [true, false]) {
        const text = `{"id":"json-${datatype}","inputs":[{"name":"input","shape":[2,3],"datatype":"${datatype}","data":${jsonData(VALUES[datatype], nested)}}]}`;
        const asJson = await infer(modelName, text);
        expect(asJson.status, asJson.text).toBe(200);
        expect(asJson.json).toMatchObject({ model_name: modelName, model_version: '1', id: `json-${datatype}` });
        expect(asJson.json.outputs[0]).toMatchObject({ name: 'output', datatype, shape: [2, 3] });
        expect(bytesOfJsonData(datatype, dataTextOf(asJson)).equals(grpcBytes)).toBe(true);

        const withBinary = text.replace(/}$/, `,"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`);
        const asBinary = await infer(modelName, withBinary);
        expect(asBinary.status, asBinary.text).toBe(200);
        expect(asBinary.headers.get('content-type')).toBe('application/octet-stream');
        expect(asBinary.json.outputs[0].parameters.binary_data_size).toBe(grpcBytes.byteLength);
        expect(asBinary.json.outputs[0].data).toBeUndefined();
        expect(asBinary.binary.equals(grpcBytes)).toBe(true);
      }
    });

    it('binary in, binary and JSON out', async () => {
      const { body, headers } = binaryBody(
        { id: `bin-${datatype}`, inputs: [{ name: 'input', shape: [2, 3], datatype, parameters: { binary_data_size: raw.byteLength } }], parameters: { binary_data_output: true } },
        [raw],
      );
      const asBinary = await infer(modelName, body, headers);
      expect(asBinary.status, asBinary.text).toBe(200);
      expect(asBinary.json.id).toBe(`bin-${datatype}`);
      expect(asBinary.binary.equals(grpcBytes)).toBe(true);
      const jsonOut = binaryBody({ inputs: [{ name: 'input', shape: [2, 3], datatype, parameters: { binary_data_size: raw.byteLength } }] }, [raw]);
      const asJson = await infer(modelName, jsonOut.body, jsonOut.headers);
      if (datatype === 'FP16') {
        expect(asJson.status).toBe(400);
        expect(asJson.json.error).toMatch(/output 'output' is FP16, which has no JSON form; request it in binary/);
      } else {
        expect(asJson.status, asJson.text).toBe(200);
        expect(asJson.headers.get('inference-header-content-length')).toBeNull();
        expect(bytesOfJsonData(datatype, dataTextOf(asJson)).equals(grpcBytes)).toBe(true);
      }
    });
  });

  it('refuses FP16 in JSON, as the protocol says', async () => {
    const reply = await infer(identityModelName('FP16'), { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP16', data: [1, 2, 3] }] });
    expect(reply.status).toBe(400);
    expect(reply.json.error).toMatch(/input 'input': FP16 has no JSON form; send it in binary/);
  });

  it('writes NaN and infinities as the tokens Python and Triton read, and reads them as tokens or strings', async () => {
    const reply = await infer(identityModelName('FP64'), { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP64', data: ['NaN', 'Infinity', '-Infinity'] }] });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(dataTextOf(reply)).toBe('[NaN,Infinity,-Infinity]');
    // Python's json.dumps writes the bare tokens; a string that says NaN stays a string.
    const tokens = await infer(identityModelName('FP32'), '{"id":"NaN Infinity","inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[[NaN,-Infinity,Infinity]]}]}');
    expect(tokens.status, tokens.text.slice(0, 300)).toBe(200);
    expect(tokens.text).toContain('"id":"NaN Infinity"');
    expect(dataTextOf(tokens)).toBe('[NaN,-Infinity,Infinity]');
  });

  it('reads and writes 64-bit integers exactly, as digits', async () => {
    const text = '{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT64","data":[9223372036854775807,-9223372036854775808,9007199254740993]}]}';
    const reply = await infer(identityModelName('INT64'), text);
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(dataTextOf(reply)).toBe('[9223372036854775807,-9223372036854775808,9007199254740993]');
  });
});

describe('models the gRPC tests use', () => {
  it('runs the MLP with nested data, equal to gRPC', async () => {
    const data = [0.1, 0.2, 0.3, 0.4, 1, 2, 3, 4];
    const grpc = await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data }] });
    const reply = await infer('mlp', { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [data.slice(0, 4), data.slice(4)] }] });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.json.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [2, 3] });
    expect(Float32Array.from(reply.json.outputs[0].data as number[])).toEqual(grpc.probabilities!.data);
  });

  it('returns the requested outputs in the requested order, each in JSON or binary as asked', async () => {
    const inputs = [
      { name: 'a', datatype: 'FP32' as const, shape: [2, 5], data: Array.from({ length: 10 }, (_, i) => i) },
      { name: 'b', datatype: 'FP32' as const, shape: [2, 5], data: Array.from({ length: 10 }, () => 2) },
      { name: 'scale', datatype: 'FP32' as const, shape: [1], data: [10] },
    ];
    const grpc = await client.modelInfer(buildInferRequest({ modelName: 'dynamic', inputs, outputs: ['product', 'sum'] }));
    const reply = await infer('dynamic', {
      inputs,
      outputs: [{ name: 'product', parameters: { binary_data: true } }, { name: 'sum' }],
    });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.json.outputs.map((o: { name: string }) => o.name)).toEqual(['product', 'sum']);
    expect(reply.binary.equals(Buffer.from(grpc.rawOutputContents[0]!))).toBe(true);
    expect(bytesOfJsonData('FP32', dataTextOf(reply)).equals(Buffer.from(grpc.rawOutputContents[1]!))).toBe(true);
    const one = await infer('dynamic', { inputs, outputs: [{ name: 'sum' }] });
    expect(one.json.outputs.map((o: { name: string }) => o.name)).toEqual(['sum']);
  });

  it('serves the BYTES model', async () => {
    const reply = await infer('strings', { inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: ['a', 'γάμμα', ''] }] });
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.json.outputs[0]).toMatchObject({ name: 'echo', datatype: 'BYTES', shape: [3], data: ['a', 'γάμμα', ''] });
  });

  it('serves the PP-OCR classifier in binary with the same bits as gRPC, at a version named in the path', async () => {
    const image = new Float32Array(2 * 3 * 48 * 192);
    for (let i = 0; i < image.length; i++) image[i] = ((i * 7919) % 1000) / 1000;
    const meta = await client.modelMetadata('ocr-cls');
    const name = meta.inputs[0]!.name;
    const grpc = await client.modelInfer(buildInferRequest({ modelName: 'ocr-cls', inputs: [{ name, datatype: 'FP32', shape: [2, 3, 48, 192], data: image }] }));
    const raw = Buffer.from(image.buffer);
    const { body, headers } = binaryBody({ inputs: [{ name, shape: [2, 3, 48, 192], datatype: 'FP32', parameters: { binary_data_size: raw.byteLength } }], parameters: { binary_data_output: true } }, [raw]);
    const reply = await rest(http, 'POST', '/v2/models/ocr-cls/versions/1/infer', body, headers);
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    expect(reply.json.outputs[0].shape).toEqual([2, 2]);
    expect(reply.binary.equals(Buffer.from(grpc.rawOutputContents[0]!))).toBe(true);
  });
});

describe('one path with gRPC: batches, statistics, tracing', () => {
  it('a REST and a gRPC request share one batch, and both count in the statistics', async () => {
    const before = (await client.modelStatistics('pair', '1'))[0]!;
    const [grpc, reply] = await Promise.all([
      client.infer({ modelName: 'pair', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
      infer('pair', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] }),
    ]);
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
    const probabilities = grpc.probabilities!.data as Float32Array;
    expect(reply.binary.equals(Buffer.from(probabilities.buffer, probabilities.byteOffset, probabilities.byteLength))).toBe(true);
    const after = (await client.modelStatistics('pair', '1'))[0]!;
    expect(Number(after.inferenceCount) - Number(before.inferenceCount)).toBe(2);
    expect(Number(after.executionCount) - Number(before.executionCount)).toBe(1);
    const stats = await rest(http, 'GET', '/v2/models/pair/versions/1/stats');
    expect(stats.status).toBe(200);
    const s = stats.json.model_stats[0];
    expect(s).toMatchObject({ name: 'pair', version: '1', inference_count: Number(after.inferenceCount), execution_count: Number(after.executionCount) });
    expect(s.inference_stats.success.count).toBe(Number(after.inferenceStats!.success!.count));
    expect(s.batch_stats.find((b: { batch_size: number }) => b.batch_size === 2).compute_infer.count).toBeGreaterThanOrEqual(1);
  });

  it('continues the caller\'s trace, answers its trace id in parameters and headers, and spans the request with HTTP conventions', async () => {
    exporter.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const reply = await infer('mlp', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(reply.status).toBe(200);
    expect(reply.json.parameters.trace_id).toBe(traceId);
    expect(reply.headers.get('x-trace-id')).toBe(traceId);
    expect(reply.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    await telemetry.forceFlush();
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId)!;
    expect(server.name).toBe('POST /v2/models/{model_name}/infer');
    expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v2/models/{model_name}/infer', 'url.path': '/v2/models/mlp/infer', 'http.response.status_code': 200, [ATTR_MODEL_NAME]: 'mlp' });
    expect(exporter.getFinishedSpans().some((s) => s.name === 'queue' && s.spanContext().traceId === traceId)).toBe(true);

    const bad = await infer('mlp', { inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-trace-id')).toBe(traceId);
    await telemetry.forceFlush();
    const failed = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId)[1]!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': 'INVALID_ARGUMENT' });
  });
});

describe('health, metadata, config, repository', () => {
  it('answers the server endpoints', async () => {
    expect((await rest(http, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await rest(http, 'GET', '/v2/health/ready')).status).toBe(200);
    const meta = await rest(http, 'GET', '/v2');
    expect(meta.json).toEqual(expect.objectContaining({ name: 'infermesh', extensions: expect.arrayContaining(['model_repository', 'statistics']) }));
  });

  it('answers model metadata, readiness and config as gRPC does', async () => {
    const grpc = await client.modelMetadata('dynamic');
    const meta = await rest(http, 'GET', '/v2/models/dynamic');
    expect(meta.json).toEqual({
      name: 'dynamic',
      versions: ['1'],
      platform: grpc.platform,
      inputs: grpc.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
      outputs: grpc.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
    });
    expect((await rest(http, 'GET', '/v2/models/dynamic/versions/1')).json).toEqual(meta.json);
    expect((await rest(http, 'GET', '/v2/models/mlp/ready')).status).toBe(200);
    expect((await rest(http, 'GET', '/v2/models/mlp/versions/1/ready')).status).toBe(200);
    const missing = await rest(http, 'GET', '/v2/models/mlp/versions/9/ready');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatch(/model 'mlp' has no version '9'/);
    expect((await rest(http, 'GET', '/v2/models/broken/ready')).status).toBe(503);
    const config = await rest(http, 'GET', '/v2/models/mlp/config');
    expect(config.json).toMatchObject({ name: 'mlp', max_batch_size: 8, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }], dynamic_batching: { default_queue_policy: { max_queue_size: 1024 } } });
    const all = await rest(http, 'GET', '/v2/models/stats');
    expect(all.json.model_stats.some((s: { name: string }) => s.name === 'strings')).toBe(true);
    expect((await rest(http, 'GET', '/v2/models/nope/stats')).status).toBe(404);
  });

  it('lists, unloads and loads through the repository extension, as gRPC does', async () => {
    const index = await rest(http, 'POST', '/v2/repository/index', {});
    expect(index.json).toEqual((await client.repositoryIndex()).map((m) => ({ name: m.name, version: m.version, state: m.state, reason: m.reason })));
    const ready = await rest(http, 'POST', '/v2/repository/index', { ready: true });
    expect(ready.json.every((m: { state: string }) => m.state === 'READY')).toBe(true);
    expect((await rest(http, 'POST', '/v2/repository/models/strings/unload')).status).toBe(200);
    expect(await client.modelReady('strings')).toBe(false);
    const gone = await infer('strings', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }] });
    expect(gone.status).toBe(503);
    expect(gone.json.error).toMatch(/unloaded/);
    const load = await rest(http, 'POST', '/v2/repository/models/strings/load', { parameters: { config: JSON.stringify({ defaultTimeoutMs: 5000 }) } });
    expect(load.status, load.text).toBe(200);
    expect(await client.modelReady('strings')).toBe(true);
    const badConfig = await rest(http, 'POST', '/v2/repository/models/strings/load', { parameters: { config: JSON.stringify({ maxBatchSize: -1 }) } });
    expect(badConfig.status).toBe(400);
    expect(badConfig.json.error).toMatch(/'maxBatchSize' must be an integer >= 0/);
    const missing = await rest(http, 'POST', '/v2/repository/models/missing/load');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatch(/model 'missing' is not in the model repository/);
  });
});

describe('bad input: status, message, and the node keeps serving', () => {
  const mlp = (data: unknown, shape = [1, 4]) => ({ inputs: [{ name: 'x', shape, datatype: 'FP32', data }] });
  /** The node still answers a good request. */
  async function stillServing(): Promise<void> {
    const reply = await infer('mlp', mlp([1, 2, 3, 4]));
    expect(reply.status, reply.text.slice(0, 300)).toBe(200);
  }
  async function expectError(reply: Promise<RestReply>, status: number, message: RegExp): Promise<void> {
    const r = await reply;
    expect(r.status, r.text.slice(0, 300)).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.error).toMatch(message);
    await stillServing();
  }

  it('malformed JSON, and JSON that is not a request', async () => {
    await expectError(infer('mlp', '{"inputs": [{"name": "x",'), 400, /the request body is not valid JSON/);
    await expectError(infer('mlp', '[1,2]'), 400, /must be a JSON object with "inputs"/);
    await expectError(infer('mlp', { inputs: [] }), 400, /'inputs' must be a non-empty array/);
    await expectError(infer('mlp', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] }), 400, /input 'x': 'datatype' must be a KServe datatype/);
    await expectError(infer('mlp', mlp([1, 2, 'three', 4])), 400, /input 'x': element 2 \("three"\) is not a number, as FP32 needs/);
    await expectError(infer(identityModelName('UINT8'), { inputs: [{ name: 'input', shape: [1, 3], datatype: 'UINT8', data: [1, 2, 300] }] }), 400, /input 'input': element 2 \(300\) is out of range for UINT8/);
    await expectError(infer(identityModelName('INT64'), '{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT64","data":[1,2,1e17]}]}'), 400, /element 2 \(100000000000000000\) is beyond 2\^53.*decimal string/);
    await expectError(infer(identityModelName('INT64'), '{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT64","data":[1,2,9223372036854775808]}]}'), 400, /element 2 \(9223372036854775808\) is out of range for INT64/);
  });

  it('the same messages as gRPC for tensors that do not fit the model', async () => {
    await expectError(infer('mlp', mlp([1, 2, 3, 4, 5], [1, 5])), 400, /input 'x': dimension 1 must be 4, got 5/);
    await expectError(infer('mlp', mlp([1, 2, 3], [1, 4])), 400, /input 'x': shape \[1,4\] needs 4 element\(s\), got 3/);
    await expectError(infer('mlp', { inputs: [{ name: 'y', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), 400, /unexpected input 'y': the model's inputs are 'x' \(FP32 \[-1,4\]\)/);
    await expectError(infer('mlp', { ...mlp([1, 2, 3, 4]), outputs: [{ name: 'logits' }] }), 400, /unknown output 'logits'/);
  });

  it('wrong Inference-Header-Content-Length, binary parts shorter or longer than declared, sizes that do not fit the shape', async () => {
    const raw = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
    const json = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] };
    const ok = binaryBody(json, [raw]);
    await expectError(infer('mlp', ok.body, { ...ok.headers, 'inference-header-content-length': String(ok.body.byteLength + 1) }), 400, /Inference-Header-Content-Length is \d+ but the body has only \d+ byte/);
    await expectError(infer('mlp', ok.body, { ...ok.headers, 'inference-header-content-length': 'twelve' }), 400, /Inference-Header-Content-Length must be a whole number of bytes, got 'twelve'/);
    await expectError(infer('mlp', ok.body, { ...ok.headers, 'inference-header-content-length': '10' }), 400, /the first 10 byte\(s\), as Inference-Header-Content-Length says\) is not valid JSON/);
    const short = binaryBody(json, [raw.subarray(0, 8)]);
    await expectError(infer('mlp', short.body, short.headers), 400, /input 'x': 'binary_data_size' is 16 but only 8 byte\(s\) of binary data remain/);
    const long = binaryBody(json, [raw, Buffer.alloc(4)]);
    await expectError(infer('mlp', long.body, long.headers), 400, /the body has 20 byte\(s\) after its JSON part, but the inputs' 'binary_data_size' add up to 16/);
    const odd = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 15 } }] }, [raw.subarray(0, 15)]);
    await expectError(infer('mlp', odd.body, odd.headers), 400, /input 'x': 15 raw byte\(s\) is not a whole number of FP32 elements/);
    const few = binaryBody({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, [raw.subarray(0, 8)]);
    await expectError(infer('mlp', few.body, few.headers), 400, /input 'x': shape \[1,4\] needs 4 element\(s\), got 2/);
    await expectError(infer('mlp', JSON.stringify(json)), 400, /has 'binary_data_size' but the request has no Inference-Header-Content-Length header/);
  });

  it('unknown model or version is 404, a broken model 503, with the gRPC messages', async () => {
    await expectError(infer('nope', mlp([1, 2, 3, 4])), 404, /model 'nope' is not served by this node/);
    await expectError(rest(http, 'POST', '/v2/models/mlp/versions/7/infer', mlp([1, 2, 3, 4])), 404, /model 'mlp' has no version '7'/);
    await expectError(rest(http, 'GET', '/v2/models/nope'), 404, /nope/);
    await expectError(infer('broken', mlp([1, 2, 3, 4])), 503, /not an ONNX model/);
    await expectError(rest(http, 'GET', '/v2/nothing-here'), 404, /no endpoint at \/v2\/nothing-here/);
    const wrong = await rest(http, 'GET', '/v2/models/mlp/infer');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  const slowRequest = (parameters: object = {}) => {
    const x = Buffer.alloc(2048 * 512 * 4);
    return binaryBody({ parameters, inputs: [{ name: 'x', shape: [2048, 512], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] }, [x]);
  };
  /** Polls (bounded) until `model` holds at least `n` requests in flight (queued or running). */
  async function untilInFlight(model: string, n: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!node.manager.list().some((s) => s.model === model && s.inFlight >= n)) {
      if (Date.now() > deadline) throw new Error(`${model} never had ${n} request(s) in flight`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('a full queue is 429', async () => {
    const first = slowRequest();
    const running = infer('tiny-queue', first.body, first.headers);
    await untilInFlight('tiny-queue', 1);
    const waiting = infer('tiny-queue', first.body, first.headers);
    await untilInFlight('tiny-queue', 2);
    await expectError(infer('tiny-queue', first.body, first.headers), 429, /the model's queue is full \(1 requests waiting\); retry later/);
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);
  });

  it('a deadline from the timeout parameter (µs) that passes in the queue is 504', async () => {
    const first = slowRequest();
    const running = infer('slow', first.body, first.headers);
    // The slow model's one instance is busy once the first request holds it: the next one waits in the queue.
    await untilInFlight('slow', 1);
    const late = slowRequest({ timeout: 50_000 });
    await expectError(infer('slow', late.body, late.headers), 504, /the deadline passed after \d+ ms in the queue/);
    expect((await running).status).toBe(200);
  });

  it('a compressed body is 415', async () => {
    await expectError(infer('mlp', JSON.stringify(mlp([1, 2, 3, 4])), { 'content-encoding': 'gzip' }), 415, /Content-Encoding 'gzip' is not supported/);
  });

  it('a body shorter than its Content-Length (the client ends its side) or longer (garbage after it) is 400', async () => {
    const port = http.split(':')[1];
    const shorter = await rawConnection(http);
    shorter.socket.end(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"inputs": []}`);
    await shorter.closed;
    expect(shorter.received()).toMatch(/^HTTP\/1.1 400/);
    const longer = await rawConnection(http);
    const body = JSON.stringify(mlp([1, 2, 3, 4]));
    longer.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: x:${port}\r\ncontent-length: ${body.length}\r\n\r\n${body}THIS IS NOT HTTP\r\n\r\n`);
    await longer.closed;
    // Node's parser reads on past the declared body at once: the bytes after it are no request, and the connection ends with 400.
    expect(longer.received()).toMatch(/^HTTP\/1.1 400 Bad Request[\s\S]*connection: close[\s\S]*not valid HTTP\/1.1 \(HPE_INVALID_METHOD/);
    await stillServing();
  });
});

describe('model control', () => {
  it('refuses load and unload over REST unless the node runs with --model-control explicit, as gRPC does', async () => {
    const own = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() } } });
    const fixed = await startInferenceNode({ repositoryDir: own, httpPort: 0, logger: silentLogger });
    try {
      for (const verb of ['load', 'unload']) {
        const refused = await rest(fixed.httpAddress!, 'POST', `/v2/repository/models/mlp/${verb}`, {});
        expect(refused.status).toBe(400);
        expect(refused.json.error).toMatch(/disabled.*--model-control explicit/);
      }
      expect(fixed.manager.list().find((s) => s.model === 'mlp')?.state).toBe('READY');
    } finally {
      await fixed.close();
    }
  });
});

describe('draining', () => {
  it('finishes REST requests in flight, refuses new connections, and turns not ready', async () => {
    const own = await writeTestRepository({ slow: { versions: { '1': buildSlowModel() } } });
    const draining = await startInferenceNode({ repositoryDir: own, httpPort: 0, logger: silentLogger });
    try {
      const address = draining.httpAddress!;
      const x = Buffer.alloc(2048 * 512 * 4);
      const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [2048, 512], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] }, [x]);
      const inFlight = rest(address, 'POST', '/v2/models/slow/infer', body, headers);
      const deadline = Date.now() + 30_000;
      while (!draining.manager.list().some((s) => s.inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const closing = draining.close({ drainTimeoutMs: 30_000 });
      expect(draining.http!.ready).toBe(false);
      expect((await inFlight).status).toBe(200);
      await closing;
      await expect(rest(address, 'GET', '/v2/health/live')).rejects.toThrow();
    } finally {
      await draining.close();
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('request bodies in flight, all together', () => {
  it('answers 429 (retry-after) when held bodies would pass the budget, and serves again once they are gone', async () => {
    const own = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } } });
    const small = await startInferenceNode({ repositoryDir: own, httpPort: 0, http: { maxBodyBytes: 1024 * 1024, maxInFlightBodyBytes: 2 * 1024 * 1024 }, logger: silentLogger });
    try {
      const address = small.httpAddress!;
      // Two slow clients each announce a 1 MiB body and send a little of it: the node holds 2 MiB for them.
      const holders = await Promise.all([rawConnection(address), rawConnection(address)]);
      for (const h of holders) h.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\ncontent-length: ${1024 * 1024}\r\n\r\n{"inputs":`);
      const deadline = Date.now() + 10_000;
      let third: RestReply | undefined;
      // Poll until both holders count (their headers were parsed) and the next body no longer fits.
      while (Date.now() < deadline) {
        third = await rest(address, 'POST', '/v2/models/mlp/infer', JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }));
        if (third.status === 429) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(third!.status).toBe(429);
      expect(third!.headers.get('retry-after')).toBe('1');
      expect(third!.json.error).toMatch(/request bodies in flight would pass 2097152 bytes \(--http-max-inflight-body-bytes; 2097152 held now\); retry shortly/);
      for (const h of holders) h.socket.destroy();
      await Promise.all(holders.map((h) => h.closed));
      let after: RestReply | undefined;
      while (Date.now() < deadline) {
        after = await rest(address, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
        if (after.status === 200) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(after!.status).toBe(200);
    } finally {
      await small.close({ drainTimeoutMs: 1000 });
      await rm(own, { recursive: true, force: true });
    }
  });
});
