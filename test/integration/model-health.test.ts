import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNats } from '../helpers/nats.js';
import { connectNats } from '../../shared/nats/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { alertCodec, createMonitorClient, predictionRecordCodec, PREDICTIONS_STREAM, type MonitorClient } from '../../shared/monitor-client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { parseAlertRules, startMonitor, type Monitor } from '../../services/monitor/index.js';
import { buildDynamicModel, buildStringModel } from '../fixtures/models.js';
import { TEST_RULES, metricValue, sendTraffic, storedRecords, waitFor, writeHealthRepository } from './health-fixtures.js';

const HASH_KEY = Buffer.from('a-test-record-hash-key-0123456789');

let nats: Awaited<ReturnType<typeof startNats>>;
let nodeNc: NatsConnection;
let monitorNc: NatsConnection;
let monitor: Monitor;
let node: InferenceNode;
let client: InferenceClient;
let monitorClient: MonitorClient;

beforeAll(async () => {
  nats = await startNats();
  nodeNc = await connectNats({ url: nats.url });
  monitorNc = await connectNats({ url: nats.url });
  monitor = await startMonitor({
    grpcPort: 0,
    httpPort: 0,
    nc: monitorNc,
    health: { referenceRecords: 200, windowRecords: 200, evaluateIntervalMs: 3_600_000, rules: parseAlertRules(TEST_RULES) },
  });
  const repo = await writeHealthRepository({
    private: { versions: { '1': buildDynamicModel() }, config: { records: { sampleRate: 1, redact: { a: 'drop', b: 'hash' } } } },
    strings: { versions: { '1': buildStringModel() }, config: { records: { sampleRate: 1 } } },
  });
  node = await startInferenceNode({ repositoryDir: repo, logger: silentLogger, records: { nc: nodeNc, hashKey: HASH_KEY, maxBatchRecords: 1 } });
  client = createInferenceClient(node.grpcAddress);
  monitorClient = createMonitorClient(monitor.grpcAddress);
});

afterAll(async () => {
  client?.close();
  monitorClient?.close();
  await node?.close();
  await monitor?.close();
  await nodeNc?.drain();
  await monitorNc?.drain();
  await nats?.close();
});

/** The last message on `subject` in `stream`, once there is one. */
async function lastMessage(stream: string, subject: string): Promise<StoredMsg> {
  const jsm = await jetstreamManager(monitorNc);
  let msg: StoredMsg | null = null;
  await waitFor(`a message on ${subject}`, async () => (msg = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null)) !== null);
  return msg!;
}

/** Every alert on the ALERTS stream so far. */
async function streamAlerts() {
  const consumer = await jetstream(monitorNc).consumers.get('ALERTS');
  const info = await consumer.info();
  const out = [];
  for (let left = info.num_pending; left > 0; ) {
    const batch = await consumer.fetch({ max_messages: left, expires: 2000 });
    for await (const m of batch) {
      out.push(alertCodec.decode(m.data));
      left--;
    }
  }
  return out;
}

