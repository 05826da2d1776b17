// Hostile clients against a node in its own process (`infermesh serve`): each
// input that used to stall, bloat or kill the node is refused before it
// allocates, answered, and leaves the node serving. Memory is read from
// /proc/<pid>/status of the node process.
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { rm } from 'node:fs/promises';
import { Client, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../shared/errors/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import type { ProtoGrpcType } from '../../shared/generated/grpc_service.js';
import type { ModelInferRequest } from '../../shared/generated/inference/ModelInferRequest.js';
import type { ModelStreamInferResponse__Output } from '../../shared/generated/inference/ModelStreamInferResponse.js';
import { createInferenceServer, createModelManager, startInferenceNode } from '../../services/inference/index.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { buildIdentityModel, buildMlpModel, buildStringModel, writeTestRepository } from '../fixtures/models.js';

const INFER = '/inference.GRPCInferenceService/ModelInfer';
const STREAM = '/inference.GRPCInferenceService/ModelStreamInfer';
const service = (loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType).inference.GRPCInferenceService.service;
const encodeRequest = (m: ModelInferRequest) => service.ModelInfer.requestSerialize(m);
const decodeStreamResponse = (b: Buffer) => service.ModelStreamInfer.responseDeserialize(b);
const pass = (b: Buffer) => b;
const MiB = 1024 * 1024;

let repo: string;
let node: ServiceProcess;
let client: InferenceClient;
/** A client that sends and receives bytes as they are (no codec): what a hostile client writes. */
let raw: Client;

beforeAll(async () => {
  repo = await writeTestRepository({
    mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } },
    strings: { versions: { '1': buildStringModel() } },
    identity_fp32: { versions: { '1': buildIdentityModel('FP32') } },
  });
  node = await spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--model-control', 'explicit']);
  client = createInferenceClient(node.endpoints.grpc!, { timeoutMs: 60_000 });
  raw = new Client(node.endpoints.grpc!, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
}, 60_000);

afterAll(async () => {
  raw?.close();
  client?.close();
  await node?.stop(5000);
  if (repo) await rm(repo, { recursive: true, force: true });
});

