// Data protection (issue 12, item 4): what a client sends that must stay
// private — its token, its tensor values, an input its model's records redact —
// reaches no log line and no exported span, on success and on every error
// path; client values that do become span attributes are capped. A real node
// (gRPC and REST) and a real registry, tracing everything to an in-memory
// exporter and logging at debug level into a captured list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { bearerHeader } from '../../shared/auth/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { ATTR_MODEL_NAME, CLIPPED_MARKER, MAX_CLIENT_ATTRIBUTE_CHARS, createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { startNats } from '../helpers/nats.js';
import { buildDynamicModel, buildStringModel, writeTestRepository } from '../fixtures/models.js';
import { startRegistry, tempDir, tinyModel } from './registry-fixtures.js';

// Values no code, config or id would hold by chance.
const TENSOR_VALUE = 31415.927; // input `a`, which the records drop
const HASHED_VALUE = 16180.339; // input `b`, which the records hash
const BYTES_VALUE = 'zq-private-text-7Hf3'; // a BYTES element (records keep no BYTES by default)
const BAD_ELEMENT = 'zq-bad-element-Kp2v'; // a REST element that is not a number: echoed to the client only
const FORGED_TOKEN = 'zqForgedToken0Xw9Lm4Rt'; // not a JWT: each edge refuses or ignores it
const LONG = 'L'.repeat(10_000);

/** Every form a float32 value could take in text: its decimal, the float32 read back, its bytes as hex, base64 and a byte list. */
function floatForms(value: number): string[] {
  const bytes = Buffer.from(new Float32Array([value]).buffer);
  // The decimal's middle too: a parser's excerpt may start inside the number.
  return [String(value).slice(0, 8), String(value).slice(2), String(Math.fround(value)).slice(0, 8), bytes.toString('hex'), bytes.toString('base64'), [...bytes].join(',')];
}

const exporter = new InMemorySpanExporter();
const telemetries: Telemetry[] = [];
const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });

let nats: Awaited<ReturnType<typeof startNats>>;
let nc: NatsConnection;
let dir: ReturnType<typeof tempDir>;
let registry: RegistryService;
let registryClient: RegistryClient;
let node: InferenceNode;
let client: InferenceClient;
let token: string;

async function telemetry(serviceName: string): Promise<Telemetry> {
  const t = await createTelemetry({ serviceName, exporter, samplingRatio: 1, defaultMetrics: false });
  telemetries.push(t);
  return t;
}

const withToken = (value: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', bearerHeader(value));
  return metadata;
};

async function failure(p: Promise<unknown>): Promise<InfermeshError> {
  try {
    await p;
  } catch (err) {
    return InfermeshError.from(err);
  }
  throw new Error('expected the call to fail');
}

const privateRequest = (extra: { modelName?: string; id?: string; datatype?: 'FP32' | 'INT32'; encoding?: 'raw' | 'contents' } = {}) =>
  buildInferRequest({
    modelName: extra.modelName ?? 'private',
    ...(extra.encoding ? { encoding: extra.encoding } : {}),
    ...(extra.id ? { id: extra.id } : {}),
    inputs: [
      { name: 'a', datatype: extra.datatype ?? 'FP32', shape: [1, 2], data: [TENSOR_VALUE, TENSOR_VALUE] },
      { name: 'b', datatype: 'FP32', shape: [1, 2], data: [HASHED_VALUE, 1] },
      { name: 'scale', datatype: 'FP32', shape: [1], data: [1] },
    ],
  });

async function rest(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${node.httpAddress}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: bearerHeader(token), ...headers } });
  return { status: res.status, text: await res.text() };
}