describe('model health end to end (real NATS, in-process node and monitor)', () => {
  let served: Awaited<ReturnType<typeof sendTraffic>> = [];

  it('assigns a request id when the client sends none and records it', async () => {
    const [one] = await sendTraffic(client, 1, { seed: 99, version: '1' });
    expect(one!.id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor('the record of the request', () => monitor.healthStore.findRecord('mlp', one!.id) !== undefined);
  });

  it('raises no alert for traffic from the reference distribution', async () => {
    served = await sendTraffic(client, 400, { seed: 1, version: '1' });
    await waitFor('400 records of v1', () => storedRecords(monitor, 'mlp', '1') >= 401);
    await monitor.health.evaluate();
    const [v1] = (await monitorClient.modelHealth('mlp', { version: '1' })).versions;
    expect(v1!.referenceSource).toBe('records');
    expect(Number(v1!.referenceSamples)).toBe(200);
    expect(Number(v1!.windowSamples)).toBe(200);
    expect(v1!.features.map((f) => f.name).sort()).toEqual(['x[0]', 'x[1]', 'x[2]', 'x[3]']);
    for (const f of v1!.features) {
      expect(f.test).toBe('ks');
      expect(f.psi).toBeLessThan(0.25);
      expect(f.drifting).toBe(false);
    }
    expect(v1!.outputs.map((f) => f.name)).toContain('predicted_class');
    expect(await monitorClient.listAlerts({ model: 'mlp' })).toEqual([]);
    expect(await metricValue(monitor, 'infermesh_feature_drift_psi', { model: 'mlp', version: '1', feature: 'x[2]' })).toBeLessThan(0.25);
  });

  it('raises a drift alert naming the shifted feature, published on ALERTS, and resolves it when the shift stops', async () => {
    await sendTraffic(client, 200, { seed: 2, version: '1', shift: 3, feature: 2 });
    await waitFor('shifted records', () => storedRecords(monitor, 'mlp', '1') >= 601);
    await monitor.health.evaluate();
    const firing = await monitorClient.listAlerts({ model: 'mlp', firingOnly: true });
    const features = firing.filter((a) => a.rule === 'feature_drift');
    expect(features.map((a) => a.subject)).toEqual(['x[2]']);
    const alert = features[0]!;
    expect(alert.kind).toBe('drift');
    expect(alert.version).toBe('1');
    expect(alert.value).toBeGreaterThan(alert.threshold);
    expect(alert.evidence.ks_pvalue).toBeLessThan(0.01);
    expect(Number(alert.samples)).toBe(200);
    const [v1] = (await monitorClient.modelHealth('mlp', { version: '1' })).versions;
    expect(v1!.features.find((f) => f.name === 'x[2]')!.drifting).toBe(true);
    expect(await metricValue(monitor, 'infermesh_feature_drift_psi', { model: 'mlp', version: '1', feature: 'x[2]' })).toBeGreaterThan(1);
    const pvalue = await metricValue(monitor, 'infermesh_feature_drift_pvalue', { model: 'mlp', version: '1', feature: 'x[2]' });
    expect(pvalue).toBeLessThan(1e-6);

    // The alert went to the stream on infermesh.alerts.drift.
    await lastMessage('ALERTS', 'infermesh.alerts.drift');
    const published = await streamAlerts();
    expect(published.find((a) => a.id === alert.id)!.state).toBe('ALERT_STATE_FIRING');

    await sendTraffic(client, 200, { seed: 3, version: '1' });
    await waitFor('unshifted records', () => storedRecords(monitor, 'mlp', '1') >= 801);
    await monitor.health.evaluate();
    expect((await monitorClient.listAlerts({ model: 'mlp', firingOnly: true })).filter((a) => a.rule === 'feature_drift')).toEqual([]);
    const all = await monitorClient.listAlerts({ model: 'mlp' });
    const resolved = all.find((a) => a.id === alert.id)!;
    expect(resolved.state).toBe('ALERT_STATE_RESOLVED');
    await waitFor('the resolution on ALERTS', async () => (await streamAlerts()).some((a) => a.id === alert.id && a.state === 'ALERT_STATE_RESOLVED'));
    expect(Number(resolved.resolvedUnixNano)).toBeGreaterThan(Number(resolved.startedUnixNano));
  });

  it('feedback with 30% wrong labels moves infermesh_model_accuracy to 0.7', async () => {
    const items = served.map((s, i) => ({ model: 'mlp', requestId: s.id, label: String(i % 10 < 3 ? (s.predicted + 1) % 3 : s.predicted) }));
    const res = await monitorClient.submitFeedback(items);
    expect(res.accepted).toBe(400);
    expect(res.rejected).toBe(0);
    expect(res.results.every((r) => r.code === 'OK' && r.version === '1' && !r.duplicate)).toBe(true);
    await monitor.health.evaluate();
    const accuracy = await metricValue(monitor, 'infermesh_model_accuracy', { model: 'mlp', version: '1' });
    expect(accuracy).toBeGreaterThan(0.65);
    expect(accuracy).toBeLessThan(0.75);
    expect(await metricValue(monitor, 'infermesh_model_feedback_samples', { model: 'mlp', version: '1' })).toBe(400);
    const [v1] = (await monitorClient.modelHealth('mlp', { version: '1' })).versions;
    expect(v1!.quality!.task).toBe('classification');
    expect(v1!.quality!.accuracy).toBeCloseTo(0.7, 10);
    expect(Number(v1!.quality!.samples)).toBe(400);
    expect(v1!.quality!.f1).toBeGreaterThan(0);

    // A repeat is idempotent; an unknown id and a malformed item fail only themselves.
    const again = await monitorClient.submitFeedback([
      { ...items[0]!, label: String((served[0]!.predicted + 2) % 3) },
      { model: 'mlp', requestId: 'never-served', label: '1' },
      { model: 'mlp', requestId: served[1]!.id },
    ]);
    expect(again.results.map((r) => [r.code, r.duplicate])).toEqual([['OK', true], ['NOT_FOUND', false], ['INVALID_ARGUMENT', false]]);
    expect(again.results[1]!.error).toContain("request id 'never-served'");
    await monitor.health.evaluate();
    expect((await monitorClient.modelHealth('mlp', { version: '1' })).versions[0]!.quality!.accuracy).toBeCloseTo(0.7, 10);
  });

  it('v1 and v2 served side by side (canary) show their own figures', async () => {
    node.manager.setRouting('mlp', { default: '1', canary: '2', canaryWeight: 50 });
    const mixed = await sendTraffic(client, 600, { seed: 4 });
    const v2 = mixed.filter((m) => m.version === '2');
    expect(v2.length).toBeGreaterThan(200);
    await waitFor('v2 records', () => storedRecords(monitor, 'mlp', '2') >= v2.length);
    // v2 gets every label right.
    const res = await monitorClient.submitFeedback(v2.map((m) => ({ model: 'mlp', requestId: m.id, label: String(m.predicted) })));
    expect(res.accepted).toBe(v2.length);
    await monitor.health.evaluate();
    const health = await monitorClient.modelHealth('mlp');
    expect(health.versions.map((v) => v.version)).toEqual(['1', '2']);
    const [h1, h2] = health.versions;
    expect(h2!.quality!.accuracy).toBe(1);
    expect(Number(h2!.quality!.samples)).toBe(v2.length);
    expect(h1!.quality!.accuracy).toBeCloseTo(0.7, 10);
    expect(Number(h2!.records)).toBe(v2.length);
    expect(await metricValue(monitor, 'infermesh_model_accuracy', { model: 'mlp', version: '2' })).toBe(1);
    expect(h2!.history.length).toBeGreaterThan(0);
  });

  it('never lets a redacted input reach the stream: dropped, hashed, and BYTES left out', async () => {
    const a = new Float32Array([123.456, 654.321]);
    const b = new Float32Array([7.25, 8.5]);
    const res = await client.modelInfer({
      modelName: 'private',
      id: 'private-1',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2] },
        { name: 'scale', datatype: 'FP32', shape: [1] },
      ],
      rawInputContents: [Buffer.from(a.buffer), Buffer.from(b.buffer), Buffer.from(new Float32Array([1]).buffer)],
    });
    expect(res.id).toBe('private-1');
    await client.infer({ modelName: 'strings', id: 'strings-1', inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['my secret address'] }] });

    const privateMsg = await lastMessage(PREDICTIONS_STREAM, 'infermesh.predictions.private');
    const stringsMsg = await lastMessage(PREDICTIONS_STREAM, 'infermesh.predictions.strings');
    const record = predictionRecordCodec.decode(privateMsg.data);
    expect(record.requestId).toBe('private-1');
    expect(record.droppedInputs).toEqual(['a']);
    expect(record.inputs.map((t) => t.name)).toEqual(['b', 'scale']);
    const hashed = record.inputs.find((t) => t.name === 'b')!;
    expect(hashed.treatment).toBe('TENSOR_TREATMENT_HASHED');
    expect(hashed.values).toEqual([]);
    expect(hashed.hash).toBe(createHmac('sha256', HASH_KEY).update(Buffer.from(b.buffer)).digest('hex'));
    // Neither a's nor b's values appear anywhere in the message, as float32 or as double.
    const raw = Buffer.from(privateMsg.data);
    for (const v of [...a, ...b]) {
      expect(raw.includes(Buffer.from(new Float32Array([v]).buffer))).toBe(false);
      expect(raw.includes(Buffer.from(new Float64Array([v]).buffer))).toBe(false);
    }
    // The sum output does carry a + b (outputs are recorded).
    expect(record.outputs.find((t) => t.name === 'sum')!.values.length).toBe(2);

    const strings = predictionRecordCodec.decode(stringsMsg.data);
    expect(strings.droppedInputs).toEqual(['text']);
    expect(Buffer.from(stringsMsg.data).includes(Buffer.from('my secret address'))).toBe(false);
  });
});