/** The node's resident and peak resident memory, in bytes. */
function memory(): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${node.child.pid}/status`, 'utf8');
  const kb = (key: string) => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(key)) ?? '')?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS:'), peak: kb('VmHWM:') };
}

function unaryRaw(message: Buffer): Promise<{ code: number; details: string; body?: Buffer }> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(INFER, pass, pass, message, { deadline: Date.now() + 60_000 }, (err: ServiceError | null, body?: Buffer) =>
      resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', ...(body ? { body } : {}) }),
    );
  });
}

const mlpRequest = (id: string) => encodeRequest(buildInferRequest({ modelName: 'mlp', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] }));

async function expectServing(): Promise<void> {
  const out = await client.infer({ modelName: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });
  expect(out.probabilities!.shape).toEqual([1, 3]);
}

/** Deterministic PRNG (mulberry32) for the fuzz run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('hostile inputs', () => {
  it('refuses the BYTES bomb (millions of empty elements) on the count, before allocating', async () => {
    const before = memory();
    // 10 million empty elements: 40 MB on the wire, which used to take the node past 1.8 GB.
    const bomb = encodeRequest({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [10_000_000] }], rawInputContents: [Buffer.alloc(40_000_000)] });
    const answer = await unaryRaw(bomb);
    expect(answer.code).toBe(Code.INVALID_ARGUMENT);
    expect(answer.details).toMatch(/input 'text': the request holds more than 1048576 BYTES elements/);
    // The message itself is received and held (40 MB, a copy or two in grpc-js); nothing is built from its count.
    expect(memory().peak - before.peak).toBeLessThan(250 * MiB);
    await expectServing();
  });

  it('refuses a request over the receive limit (64 MiB by default) with RESOURCE_EXHAUSTED', async () => {
    const big = encodeRequest({ modelName: 'identity_fp32', inputs: [{ name: 'input', datatype: 'FP32', shape: [5_600_000, 3] }], rawInputContents: [Buffer.alloc(5_600_000 * 12)] });
    const answer = await unaryRaw(big);
    expect(answer.code).toBe(Code.RESOURCE_EXHAUSTED);
    await expectServing();
  });

  it('refuses the warm-up bomb (a 60M-element BYTES zeros warm-up) when parsing the config, and the old version serves on', async () => {
    const before = memory();
    const config = { warmup: [{ inputs: { text: { datatype: 'BYTES', shape: [60_000_000], data: 'zeros' } } }] };
    await expect(client.repositoryModelLoad('strings', { config })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/warmup\[0\]\.inputs\.text\.shape' \[60000000\] holds 60000000 BYTES element\(s\).*warm-up inputs may hold 268435456 bytes/),
    });
    expect(memory().peak - before.peak).toBeLessThan(100 * MiB);
    const echo = await client.infer({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['still here'] }] });
    expect(echo.echo!.data).toEqual(['still here']);
  });

  it('reports a load whose new config fails, and keeps serving the old version', async () => {
    await expect(client.repositoryModelLoad('mlp', { config: { maxBatchSize: 8, instances: [{ device: 'tpu:0' }] } })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/model 'mlp' version 1 failed to load: .*tpu:0.*; version\(s\) 1 keep serving as before/),
    });
    await expectServing();
    expect((await client.repositoryIndex()).find((m) => m.name === 'mlp')?.state).toBe('READY');
  });

  it('refuses a load of model \'\' instead of adding a phantom model', async () => {
    await expect(client.repositoryModelLoad('')).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT, message: expect.stringMatching(/needs a model name/) });
    expect((await client.repositoryIndex()).map((m) => m.name)).not.toContain('');
  });

  it('answers a malformed unary request with INVALID_ARGUMENT naming what was wrong', async () => {
    const answer = await unaryRaw(Buffer.from([0x0a, 0x10, 0x6d]));
    expect(answer.code).toBe(Code.INVALID_ARGUMENT);
    expect(answer.details).toMatch(/malformed ModelInferRequest: a length of 16 byte\(s\) runs past the end/);
  });

  it('answers a garbage frame mid-stream on the stream, keeps the answer before it, and goes on', async () => {
    const call: ClientDuplexStream<Buffer, Buffer> = raw.makeBidiStreamRequest(STREAM, pass, pass);
    const answers: ModelStreamInferResponse__Output[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (b: Buffer) => answers.push(decodeStreamResponse(b)));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write(mlpRequest('good-1'));
    call.write(Buffer.concat([Buffer.from([0x0a, 0x03]), Buffer.from('mlp'), Buffer.from([0x1a, 0x03]), Buffer.from('bad'), Buffer.from([0xff])]));
    call.write(mlpRequest('good-2'));
    call.end();
    await ended;
    expect(answers).toHaveLength(3);
    const byId = new Map(answers.map((a) => [a.inferResponse!.id, a]));
    expect(byId.get('good-1')!.errorMessage).toBe('');
    expect(byId.get('good-2')!.errorMessage).toBe('');
    expect(byId.get('good-2')!.inferResponse!.rawOutputContents).toHaveLength(1);
    const bad = byId.get('bad')!;
    expect(bad.errorMessage).toMatch(/malformed ModelInferRequest: truncated varint/);
    expect(bad.inferResponse!.modelName).toBe('mlp');
    expect(bad.inferResponse!.parameters.error_code!.stringParam).toBe('INVALID_ARGUMENT');
  });

  it('stops reading a stream whose answers are not read, so the node stays bounded', async () => {
    // A plain HTTP/2 client whose stream is paused: its receive window closes, as a client that never reads does
    // (grpc-js's own client keeps reading its socket into memory, so it would not show the node's side).
    const rows = Math.floor(MiB / 12);
    const message = encodeRequest({ modelName: 'identity_fp32', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 3] }], rawInputContents: [Buffer.alloc(rows * 12)] });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const session = connect(`http://${node.endpoints.grpc}`);
    const stream = session.request({ ':method': 'POST', ':path': STREAM, 'content-type': 'application/grpc', te: 'trailers' });
    stream.pause();
    const before = memory();
    const total = 600;
    let written = 0;
    let stopped = false;
    let lastProgressMs = Date.now();
    const pump = () => {
      while (written < total && !stopped) {
        written++;
        lastProgressMs = Date.now();
        if (!stream.write(frame)) return;
      }
      if (!stopped) stream.end();
    };
    stream.on('drain', pump);
    pump();
    try {
      // Bounded wait: everything went through (the node read it all), or writing stalled for 3 s.
      const deadline = Date.now() + 60_000;
      while (written < total && Date.now() - lastProgressMs < 3000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const stalled = memory();
      expect(written).toBeLessThan(total);
      // 600 x 1 MiB used to grow the node by 1.26 GB; now the unanswered bound, its buffers and the HTTP/2 windows hold it.
      expect(stalled.rss - before.rss).toBeLessThan(400 * MiB);
      // The node serves others meanwhile.
      await expectServing();
      // Reading the answers lets the stream go on: the client ends it after what it has sent, and every request is answered.
      stopped = true;
      stream.end();
      // Counts gRPC frames (5-byte header, then the message) without joining the bodies; the first is decoded.
      const header = Buffer.alloc(5);
      let headerBytes = 0;
      let bodyLeft = 0;
      let first: Buffer[] | undefined = [];
      let answers = 0;
      const status = new Promise<string>((resolve, reject) => {
        stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
        stream.on('error', reject);
      });
      stream.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length) {
          if (bodyLeft === 0) {
            const n = Math.min(5 - headerBytes, chunk.length - at);
            chunk.copy(header, headerBytes, at, at + n);
            headerBytes += n;
            at += n;
            if (headerBytes < 5) break;
            headerBytes = 0;
            bodyLeft = header.readUInt32BE(1);
          }
          const n = Math.min(bodyLeft, chunk.length - at);
          first?.push(chunk.subarray(at, at + n));
          bodyLeft -= n;
          at += n;
          if (bodyLeft === 0) {
            answers++;
            if (first) expect(decodeStreamResponse(Buffer.concat(first)).errorMessage).toBe('');
            first = undefined;
          }
        }
      });
      stream.resume();
      expect(await status).toBe('0');
      expect(answers).toBe(written);
    } finally {
      stream.destroy();
      session.close();
    }
  }, 120_000);

  it('survives a fuzz run of mutated requests, answering every one, unary and on a stream', async () => {
    const random = prng(20261202);
    const seeds = [
      mlpRequest('fuzz'),
      encodeRequest(buildInferRequest({ modelName: 'strings', id: 's', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['ab', 'c'] }] })),
      encodeRequest(buildInferRequest({ modelName: 'strings', id: 't', encoding: 'contents', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['ab', 'c'] }] })),
      encodeRequest(buildInferRequest({ modelName: 'mlp', id: 'c', encoding: 'contents', parameters: { priority: { int64Param: 1 } }, inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] })),
    ];
    const pick = (n: number) => Math.floor(random() * n);
    const mutate = (seed: Buffer): Buffer => {
      let b = Buffer.from(seed);
      for (let k = 1 + pick(3); k > 0; k--) {
        const at = pick(b.length);
        switch (pick(5)) {
          case 0:
            b[at] = b[at]! ^ (1 << pick(8));
            break;
          case 1:
            b[at] = pick(256);
            break;
          case 2:
            b = b.subarray(0, at);
            break;
          case 3:
            b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + pick(8) }, () => pick(256))), b.subarray(at)]);
            break;
          default:
            b = Buffer.concat([b.subarray(0, at), b.subarray(pick(b.length))]);
        }
        if (b.length === 0) break;
      }
      return b;
    };
    const cases = Array.from({ length: 300 }, () => mutate(seeds[pick(seeds.length)]!));
    const codes = new Map<number, number>();
    for (const message of cases) {
      const answer = await unaryRaw(message);
      codes.set(answer.code, (codes.get(answer.code) ?? 0) + 1);
      // Nothing is swallowed into INTERNAL or UNKNOWN.
      expect([Code.INTERNAL, Code.UNKNOWN], `${message.toString('hex')}: ${answer.details}`).not.toContain(answer.code);
    }
    expect(codes.get(Code.INVALID_ARGUMENT) ?? 0).toBeGreaterThan(0);

    const call: ClientDuplexStream<Buffer, Buffer> = raw.makeBidiStreamRequest(STREAM, pass, pass);
    let answered = 0;
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', () => answered++);
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (const message of cases) call.write(message);
    call.end();
    await ended;
    expect(answered).toBe(cases.length);
    expect(node.child.exitCode).toBeNull();
    expect(await client.serverLive()).toBe(true);
  }, 120_000);
});