/** Every exported span as text: name, attributes, events with theirs, status and link attributes. */
async function exportedSpans(): Promise<ReadableSpan[]> {
  await Promise.all(telemetries.map((t) => t.forceFlush()));
  return exporter.getFinishedSpans();
}
const spanText = (s: ReadableSpan) =>
  JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })), status: s.status, links: s.links.map((l) => l.attributes) });

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ url: nats.url });
  dir = tempDir('infermesh-dataprot-');
  const registryTelemetry = await telemetry('registry');
  registry = await startRegistry(dir.path, nats.url, { logger: logger.child({ component: 'registry' }), telemetry: { tracer: registryTelemetry.tracer } });
  token = (await registry.auth.issuer.issue({ subject: 'dataprot', scopes: ['admin'] })).token;
  registryClient = createRegistryClient(registry.address, { tracer: (await telemetry('registry-client')).tracer });
  const nodeTelemetry = await telemetry('inference');
  const repo = await writeTestRepository({
    private: { versions: { '1': buildDynamicModel() }, config: { records: { sampleRate: 1, redact: { a: 'drop', b: 'hash' } } } },
    strings: { versions: { '1': buildStringModel() }, config: { records: { sampleRate: 1 } } },
  });
  node = await startInferenceNode({
    repositoryDir: repo,
    httpPort: 0,
    logger: logger.child({ component: 'inference' }),
    telemetry: { tracer: nodeTelemetry.tracer, metrics: nodeTelemetry.metrics.inference },
    records: { nc, hashKey: Buffer.from('a-test-record-hash-key-0123456789') },
  });
  client = createInferenceClient(node.grpcAddress, { timeoutMs: 10_000, tracer: (await telemetry('client')).tracer });
});

afterAll(async () => {
  client?.close();
  registryClient?.close();
  await node?.close();
  await registry?.close();
  await Promise.all(telemetries.map((t) => t.shutdown()));
  await nc?.close();
  await nats?.close();
  dir?.cleanup();
});

