// Registry housekeeping: the start-up sweep of orphaned artifacts, and a
// registry that starts while NATS is unreachable.
import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/net/index.js';
import { NatsServerProcess } from '../../shared/nats/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { eventually, startRegistry, streamMessages, tempDir, tinyModel } from './registry-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('registry start-up sweep', () => {
  it('removes stored artifacts no version uses once older than the upload timeout, and says how many', async () => {
    const nats = await startNats();
    cleanups.push(() => nats.close());
    const dir = tempDir('infermesh-sweep-');
    cleanups.push(() => dir.cleanup());
    const first = await startRegistry(dir.path, nats.url);
    const client = createRegistryClient(first.address);
    const used = tinyModel(1);
    await client.pushVersion('swept', used);
    client.close();
    await first.close();
    expect(first.orphansRemoved).toBe(0);

    // What a crash between an upload's rename and its commit leaves: a stored file without a row.
    const place = (bytes: Uint8Array, ageMs: number) => {
      const hash = sha256(bytes);
      const folder = join(dir.path, 'artifacts', 'sha256', hash.slice(0, 2));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, hash), bytes);
      const t = (Date.now() - ageMs) / 1000;
      utimesSync(join(folder, hash), t, t);
      return join(folder, hash);
    };
    const old = place(tinyModel(2), 60 * 60_000);
    const young = place(tinyModel(3), 1000); // an upload of another registry may be between rename and commit
    const usedPath = join(dir.path, 'artifacts', 'sha256', sha256(used).slice(0, 2), sha256(used));
    utimesSync(usedPath, (Date.now() - 60 * 60_000) / 1000, (Date.now() - 60 * 60_000) / 1000);

    const second = await startRegistry(dir.path, nats.url, { orphanArtifactAgeMs: 15 * 60_000 });
    cleanups.push(() => second.close());
    expect(second.orphansRemoved).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(usedPath)).toBe(true);
    const again = createRegistryClient(second.address);
    try {
      const out = await again.download('swept', {});
      let n = 0;
      for await (const chunk of out.chunks) n += chunk.byteLength;
      expect(n).toBe(used.byteLength);
    } finally {
      again.close();
    }
  });
});

describe('registry without NATS at start', () => {
  let registry: ServiceProcess | undefined;
  afterAll(async () => {
    await registry?.stop();
  });

  it('serves, says events are pending on its ready line, and publishes them once NATS comes up', async () => {
    const dir = tempDir('infermesh-nonats-');
    cleanups.push(() => dir.cleanup());
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    registry = await spawnService(['registry', '--grpc-port', '0', '--data-dir', join(dir.path, 'data'), '--nats', url]);
    expect(registry.endpoints).toMatchObject({ nats: 'unreachable', events: 'pending' });
    const client = createRegistryClient(registry.endpoints.grpc!);
    try {
      const v = await client.pushVersion('offline', tinyModel(1), { alias: 'production' });
      expect(v.version).toBe(1);
    } finally {
      client.close();
    }
    const nats = new NatsServerProcess({ dataDir: join(dir.path, 'nats'), port });
    await nats.start();
    cleanups.push(() => nats.stop());
    const nc = await connect({ servers: url });
    cleanups.push(() => nc.close());
    const messages = await eventually('the held events on REGISTRY', async () => {
      const m = await streamMessages(nc);
      return m.length >= 3 && m;
    }, 30_000);
    expect(messages.map((m) => m.subject.split('.').slice(2, 4).join('.'))).toEqual(['model.created', 'version.created', 'alias.changed']);
    expect(registry.output()).toMatch(/NATS is unreachable; serving anyway/);
  });
});

describe('outbox pruning', () => {
  it('prunes what every REGISTRY consumer has passed; Watch resumes from the outbox where it has the rows, from a snapshot otherwise', async () => {
    const nats = await startNats();
    cleanups.push(() => nats.close());
    const dir = tempDir('infermesh-prune-');
    cleanups.push(() => dir.cleanup());
    const registry = await startRegistry(dir.path, nats.url, { pruner: { intervalMs: 0, minAgeMs: 0 } });
    cleanups.push(() => registry.close());
    const client = createRegistryClient(registry.address);
    cleanups.push(() => client.close());
    await client.pushVersion('pruned', tinyModel(1), { alias: 'production' }); // events 1-3
    await client.pushVersion('pruned', tinyModel(2)); // 4
    await client.setAlias('pruned', 'production', 2); // 5
    await registry.publisher.flush(10_000);

    // A durable consumer (a node) that has acked the first 4 events.
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add('REGISTRY', { durable_name: 'slow-node', ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(nc).consumers.get('REGISTRY', 'slow-node');
    for (let i = 0; i < 4; i++) {
      const m = await consumer.next({ expires: 5000 });
      m!.ack();
    }
    await eventually('the acks to land', async () => (await jsm.consumers.info('REGISTRY', 'slow-node')).ack_floor.stream_seq === 4);

    expect(await registry.pruner.pruneOnce()).toBe(4);
    expect(await registry.store.firstSequence()).toBe(5);

    const watch = async (fromSequence: number, count: number, afterEvent: (n: number) => Promise<unknown> = async () => {}) => {
      const stop = new AbortController();
      const got = [];
      for await (const e of client.watch({ fromSequence, model: 'pruned', signal: stop.signal })) {
        got.push(e);
        if (got.length === count) stop.abort();
        else await afterEvent(got.length);
      }
      return got;
    };
    // From a retained sequence: the outbox's own events.
    expect((await watch(5, 1)).map((e) => [Number(e.sequence), e.event])).toEqual([[5, 'aliasChanged']]);
    // From a pruned one: the state as of 5 (model, two versions, the alias), then what commits after.
    // Once the snapshot (4 events) is through, a new change (6) follows live.
    const events = await watch(1, 5, async (n) => n === 4 && client.setAlias('pruned', 'staging', 1));
    expect(events.map((e) => [Number(e.sequence), e.event])).toEqual([
      [5, 'modelCreated'],
      [5, 'versionCreated'],
      [5, 'versionCreated'],
      [5, 'aliasChanged'],
      [6, 'aliasChanged'],
    ]);
    expect(events[3]!.aliasChanged).toMatchObject({ alias: 'production', version: 2 });
    expect(events[4]!.aliasChanged).toMatchObject({ alias: 'staging', version: 1 });
  });
});
