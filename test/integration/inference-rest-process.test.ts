// `infermesh serve --http-port 0` as a child process: the ready line names the
// REST endpoint, a 100 MB body over --http-max-body-bytes is refused before the
// node buffers it (its peak RSS says so), slow clients are cut off by
// --http-request-timeout-ms, and the node keeps serving after each.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlpModel, writeTestRepository } from '../fixtures/models.js';
import { rawConnection, rest, type RawConnection } from '../helpers/rest.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 1000;
const HUNDRED_MB = 100 * 1024 * 1024;
/** Peak RSS growth allowed while a 100 MB body is refused: far below what buffering it would take. */
const RSS_GROWTH_LIMIT_BYTES = 40 * 1024 * 1024;

let repo: string;
let proc: ServiceProcess;
let http: string;

/** The node's peak resident set size (VmHWM), in bytes. */
function peakRssBytes(): number {
  const line = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

async function stillServing(): Promise<void> {
  const reply = await rest(http, 'POST', '/v2/models/mlp/infer', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }] });
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json.outputs[0].shape).toEqual([1, 3]);
}

/** Writes `total` bytes in 1 MiB pieces (chunked framing when `chunked`), honouring backpressure, until done or the server closes. */
async function pour(conn: RawConnection, total: number, chunked: boolean): Promise<number> {
  const piece = Buffer.alloc(1024 * 1024, 0x20);
  let sent = 0;
  let closed = false;
  void conn.closed.then(() => (closed = true));
  while (sent < total && !closed && !conn.socket.destroyed) {
    if (chunked) conn.socket.write(`${piece.byteLength.toString(16)}\r\n`);
    let ok = conn.socket.write(piece);
    if (chunked) ok = conn.socket.write('\r\n');
    sent += piece.byteLength;
    if (!ok) await Promise.race([new Promise((resolve) => conn.socket.once('drain', resolve)), conn.closed]);
  }
  return sent;
}

beforeAll(async () => {
  repo = await writeTestRepository({ mlp: { versions: { '1': buildMlpModel() }, config: { maxBatchSize: 8 } } });
  proc = await spawnService([
    'serve', '--model-repository', repo, '--grpc-port', '0', '--http-port', '0',
    '--http-max-body-bytes', String(MAX_BODY_BYTES), '--http-request-timeout-ms', String(REQUEST_TIMEOUT_MS), '--trace-sampling', 'off',
  ]);
  http = proc.endpoints.http!;
}, 60_000);

afterAll(async () => {
  await proc?.stop();
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe('infermesh serve --http-port', () => {
  it('prints the REST endpoint on its ready line, and serves it', async () => {
    expect(proc.endpoints.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(http).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(http).not.toBe(proc.endpoints.grpc);
    expect((await rest(http, 'GET', '/v2/health/ready')).status).toBe(200);
    await stillServing();
  });

  it('refuses a 100 MB body over the limit from its Content-Length, before buffering it', async () => {
    await stillServing();
    const before = peakRssBytes();
    const conn = await rawConnection(http);
    conn.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: ${HUNDRED_MB}\r\n\r\n`);
    const pouring = pour(conn, HUNDRED_MB, false);
    await conn.waitFor(/\r\n\r\n\{"error":.*\}/);
    expect(conn.received()).toMatch(/^HTTP\/1.1 413 Payload Too Large/);
    expect(conn.received()).toContain(`the request body is over the limit of ${MAX_BODY_BYTES} bytes (--http-max-body-bytes): its Content-Length is ${HUNDRED_MB} bytes`);
    await conn.closed;
    await pouring;
    expect(peakRssBytes() - before).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
    await stillServing();
  });

  it('answers Expect: 100-continue with 413 for a body over the limit, and with 100 Continue for one within it', async () => {
    const over = await rawConnection(http);
    over.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\nexpect: 100-continue\r\ncontent-length: ${HUNDRED_MB}\r\n\r\n`);
    await over.closed;
    expect(over.received()).toMatch(/^HTTP\/1.1 413 Payload Too Large/);
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    const within = await rawConnection(http);
    within.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\nexpect: 100-continue\r\ncontent-length: ${body.length}\r\n\r\n`);
    await within.waitFor(/^HTTP\/1.1 100 Continue\r\n\r\n/);
    within.socket.write(body);
    await within.waitFor(/HTTP\/1.1 200 OK[\s\S]*"probabilities"/);
    within.socket.end();
    await stillServing();
  });

  it('refuses a chunked 100 MB body once it passes the limit, holding no more than the limit', async () => {
    const before = peakRssBytes();
    const conn = await rawConnection(http);
    conn.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\r\n`);
    const pouring = pour(conn, HUNDRED_MB, true);
    await conn.waitFor(/\r\n\r\n\{"error":.*\}/, 30_000);
    expect(conn.received()).toMatch(/^HTTP\/1.1 413 Payload Too Large/);
    expect(conn.received()).toContain('more than that arrived');
    await conn.closed;
    const sent = await pouring;
    expect(sent).toBeLessThan(HUNDRED_MB);
    expect(peakRssBytes() - before).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
    await stillServing();
  });

  it('closes a slow-loris body with 408 once the request timeout passes, though bytes keep trickling', async () => {
    const conn = await rawConnection(http);
    const started = Date.now();
    conn.socket.write(`POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\ncontent-length: 10000\r\n\r\n{"inputs"`);
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write(' '), 100);
    try {
      await conn.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(conn.received()).toMatch(/^HTTP\/1.1 408 Request Timeout[\s\S]*the request did not arrive within 1000 ms \(headers and body\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    await stillServing();
  });

  it('closes a connection whose headers never end', async () => {
    const conn = await rawConnection(http);
    conn.socket.write('POST /v2/models/mlp/infer HTTP/1.1\r\nhost: test\r\n');
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write('x-slow: 1\r\n'), 100);
    try {
      await conn.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(conn.received()).toMatch(/^HTTP\/1.1 408 Request Timeout/);
    await stillServing();
  });

  it('names a bad flag', async () => {
    await expect(spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--http-port', 'eighty'])).rejects.toThrow(/--http-port must be a port number 0-65535, got 'eighty'/);
    await expect(spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--http-port', '0', '--http-max-body-bytes', '0'])).rejects.toThrow(/--http-max-body-bytes must be an integer from 1 to 2147483647, got '0'/);
  });
});
