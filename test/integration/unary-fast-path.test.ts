// Unary ModelInfer on the node's HTTP/2 fast path (services/inference/server/unary-fast-path.ts),
// driven by a raw HTTP/2 client so that what goes over the wire is what is checked: the answer,
// its headers and trailers, the limits and protocol faults grpc-js would answer the same way,
// and the calls the fast path leaves to grpc-js (compressed requests).
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { buildInferRequest } from '../../shared/client/index.js';
import type { ProtoGrpcType } from '../../shared/generated/grpc_service.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildMlpModel, buildSlowModel, writeTestRepository } from '../fixtures/models.js';

const PATH = '/inference.GRPCInferenceService/ModelInfer';
const STREAM_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';
const service = (loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType).inference.GRPCInferenceService.service;
const MAX_REQUEST_BYTES = 64 * 1024;

let repo: string;
let node: InferenceNode;
let session: ClientHttp2Session;
const lines: string[] = [];

beforeAll(async () => {
  repo = await writeTestRepository({
    mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } },
    slow: { versions: { '1': buildSlowModel() } },
  });
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  node = await startInferenceNode({ repositoryDir: repo, logger, maxRequestBytes: MAX_REQUEST_BYTES });
  session = connect(`http://${node.grpcAddress}`);
});

afterAll(async () => {
  session?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  if (repo) await rm(repo, { recursive: true, force: true });
});

const frame = (message: Buffer, compressed = false) => {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.byteLength, 1);
  message.copy(out, 5);
  return out;
};

const mlpRequest = (rows = 1) =>
  service.ModelInfer.requestSerialize(
    buildInferRequest({ modelName: 'mlp', id: 'fast-1', inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 4], data: new Array(rows * 4).fill(1) }] }),
  );

interface Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** grpc-status and grpc-message, from the trailers or a trailers-only answer. */
  status: number;
  message: string;
}

/** One raw call: `frames` written as they are, then the stream ended. */
function call(frames: Buffer[], extraHeaders: Record<string, string> = {}, path = PATH): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extraHeaders });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      const source = trailers['grpc-status'] !== undefined ? trailers : headers;
      resolve({ headers, trailers, body: Buffer.concat(chunks), status: Number(source['grpc-status']), message: decodeURI(String(source['grpc-message'] ?? '')) });
    });
    for (const f of frames) stream.write(f);
    stream.end();
  });
}

const fastCalls = () => lines.filter((l) => l.includes('"path":"fast"')).length;

