// ModelStreamInfer against a real in-process node: many requests on one stream,
// answers matched by id, a bad request answered on the stream without closing it.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { buildInferRequest, createInferenceClient, decodeInferResponse, type InferenceClient, type StreamResult } from '../../shared/client/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { buildMlpModel, buildStringModel, writeTestRepository } from '../fixtures/models.js';

let repo: string;
let node: InferenceNode;
let client: InferenceClient;

beforeAll(async () => {
  repo = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } }, strings: { versions: { '1': buildStringModel() } } });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 30_000 });
});

afterAll(async () => {
  client?.close();
  await node?.close({ drainTimeoutMs: 2000 });
  if (repo) await rm(repo, { recursive: true, force: true });
});

const request = (i: number) =>
  buildInferRequest({ modelName: 'strings', id: `req-${i}`, inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: [`hello ${i}`, String(i * i)] }] });

describe('ModelStreamInfer', () => {
  it('answers 100 requests on one stream, matched by id; a bad one in the middle gets error_message and the stream stays open', async () => {
    const stream = client.stream();
    for (let i = 0; i < 100; i++) {
      if (i === 50) stream.write({ ...buildInferRequest({ modelName: 'mlp', id: 'bad', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }) });
      stream.write(request(i));
    }
    stream.end();
    const results: StreamResult[] = [];
    for await (const r of stream) results.push(r);
    expect(results).toHaveLength(101);
    const bad = results.find((r) => r.id === 'bad')!;
    expect(bad.error?.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.error?.message).toMatch(/input 'x': dimension 1 must be 4, got 3/);
    const good = results.filter((r) => r.id !== 'bad');
    expect(good.every((r) => r.response !== undefined)).toBe(true);
    for (const r of good) {
      const i = Number(r.id.slice(4));
      expect(decodeInferResponse(r.response!).echo!.data).toEqual([`hello ${i}`, String(i * i)]);
    }
    expect(new Set(good.map((r) => r.id)).size).toBe(100);
    await stream.closed;
  });

  it('resolves infer() per request on one stream, rejecting just the bad one', async () => {
    const stream = client.stream();
    const calls = Array.from({ length: 20 }, (_, i) => stream.infer(request(i)));
    const unknown = stream.infer(buildInferRequest({ modelName: 'nope', inputs: [] })).catch((err: unknown) => err);
    const answers = await Promise.all(calls);
    answers.forEach((a, i) => expect(a.id).toBe(`req-${i}`));
    expect(await unknown).toMatchObject({ code: Code.NOT_FOUND, message: expect.stringMatching(/model 'nope'/) });
    // Still open after the failure.
    expect((await stream.infer(request(99))).id).toBe('req-99');
    stream.end();
    await stream.closed;
  });

  it('ends the stream with CANCELLED when the caller aborts', async () => {
    const controller = new AbortController();
    const stream = client.stream({ signal: controller.signal });
    expect((await stream.infer(request(1))).id).toBe('req-1');
    const pending = stream.infer(request(2));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: expect.any(Number) });
    await stream.closed;
    const iterate = async () => {
      for await (const r of stream) void r;
    };
    await expect(iterate()).rejects.toMatchObject({ code: Code.CANCELLED });
  });
});
