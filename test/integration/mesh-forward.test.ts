// Heartbeats and forwarding: a node that lacks a model forwards the request once
// to a peer whose heartbeat says it holds it.
import { Metadata } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { connectNats } from '../../shared/nats/index.js';
import type { NodeHeartbeat__Output } from '../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import { FORWARDED_BY_HEADER, HEARTBEAT_SUBJECTS, heartbeatCodec } from '../../services/inference/mesh/index.js';
import { writeTestRepository } from '../fixtures/models.js';
import { startNats } from '../helpers/nats.js';
import type { ServiceProcess } from '../helpers/service-process.js';
import { ask, constantModel, eventually, spawnNode, spawnRegistry, tempDirs } from './mesh-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let nc: NatsConnection;
let registry: ServiceProcess;
let holder: ServiceProcess;
let other: ServiceProcess;
let holderClient: InferenceClient;
let otherClient: InferenceClient;
const beats = new Map<string, NodeHeartbeat__Output>();
const dirs = tempDirs();

beforeAll(async () => {
  nats = await startNats();
  nc = await connectNats({ url: nats.url });
  nc.subscribe(HEARTBEAT_SUBJECTS, { callback: (_err, msg) => {
    const beat = heartbeatCodec().decode(msg.data);
    beats.set(beat.nodeId, beat);
  } });
  registry = await spawnRegistry(nats.url, dirs.make('mesh-registry-'));
  // The holder also serves a local model repository the registry knows nothing about.
  const repo = dirs.make('mesh-repo-');
  await writeTestRepository({ 'only-here': { versions: { '1': constantModel(42) } } }, repo);
  holder = await spawnNode(nats.url, registry.endpoints.grpc!, dirs.make('mesh-holder-'), ['--node-id', 'holder', '--model-repository', repo]);
  other = await spawnNode(nats.url, registry.endpoints.grpc!, dirs.make('mesh-other-'), ['--node-id', 'other']);
  holderClient = createInferenceClient(holder.endpoints.grpc!);
  otherClient = createInferenceClient(other.endpoints.grpc!);
});

afterAll(async () => {
  holderClient?.close();
  otherClient?.close();
  await other?.stop();
  await holder?.stop();
  await registry?.stop();
  await nc?.drain();
  await nats?.close();
  dirs.cleanup();
});

const successes = async (client: InferenceClient, model: string) => Number((await client.modelStatistics(model))[0]?.inferenceCount ?? 0);

describe('mesh heartbeats and forwarding', () => {
  it('every node beats its id, address, devices, models with state and queue depth, and memory', async () => {
    const beat = await eventually(async () => beats.get('holder'), 'a heartbeat from the holder');
    expect(beat.grpcAddress).toBe(holder.endpoints.grpc);
    expect(beat.intervalMs).toBe(200);
    expect(beat.devices).toContain('cpu');
    expect(beat.memory?.rssBytes).not.toBe('0');
    expect(beat.leaving).toBe(false);
    expect(beat.models).toEqual([
      { model: 'only-here', version: '1', state: 'MODEL_VERSION_STATE_READY', queueDepth: 0, inFlight: 0, devices: ['cpu'], servesDefault: true },
    ]);
    const other = await eventually(async () => beats.get('other'), 'a heartbeat from the other node');
    expect(other.models).toEqual([]);
    const seq = beat.sequence;
    await eventually(async () => beats.get('holder')!.sequence !== seq, 'the next beat');
  });

  it('a node without the model forwards to the peer that holds it, and does not load it itself', async () => {
    const before = await successes(holderClient, 'only-here');
    // Until the other node has heard the holder's beat it answers NOT_FOUND.
    await eventually(async () => (await ask(otherClient, 'only-here', '', 2000)) === 42, 'the other node to forward');
    expect(await ask(otherClient, 'only-here', '1')).toBe(42);
    const answered = await Promise.all(Array.from({ length: 20 }, () => ask(otherClient, 'only-here')));
    expect(answered.every((v) => v === 42)).toBe(true);
    expect(await successes(holderClient, 'only-here')).toBeGreaterThanOrEqual(before + 22);
    expect((await otherClient.repositoryIndex()).map((m) => m.name)).not.toContain('only-here');
  });

  it('forwards at most once: a request already forwarded is not forwarded again', async () => {
    await eventually(async () => (await ask(otherClient, 'only-here', '', 2000)) === 42, 'forwarding to work');
    const metadata = new Metadata();
    metadata.set(FORWARDED_BY_HEADER, 'some-node');
    const forwarded = otherClient.infer({ modelName: 'only-here', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, { metadata, timeoutMs: 5000 });
    // The other node neither holds it nor finds it in the registry: NOT_FOUND, not a second hop.
    await expect(forwarded).rejects.toMatchObject({ code: 5 });
  });

  it('a peer that leaves is dropped at once: requests for its model are no longer forwarded', async () => {
    await eventually(async () => (await ask(otherClient, 'only-here', '', 2000)) === 42, 'forwarding to work');
    expect(await holder.stop()).toBe(0);
    await eventually(async () => beats.get('holder')?.leaving, "the holder's last beat, saying it leaves");
    await expect(ask(otherClient, 'only-here')).rejects.toMatchObject({ code: 5 });
  });
});