describe('data protection', () => {
  it('serves and refuses requests carrying a token, private tensors and a redacted input', async () => {
    expect(token).toMatch(/^eyJ/);
    // gRPC, unary and stream, with the real token and a forged one.
    const ok = await client.modelInfer(privateRequest({ id: 'ok-1' }), { metadata: withToken(token) });
    expect(ok.outputs.map((o) => o.name).sort()).toEqual(['product', 'sum']);
    await client.modelInfer(buildInferRequest({ modelName: 'strings', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [BYTES_VALUE] }] }), { metadata: withToken(FORGED_TOKEN) });
    const stream = client.stream({ metadata: withToken(token) });
    await stream.infer(privateRequest({ id: 'stream-1' }));
    const streamBad = await failure(stream.infer(privateRequest({ id: 'stream-2', datatype: 'INT32' })));
    expect(streamBad.code).toBe(Code.INVALID_ARGUMENT);
    stream.end();
    await stream.closed;
    // The typed contents fields instead of raw bytes, and error paths: a wrong datatype, an unknown model with a 10,000-character name and id.
    await client.modelInfer(privateRequest({ id: 'contents-1', encoding: 'contents' }), { metadata: withToken(token) });
    expect((await failure(client.modelInfer(privateRequest({ datatype: 'INT32', encoding: 'contents' }), { metadata: withToken(token) }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await failure(client.modelInfer(privateRequest({ datatype: 'INT32' }), { metadata: withToken(token) }))).code).toBe(Code.INVALID_ARGUMENT);
    const unknown = await failure(client.modelInfer(privateRequest({ modelName: LONG, id: LONG }), { metadata: withToken(token) }));
    expect(unknown.code).toBe(Code.NOT_FOUND);

    // REST: a good request, a bad element (the client is told its value), malformed JSON (the parser quotes it), an unknown model.
    const data = (v: unknown) => JSON.stringify({ id: 'rest-1', inputs: [{ name: 'a', shape: [1, 2], datatype: 'FP32', data: [TENSOR_VALUE, v] }, { name: 'b', shape: [1, 2], datatype: 'FP32', data: [HASHED_VALUE, 1] }, { name: 'scale', shape: [1], datatype: 'FP32', data: [1] }] });
    expect((await rest('/v2/models/private/infer', data(TENSOR_VALUE))).status).toBe(200);
    const badElement = await rest('/v2/models/private/infer', data(BAD_ELEMENT));
    expect(badElement.status).toBe(400);
    expect(badElement.text).toContain(BAD_ELEMENT);
    const malformed = await rest('/v2/models/private/infer', data(TENSOR_VALUE).replace(`${TENSOR_VALUE},`, `${TENSOR_VALUE}, ~,`), { authorization: bearerHeader(FORGED_TOKEN) });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toMatch(/not valid JSON.*415\.927, ~/);
    expect((await rest(`/v2/models/${LONG}/infer`, data(TENSOR_VALUE))).status).toBe(404);

    // The registry: a push with the token, a lookup of an unknown 10,000-character name, a forged token.
    await registryClient.pushVersion('dataprot-model', tinyModel(3), { metadata: withToken(token) });
    expect((await failure(registryClient.getModel(LONG, { metadata: withToken(token) }))).code).toBe(Code.INVALID_ARGUMENT);
    await registryClient.getModel('dataprot-model', { metadata: withToken(FORGED_TOKEN) }).catch(() => undefined);
  });

  it('no log line and no exported span holds the token, a tensor value or the redacted input', async () => {
    const spans = await exportedSpans();
    const texts = spans.map(spanText);
    // The test saw the paths it means to check: errors logged and traced on node, REST and registry.
    expect(lines.some((l) => l.includes('"call failed"'))).toBe(true);
    expect(lines.some((l) => l.includes('"request failed"'))).toBe(true);
    expect(texts.some((t) => t.includes('INVALID_ARGUMENT') && t.includes('"exception"'))).toBe(true);
    expect(spans.some((s) => s.name.startsWith('POST '))).toBe(true);
    expect(spans.some((s) => s.name.includes('ModelRegistry'))).toBe(true);

    const secrets: Record<string, string[]> = {
      token: [token, token.split('.')[2]!, FORGED_TOKEN],
      'tensor value': floatForms(TENSOR_VALUE),
      'hashed input': floatForms(HASHED_VALUE),
      'BYTES element': [BYTES_VALUE, Buffer.from(BYTES_VALUE).toString('base64')],
      'echoed element': [BAD_ELEMENT],
    };
    for (const [what, needles] of Object.entries(secrets)) {
      for (const needle of needles) {
        expect(lines.filter((l) => l.includes(needle)), `${what} '${needle}' in a log line`).toEqual([]);
        expect(texts.filter((t) => t.includes(needle)), `${what} '${needle}' in a span`).toEqual([]);
      }
    }
  });

  it('caps the 10,000-character model name and request id in span attributes, on gRPC, REST and the registry', async () => {
    const spans = await exportedSpans();
    const capped = LONG.slice(0, MAX_CLIENT_ATTRIBUTE_CHARS - CLIPPED_MARKER.length) + CLIPPED_MARKER;
    const modelNames = spans.map((s) => s.attributes[ATTR_MODEL_NAME]).filter((v) => typeof v === 'string' && v.startsWith('LLL'));
    expect(modelNames.length).toBeGreaterThan(0);
    expect(new Set(modelNames)).toEqual(new Set([capped]));
    const restSpan = spans.find((s) => s.name.startsWith('POST ') && String(s.attributes['url.path']).includes('LLL'));
    expect(restSpan!.attributes['url.path']).toBe(`/v2/models/${LONG}`.slice(0, MAX_CLIENT_ATTRIBUTE_CHARS - CLIPPED_MARKER.length) + CLIPPED_MARKER);
    // Nowhere in any span (attributes, events, status) does the long value run past the cap.
    const overlong = 'L'.repeat(MAX_CLIENT_ATTRIBUTE_CHARS + 1);
    expect(spans.filter((s) => spanText(s).includes(overlong)).map((s) => spanText(s).replace(/L{20,}/g, (m) => `<L x ${m.length}>`))).toEqual([]);
  });
});
