// End to end: a REAL monitor receives the spans of REAL registry and inference
// processes (each pointed at it with --otlp-endpoint); a prediction's trace is
// found by the trace_id in its response, a promotion's trace runs from the
// caller through the registry's commit and publish into the node's consume;
// and both processes serve /metrics with the model and version labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { buildInferRequest, createInferenceClient, traceIdOfResponse, type InferenceClient } from '../../shared/client/index.js';
import type { Span__Output as MonitorSpan } from '../../shared/generated/infermesh/monitor/v1/Span.js';
import { createMonitorClient, type MonitorClient } from '../../shared/monitor-client/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { createTelemetry, SPAN_NAMES, type Telemetry } from '../../shared/telemetry/index.js';
import { buildDemoMlp, DEMO_MODEL_CONFIG, DEMO_MODEL_NAME } from '../../shared/demo/index.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { eventually, spawnNode, tempDirs } from './mesh-fixtures.js';

const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';
const SET_ALIAS = 'infermesh.registry.v1.ModelRegistry/SetAlias';
const ALIAS_SUBJECT = `infermesh.registry.alias.changed.${DEMO_MODEL_NAME}`;

const dirs = tempDirs();
const stops: Array<() => unknown> = [() => dirs.cleanup()];
let monitor: ServiceProcess;
let registryProcess: ServiceProcess;
let nodeProcess: ServiceProcess;
let registry: RegistryClient;
let node: InferenceClient;
let monitorClient: MonitorClient;
let caller: Telemetry;

beforeAll(async () => {
  const nats = await startNats();
  stops.push(() => nats.close());
  monitor = await spawnService(['monitor', '--grpc-port', '0', '--http-port', '0']);
  stops.push(() => monitor.stop());
  // Short export delays so spans reach the monitor within a poll or two.
  const telemetryFlags = ['--otlp-endpoint', monitor.endpoints.grpc!, '--trace-sampling', '1', '--trace-export-delay-ms', '100', '--metrics-port', '0'];
  registryProcess = await spawnService(['registry', '--grpc-port', '0', '--data-dir', dirs.make('tm-registry-'), '--nats', nats.url, ...telemetryFlags]);
  stops.push(() => registryProcess.stop());
  nodeProcess = await spawnNode(nats.url, registryProcess.endpoints.grpc!, dirs.make('tm-node-'), telemetryFlags);
  stops.push(() => nodeProcess.stop());
  caller = await createTelemetry({ serviceName: 'test-caller', otlpEndpoint: monitor.endpoints.grpc!, samplingRatio: 1, scheduledDelayMs: 100, defaultMetrics: false });
  stops.push(() => caller.shutdown());
  registry = createRegistryClient(registryProcess.endpoints.grpc!, { tracer: caller.tracer });
  node = createInferenceClient(nodeProcess.endpoints.grpc!, { timeoutMs: 10_000 });
  monitorClient = createMonitorClient(monitor.endpoints.grpc!);
  stops.push(() => {
    registry.close();
    node.close();
    monitorClient.close();
  });
  await registry.pushVersion(DEMO_MODEL_NAME, buildDemoMlp(), { alias: 'production', config: DEMO_MODEL_CONFIG });
  await eventually(() => node.modelReady(DEMO_MODEL_NAME), 'the node to serve the demo model');
});

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The trace as the monitor has it, once it holds spans named `names` (the exports are asynchronous). */
function traceWith(traceId: string, names: string[]): Promise<MonitorSpan[]> {
  return eventually(async () => {
    const { spans } = await monitorClient.getTrace(traceId);
    return names.every((n) => spans.some((s) => s.name === n)) ? spans : undefined;
  }, `trace ${traceId} with spans ${names.join(', ')} in the monitor`, 30_000, 200);
}
const attr = (s: MonitorSpan, key: string) => s.attributes.find((a) => a.key === key)?.value;
function one(spans: MonitorSpan[], name: string, service?: string): MonitorSpan {
  const found = spans.filter((s) => s.name === name && (service === undefined || s.service === service));
  expect(found, `${name} spans of ${service ?? 'any service'}`).toHaveLength(1);
  return found[0]!;
}