/** The gRPC messages of a response body, split by their frame headers. */
function messages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.byteLength; ) {
    const len = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

describe('the unary fast path', () => {
  it('answers ModelInfer with grpc-js\'s headers and trailers and the encoded response', async () => {
    const before = fastCalls();
    const a = await call([frame(mlpRequest(2))]);
    expect(a.status).toBe(Code.OK);
    expect(a.headers[':status']).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc+proto');
    expect(a.headers['grpc-encoding']).toBe('identity');
    expect(a.trailers['grpc-message']).toBe('OK');
    expect(a.body[0]).toBe(0);
    expect(a.body.readUInt32BE(1)).toBe(a.body.byteLength - 5);
    const response = service.ModelInfer.responseDeserialize(a.body.subarray(5));
    expect(response).toMatchObject({ modelName: 'mlp', modelVersion: '1', id: 'fast-1' });
    expect(response.outputs[0]!.shape.map(Number)).toEqual([2, 3]);
    expect(fastCalls()).toBe(before + 1);
  });

  it('leaves a compressed request to grpc-js, which answers it', async () => {
    const before = fastCalls();
    const a = await call([frame(gzipSync(mlpRequest()), true)], { 'grpc-encoding': 'gzip' });
    expect(a.status).toBe(Code.OK);
    expect(service.ModelInfer.responseDeserialize(a.body.subarray(5))).toMatchObject({ modelName: 'mlp', id: 'fast-1' });
    expect(fastCalls()).toBe(before);
  });

  it('refuses a message over the receive limit from its frame header, before it arrives', async () => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_REQUEST_BYTES + 1, 1);
    const a = await call([header]);
    expect(a.status).toBe(Code.RESOURCE_EXHAUSTED);
    expect(a.message).toBe(`Received message larger than max (${MAX_REQUEST_BYTES + 1} vs ${MAX_REQUEST_BYTES})`);
  });

  it('answers the protocol faults as grpc-js does: no message, two messages, a compressed flag without an encoding, a bad grpc-timeout', async () => {
    expect(await call([])).toMatchObject({ status: Code.UNIMPLEMENTED, message: expect.stringMatching(/Received no request message/) });
    expect(await call([frame(mlpRequest()), frame(mlpRequest())])).toMatchObject({ status: Code.UNIMPLEMENTED, message: expect.stringMatching(/second request message/) });
    expect(await call([frame(mlpRequest(), true)])).toMatchObject({ status: Code.INTERNAL, message: expect.stringMatching(/compressed/) });
    expect(await call([frame(mlpRequest())], { 'grpc-timeout': 'soon' })).toMatchObject({ status: Code.INTERNAL, message: 'Invalid grpc-timeout value "soon"' });
  });

  it('answers an undecodable message INVALID_ARGUMENT and a model error with its status', async () => {
    const garbage = await call([frame(Buffer.from([0x0a, 0xff, 0xff]))]);
    expect(garbage.status).toBe(Code.INVALID_ARGUMENT);
    expect(garbage.message).toMatch(/malformed ModelInferRequest/);
    const unknown = service.ModelInfer.requestSerialize(buildInferRequest({ modelName: 'nope', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }));
    expect(await call([frame(unknown)])).toMatchObject({ status: Code.NOT_FOUND, message: expect.stringMatching(/nope/) });
  });

  it('answers DEADLINE_EXCEEDED when grpc-timeout passes first, and keeps serving', async () => {
    const slow = service.ModelInfer.requestSerialize(
      buildInferRequest({ modelName: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [2048, 512], data: new Float32Array(2048 * 512) }] }),
    );
    // Over the receive limit for this node? 4 MiB of input: sent to a node with a larger limit below.
    expect(slow.byteLength).toBeGreaterThan(MAX_REQUEST_BYTES);
    const big = await startInferenceNode({ repositoryDir: repo, logger: createLogger({ level: 'error', write: () => {} }) });
    const s = connect(`http://${big.grpcAddress}`);
    try {
      const a = await new Promise<Answer>((resolve, reject) => {
        const stream = s.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '20m' });
        let headers: IncomingHttpHeaders = {};
        stream.on('response', (h) => (headers = h));
        stream.on('data', () => {});
        stream.on('error', reject);
        stream.on('end', () => resolve({ headers, trailers: {}, body: Buffer.alloc(0), status: Number(headers['grpc-status']), message: decodeURI(String(headers['grpc-message'])) }));
        stream.end(frame(slow));
      });
      expect(a).toMatchObject({ status: Code.DEADLINE_EXCEEDED, message: 'Deadline exceeded' });
    } finally {
      s.close();
      await big.close({ drainTimeoutMs: 5000 });
    }
    expect((await call([frame(mlpRequest())])).status).toBe(Code.OK);
  });
});

describe('ModelStreamInfer on the fast path', () => {
  const streamRequest = (id: string) =>
    service.ModelInfer.requestSerialize(buildInferRequest({ modelName: 'mlp', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }));

  it('answers every request however the frames are cut (several in one write, one across writes), then ends OK', async () => {
    const a = frame(streamRequest('a'));
    const b = frame(streamRequest('b'));
    const c = frame(streamRequest('c'));
    const before = fastCalls();
    const answer = await call([Buffer.concat([a, b]), c.subarray(0, 3), c.subarray(3, 9), c.subarray(9)], {}, STREAM_PATH);
    expect(answer.status).toBe(Code.OK);
    expect(answer.headers['content-type']).toBe('application/grpc+proto');
    const ids = messages(answer.body).map((m) => service.ModelStreamInfer.responseDeserialize(m).inferResponse!.id).sort();
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(fastCalls()).toBe(before + 1);
  });

  it('answers an undecodable message on the stream and goes on; ends RESOURCE_EXHAUSTED on a frame over the limit', async () => {
    const answer = await call([frame(Buffer.from([0x1a, 0x05, 0x61])), frame(streamRequest('after'))], {}, STREAM_PATH);
    expect(answer.status).toBe(Code.OK);
    const replies = messages(answer.body).map((m) => service.ModelStreamInfer.responseDeserialize(m));
    expect(replies).toHaveLength(2);
    expect(replies.find((r) => r.errorMessage)?.errorMessage).toMatch(/malformed ModelInferRequest/);
    expect(replies.find((r) => !r.errorMessage)?.inferResponse?.id).toBe('after');

    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_REQUEST_BYTES + 1, 1);
    const over = await call([frame(streamRequest('first')), header], {}, STREAM_PATH);
    expect(over.status).toBe(Code.RESOURCE_EXHAUSTED);
    expect(over.message).toBe(`Received message larger than max (${MAX_REQUEST_BYTES + 1} vs ${MAX_REQUEST_BYTES})`);
  });
});
