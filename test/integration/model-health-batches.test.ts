import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { startNats } from '../helpers/nats.js';
import { connectNats } from '../../shared/nats/index.js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import {
  PREDICTION_RECORD_BATCH_TYPE,
  PREDICTIONS_MESSAGE_HEADER,
  PREDICTIONS_STREAM,
  predictionRecordBatchCodec,
  type PredictionRecord,
} from '../../shared/monitor-client/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { parseAlertRules, startMonitor, type Monitor } from '../../services/monitor/index.js';
import { TEST_RULES, metricValue, sendTraffic, storedRecords, waitFor, writeHealthRepository } from './health-fixtures.js';

// Records as nodes publish them by default: several per message (PredictionRecordBatch).
let nats: Awaited<ReturnType<typeof startNats>>;
let dataDir: string;
let nodeNc: NatsConnection;
let monitorNc: NatsConnection;
let monitor: Monitor;
let node: InferenceNode;
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
  dataDir = mkdtempSync(join(tmpdir(), 'infermesh-health-batches-'));
  nats = await startNats();
  nodeNc = await connectNats({ url: nats.url });
  monitorNc = await connectNats({ url: nats.url });
  monitor = await startMonitor(monitorOptions());
  node = await startInferenceNode({ repositoryDir: await writeHealthRepository(), logger: silentLogger, records: { nc: nodeNc } });
  client = createInferenceClient(node.grpcAddress);
});

afterAll(async () => {
  client?.close();
  await node?.close();
  await monitor?.close();
  await nodeNc?.close();
  await monitorNc?.close();
  await nats?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('prediction records in batches', () => {
  it('publishes several records per message and the monitor stores each record once', async () => {
    await sendTraffic(client, 300, { seed: 51, version: '1' });
    await waitFor('every record published', () => node.recorder!.stats().published === 300);
    const stats = node.recorder!.stats();
    expect(stats.droppedPublishFailed + stats.droppedQueueFull).toBe(0);
    // 16 requests at a time, records flushed per 100 ms: far fewer messages than records.
    expect(stats.batchesPublished).toBeLessThan(300 / 4);
    expect(await streamMessages()).toBe(stats.batchesPublished);
    await waitFor('the monitor to store all 300', () => storedRecords(monitor, 'mlp', '1') === 300);
    expect(await metricValue(monitor, 'infermesh_health_records_total', { outcome: 'stored' })).toBe(300);
  });

  it('resumes after a monitor restart without storing a batch twice', async () => {
    await monitor.close();
    await sendTraffic(client, 100, { seed: 52, version: '1' });
    await waitFor('the records published', () => node.recorder!.stats().published === 400);
    monitor = await startMonitor(monitorOptions());
    await waitFor('the records sent while the monitor was down', () => storedRecords(monitor, 'mlp', '1') === 400);
    // The new process stored only the 100 new records, each once.
    expect(await metricValue(monitor, 'infermesh_health_records_total', { outcome: 'stored' })).toBe(100);
    expect(monitor.health.health('mlp', '1')[0]!.records).toBe(400);
  });

  it('stores the good records of a batch, counts a malformed one, and rejects a bad batch whole', async () => {
    const before = storedRecords(monitor, 'mlp', '1');
    const js = jetstream(nodeNc);
    const h = headers();
    h.set(PREDICTIONS_MESSAGE_HEADER, PREDICTION_RECORD_BATCH_TYPE);
    const record = (requestId: string, values: number[]): PredictionRecord => ({
      model: 'mlp', version: '1', requestId, timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '4'], values }], outputs: [],
    });
    await js.publish('infermesh.predictions.mlp', new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]), { headers: h });
    const unknown = headers();
    unknown.set(PREDICTIONS_MESSAGE_HEADER, 'infermesh.events.v1.Nothing');
    await js.publish('infermesh.predictions.mlp', new Uint8Array(0), { headers: unknown });
    await js.publish(
      'infermesh.predictions.mlp',
      predictionRecordBatchCodec.encode({ records: [record('batch-a', [0, 0, 0, 0]), record('batch-bad', [1, 2]), record('batch-b', [1, 1, 1, 1])] }),
      { headers: h },
    );
    await waitFor('the batch', () => monitor.healthStore.findRecord('mlp', 'batch-b') !== undefined);
    expect(monitor.healthStore.findRecord('mlp', 'batch-a')).toBeDefined();
    expect(monitor.healthStore.findRecord('mlp', 'batch-bad')).toBeUndefined();
    expect(storedRecords(monitor, 'mlp', '1')).toBe(before + 2);
    const rejected = (reason: string) => metricValue(monitor, 'infermesh_health_rejected_total', { kind: 'record', reason });
    expect(await rejected('decode')).toBe(1);
    expect(await rejected('unknown_type')).toBe(1);
    expect(await rejected('shape_mismatch')).toBe(1);
  });
});