describe('spans in the monitor', () => {
  it("finds one prediction's trace by the trace_id in its response: server span, queue, batch, ort.run", async () => {
    const response = await node.modelInfer(buildInferRequest({ modelName: DEMO_MODEL_NAME, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] }));
    const traceId = traceIdOfResponse(response)!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await traceWith(traceId, [MODEL_INFER, SPAN_NAMES.queue, SPAN_NAMES.batch, SPAN_NAMES.ortRun]);
    const server = one(spans, MODEL_INFER, 'inference');
    expect(server.kind).toBe('SERVER');
    expect(attr(server, 'infermesh.model.name')).toBe(DEMO_MODEL_NAME);
    expect(attr(server, 'infermesh.model.version')).toBe(response.modelVersion);
    expect(one(spans, SPAN_NAMES.queue).parentSpanId).toBe(server.spanId);
    const batch = one(spans, SPAN_NAMES.batch);
    expect(batch.links.map((l) => l.spanId)).toContain(server.spanId);
    expect(one(spans, SPAN_NAMES.ortRun).parentSpanId).toBe(batch.spanId);
  });

  it("shows a promotion as one trace: the caller's SetAlias, the registry's commit and publish, the node's consume of the event", async () => {
    const v2 = await registry.pushVersion(DEMO_MODEL_NAME, buildDemoMlp(), { config: DEMO_MODEL_CONFIG });
    const root = caller.tracer.startSpan('promote');
    await context.with(trace.setSpan(context.active(), root), () => registry.setAlias(DEMO_MODEL_NAME, 'production', v2.version));
    root.end();
    const traceId = root.spanContext().traceId;
    const spans = await traceWith(traceId, [SET_ALIAS, 'commit', `publish ${ALIAS_SUBJECT}`, `process ${ALIAS_SUBJECT}`]);
    const setAliasServer = one(spans, SET_ALIAS, 'registry');
    expect(setAliasServer.kind).toBe('SERVER');
    const commit = one(spans, 'commit', 'registry');
    expect(commit.parentSpanId).toBe(setAliasServer.spanId);
    const publish = one(spans, `publish ${ALIAS_SUBJECT}`, 'registry');
    expect(publish.parentSpanId).toBe(commit.spanId);
    const consume = one(spans, `process ${ALIAS_SUBJECT}`, 'inference');
    expect(consume.kind).toBe('CONSUMER');
    expect(consume.parentSpanId).toBe(publish.spanId);
    // The node's registry calls while applying the event belong to the same trace.
    expect(spans.some((s) => s.service === 'inference' && s.kind === 'CLIENT' && s.name.startsWith('infermesh.registry.v1.ModelRegistry/'))).toBe(true);
    await eventually(async () => (await node.modelMetadata(DEMO_MODEL_NAME)).versions.includes(String(v2.version)), 'the node to load version 2');
  });
});

/** The samples of `name` in a Prometheus text page, each with its labels. */
function samples(page: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out = [];
  for (const line of page.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const scrape = async (address: string) => {
  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

describe('/metrics', () => {
  it('the node counts requests by status and times queue, compute and total per model and version', async () => {
    expect(nodeProcess.endpoints.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    await node.modelInfer(buildInferRequest({ modelName: DEMO_MODEL_NAME, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] }));
    await expect(node.modelInfer(buildInferRequest({ modelName: DEMO_MODEL_NAME, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [0, 0, 0] }] }))).rejects.toMatchObject({ code: 3 });
    const page = await scrape(nodeProcess.endpoints.metrics!);
    const ofModel = (name: string) => samples(page, name).filter((s) => s.labels.model === DEMO_MODEL_NAME && /^\d+$/.test(s.labels.version ?? ''));
    expect(ofModel('infermesh_inference_requests_total').find((s) => s.labels.status === 'OK')?.value).toBeGreaterThanOrEqual(1);
    expect(ofModel('infermesh_inference_requests_total').find((s) => s.labels.status === 'INVALID_ARGUMENT')?.value).toBe(1);
    for (const histogram of ['request_duration_seconds', 'queue_duration_seconds', 'compute_duration_seconds', 'batch_size']) {
      expect(ofModel(`infermesh_inference_${histogram}_count`).reduce((n, s) => n + s.value, 0), histogram).toBeGreaterThanOrEqual(1);
    }
    expect(ofModel('infermesh_inference_queue_depth').length).toBeGreaterThanOrEqual(1);
    expect(samples(page, 'infermesh_models_loaded').find((s) => s.labels.device === 'cpu')?.value).toBeGreaterThanOrEqual(1);
  });

  it('the registry reports versions, uploads by status and the outbox backlog', async () => {
    expect(registryProcess.endpoints.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(registry.pushVersion('no-such-model', new TextEncoder().encode('not onnx'), { createModel: false })).rejects.toMatchObject({ code: 5 });
    const page = await eventually(async () => {
      const text = await scrape(registryProcess.endpoints.metrics!);
      return samples(text, 'infermesh_registry_outbox_pending')[0]?.value === 0 ? text : undefined;
    }, 'the outbox to be empty');
    expect(samples(page, 'infermesh_registry_versions')[0]?.value).toBe(2);
    expect(samples(page, 'infermesh_registry_uploads_total').find((s) => s.labels.status === 'OK')?.value).toBe(2);
    expect(samples(page, 'infermesh_registry_uploads_total').find((s) => s.labels.status === 'NOT_FOUND')?.value).toBe(1);
  });
});
