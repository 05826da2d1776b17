import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNats } from '../helpers/nats.js';
import { connectNats } from '../../shared/nats/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { feedbackCodec, predictionRecordCodec, PREDICTIONS_STREAM } from '../../shared/monitor-client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { createTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { parseAlertRules, startMonitor, type Monitor } from '../../services/monitor/index.js';
import { TEST_RULES, metricValue, sendTraffic, storedRecords, waitFor, writeHealthRepository } from './health-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let dataDir: string;
let nodeNc: NatsConnection;
let monitorNc: NatsConnection;
let monitor: Monitor;
let node: InferenceNode;
let telemetry: Telemetry;
let client: InferenceClient;

const monitorOptions = () => ({
  grpcPort: 0,
  httpPort: 0,
  dataDir,
  nc: monitorNc,
  health: { referenceRecords: 100, windowRecords: 100, evaluateIntervalMs: 3_600_000, rules: parseAlertRules(TEST_RULES) },
});

const streamMessages = async () => (await (await jetstreamManager(monitorNc)).streams.info(PREDICTIONS_STREAM)).state.messages;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'infermesh-health-faults-'));
  nats = await startNats();
  nodeNc = await connectNats({ url: nats.url, reconnectTimeWaitMs: 100 });
  monitorNc = await connectNats({ url: nats.url, reconnectTimeWaitMs: 100 });
  monitor = await startMonitor(monitorOptions());
  telemetry = await createTelemetry({ serviceName: 'inference', samplingRatio: 'off', defaultMetrics: false });
  node = await startInferenceNode({ repositoryDir: await writeHealthRepository(), logger: silentLogger, telemetry: { tracer: telemetry.tracer, metrics: telemetry.metrics.inference }, records: { nc: nodeNc, maxBatchRecords: 1 } });
  client = createInferenceClient(node.grpcAddress);
});

afterAll(async () => {
  client?.close();
  await node?.close();
  await telemetry?.shutdown();
  await monitor?.close();
  await nodeNc?.close();
  await monitorNc?.close();
  await nats?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('model health under faults', () => {
  it('keeps serving while NATS is down, counts the dropped records, and the monitor catches up after', async () => {
    await sendTraffic(client, 100, { seed: 41, version: '1' });
    await waitFor('the first records', () => storedRecords(monitor, 'mlp', '1') === 100);

    await nats.stop();
    const during = await sendTraffic(client, 60, { seed: 42, version: '1' });
    expect(during).toHaveLength(60);
    await waitFor('every record of the outage counted as dropped', () => {
      const s = node.recorder!.stats();
      return s.published + s.droppedPublishFailed + s.droppedQueueFull === 160;
    });
    const dropped = node.recorder!.stats().droppedPublishFailed;
    expect(dropped).toBeGreaterThan(0);
    expect(await metricValue({ registry: telemetry.registry } as unknown as Monitor, 'infermesh_prediction_records_total', { model: 'mlp', outcome: 'publish_failed' })).toBe(dropped);

    await nats.start();
    const connected = (nc: NatsConnection) => Promise.race([nc.flush().then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    await waitFor('both connections back', async () => (await connected(nodeNc)) && (await connected(monitorNc)), 30_000);
    await sendTraffic(client, 100, { seed: 43, version: '1' });
    // The monitor holds exactly what the stream holds: at least the 200 sent while NATS was up.
    await waitFor('the monitor to catch up with the stream', async () => storedRecords(monitor, 'mlp', '1') === (await streamMessages().catch(() => -1)), 30_000);
    expect(storedRecords(monitor, 'mlp', '1')).toBeGreaterThanOrEqual(200);
  });

  it('resumes after a restart without counting anything twice', async () => {
    const before = storedRecords(monitor, 'mlp', '1');
    const served = await sendTraffic(client, 100, { seed: 44, version: '1' });
    await waitFor('the records', () => storedRecords(monitor, 'mlp', '1') === before + 100);
    // Feedback over NATS (the FEEDBACK stream) for 100 predictions, 20% wrong.
    const js = jetstream(nodeNc);
    for (const [i, s] of served.entries()) {
      await js.publish('infermesh.feedback.mlp', feedbackCodec.encode({ model: 'mlp', requestId: s.id, label: String(i % 5 === 0 ? (s.predicted + 1) % 3 : s.predicted) }));
    }
    await waitFor('the feedback joined', async () => (await metricValue(monitor, 'infermesh_health_feedback_total', { outcome: 'joined' })) === 100);

    await monitor.close();
    const whileDown = await sendTraffic(client, 50, { seed: 45, version: '1' });
    monitor = await startMonitor(monitorOptions());
    await waitFor('the records sent while the monitor was down', () => storedRecords(monitor, 'mlp', '1') === before + 150);
    // Re-sent feedback is a duplicate; the count stays 100.
    await js.publish('infermesh.feedback.mlp', feedbackCodec.encode({ model: 'mlp', requestId: served[0]!.id, label: '2' }));
    await waitFor('the duplicate', async () => (await metricValue(monitor, 'infermesh_health_feedback_total', { outcome: 'duplicate' })) === 1);
    await monitor.health.evaluate();
    const [v1] = monitor.health.health('mlp', '1');
    expect(v1!.records).toBe(await streamMessages());
    expect(v1!.quality.samples).toBe(100);
    expect(v1!.quality.accuracy).toBeCloseTo(0.8, 10);
    expect(whileDown).toHaveLength(50);
    // Nothing was stored again after the restart: the new process stored only the 50 new records.
    expect(await metricValue(monitor, 'infermesh_health_records_total', { outcome: 'stored' })).toBe(50);
  });

  it('rejects malformed records and feedback with a reason, and keeps going', async () => {
    const before = storedRecords(monitor, 'mlp', '1');
    const js = jetstream(nodeNc);
    const good = { model: 'mlp', version: '1', requestId: 'hand-made', timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'], values: [0, 0, 0, 0] }], outputs: [] };
    await js.publish('infermesh.predictions.mlp', new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]));
    await js.publish('infermesh.predictions.mlp', predictionRecordCodec.encode({ ...good, inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'], values: [1, 2] }] }));
    await js.publish('infermesh.predictions.mlp', predictionRecordCodec.encode({ ...good, version: '' }));
    await js.publish('infermesh.predictions.mlp', predictionRecordCodec.encode({ ...good, inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '4'], values: [] }] }));
    await js.publish('infermesh.feedback.mlp', new Uint8Array([0x0a, 0xff]));
    await js.publish('infermesh.feedback.mlp', feedbackCodec.encode({ model: 'mlp', requestId: 'never-served', label: '1' }));
    await js.publish('infermesh.predictions.mlp', predictionRecordCodec.encode(good));

    await waitFor('the good record after the bad ones', () => monitor.healthStore.findRecord('mlp', 'hand-made') !== undefined);
    expect(storedRecords(monitor, 'mlp', '1')).toBe(before + 1);
    const rejected = (kind: string, reason: string) => metricValue(monitor, 'infermesh_health_rejected_total', { kind, reason });
    expect(await rejected('record', 'decode')).toBe(1);
    expect(await rejected('record', 'shape_mismatch')).toBe(1);
    expect(await rejected('record', 'missing_field')).toBe(1);
    expect(await rejected('record', 'bad_shape')).toBe(1);
    await waitFor('the rejected feedback', async () => (await rejected('feedback', 'unknown_id')) === 1);
    expect(await rejected('feedback', 'decode')).toBe(1);
    // The monitor still answers.
    expect(monitor.health.health('mlp', '1')[0]!.records).toBe(before + 1);
  });
});