describe('model control', () => {
  it('refuses load and unload unless the node runs with --model-control explicit', async () => {
    const local = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });
    const c = createInferenceClient(local.grpcAddress, { timeoutMs: 30_000 });
    try {
      for (const call of [() => c.repositoryModelLoad('mlp'), () => c.repositoryModelUnload('mlp')]) {
        await expect(call()).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION, message: expect.stringMatching(/start it with --model-control explicit/) });
      }
      expect((await c.repositoryIndex()).find((m) => m.name === 'mlp')?.state).toBe('READY');
    } finally {
      c.close();
      await local.close();
    }
  });
});

describe('the node-wide budget of request bytes', () => {
  it('refuses a request past the budget with RESOURCE_EXHAUSTED while others hold it, and admits again once they are answered', async () => {
    const manager = createModelManager({ logger: silentLogger });
    // Requests for a model the node lacks wait in the miss handler (as a forward to a peer would), holding their bytes.
    let release: (() => void) | undefined;
    let arrived: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
    const server = createInferenceServer({
      manager,
      logger: silentLogger,
      maxQueuedRequestBytes: 64 * 1024,
      onModelMiss: { handleMiss: async (request) => (arrived!(), await held, { modelName: request.modelName, modelVersion: '1', id: request.id, outputs: [], rawOutputContents: [] }) },
    });
    const { port } = await server.start();
    const c = createInferenceClient(`127.0.0.1:${port}`, { timeoutMs: 30_000 });
    const request = (id: string) => buildInferRequest({ modelName: 'elsewhere', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [10_000], data: new Float32Array(10_000) }] });
    try {
      const first = c.modelInfer(request('a'));
      await firstArrived;
      // 40 KB held; the second (another 40 KB) would pass 64 KiB.
      await expect(c.modelInfer(request('b'))).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED, message: expect.stringMatching(/budget of 65536 \(--max-queued-request-bytes\)/) });
      release!();
      expect((await first).id).toBe('a');
      expect((await c.modelInfer(request('c'))).id).toBe('c');
    } finally {
      c.close();
      await server.close({ drainTimeoutMs: 1000 });
      await manager.close();
    }
  });
});

describe('the bound on unanswered requests per stream', () => {
  it('stops reading a stream while that many wait for answers, and answers every request', async () => {
    const manager = createModelManager({ logger: silentLogger });
    let inFlight = 0;
    let maxInFlight = 0;
    const server = createInferenceServer({
      manager,
      logger: silentLogger,
      maxUnansweredPerStream: 2,
      // Every request waits a little in the miss handler (as a forward to a peer would).
      onModelMiss: {
        handleMiss: async (request) => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          return { modelName: request.modelName, modelVersion: '1', id: request.id, outputs: [], rawOutputContents: [] };
        },
      },
    });
    const { port } = await server.start();
    const c = createInferenceClient(`127.0.0.1:${port}`, { timeoutMs: 30_000 });
    try {
      const stream = c.stream();
      const answers = Array.from({ length: 20 }, (_, i) => stream.infer(buildInferRequest({ modelName: 'elsewhere', id: `r${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [i] }] })));
      stream.end();
      expect((await Promise.all(answers)).map((a) => a.id)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
      expect(maxInFlight).toBe(2);
    } finally {
      c.close();
      await server.close({ drainTimeoutMs: 1000 });
      await manager.close();
    }
  });
});
