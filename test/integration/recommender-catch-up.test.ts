// The recommender follows the registry's `production` alias on a durable
// consumer: an alias moved while the recommender was stopped is applied when it
// comes back on the same data dir (the same identity, so the same consumer).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient, REGISTRY_STREAM, type RegistryClient } from '../../shared/registry-client/index.js';
import { createRecommenderClient, createRecommenderService, type RecommenderService } from '../../services/recommender/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { generateSynthetic } from '../../services/recommender/synth/index.js';
import { startNats } from '../helpers/nats.js';
import { eventually, tempDirs } from './mesh-fixtures.js';
import { startRegistry } from './registry-fixtures.js';

const data = generateSynthetic({ users: 40, items: 60, dim: 3, interactions: 800, seed: 5 });
const PARAMS = JSON.stringify({ dim: 2, epochs: 1 });

describe('recommender catch-up (durable registry follower)', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let registryService: RegistryService;
  let registry: RegistryClient;
  const dirs = tempDirs();
  let dataDir: string;
  const running: RecommenderService[] = [];

  const startRecommender = async () => {
    const service = await createRecommenderService({
      dataDir,
      natsUrl: nats.url,
      registryAddress: registryService.address,
      // Training and following need no inference node; Recommend is not called here.
      inferenceAddress: '127.0.0.1:1',
      trainInWorker: false,
      maxK: 10,
    });
    running.push(service);
    return service;
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    registryService = await startRegistry(dirs.make('catch-up-registry-'), nats.url);
    registry = createRegistryClient(registryService.address);
    dataDir = dirs.make('catch-up-recommender-');
  });

  afterAll(async () => {
    for (const s of running) await s.close();
    registry?.close();
    await registryService?.close();
    await nc?.drain();
    await nats?.close();
    dirs.cleanup();
  });

  it('applies a production move made while it was stopped once it is back on the same data dir', async () => {
    const first = await startRecommender();
    const rec = createRecommenderClient(first.address);
    try {
      await rec.upsertItems(Array.from({ length: 60 }, (_, i) => ({ itemId: `item-${i}` })));
      await rec.recordInteractions(Array.from(data.train.user, (u, k) => ({ userId: `user-${u}`, itemId: `item-${data.train.item[k]!}`, kind: 'click', weight: 1, timeUnixMs: String(1_700_000_000_000 + k) })));
      expect((await rec.train({ paramsJson: PARAMS })).version).toBe(1);
      const forced = await rec.train({ force: true, paramsJson: PARAMS });
      expect(forced).toMatchObject({ version: 2, promoted: true });
    } finally {
      rec.close();
    }
    expect(first.engine.serving()?.stored.version).toBe(2);
    const identity = readFileSync(join(dataDir, 'registry-follower-id'), 'utf8').trim();
    await first.close();

    // While it is stopped, an operator rolls production back to version 1.
    await registry.setAlias('recommender', 'production', 1);

    const second = await startRecommender();
    await eventually(async () => second.engine.serving()?.stored.version === 1, 'the recommender to serve the version production moved to while it was stopped', 30_000, 50);
    expect(second.store.latestPromoted()?.version).toBe(1);
    // The same identity, and with it the same durable consumer, which has nothing left to deliver.
    expect(readFileSync(join(dataDir, 'registry-follower-id'), 'utf8').trim()).toBe(identity);
    const jsm = await jetstreamManager(nc);
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list(REGISTRY_STREAM)) if (c.name.startsWith('recommender-')) consumers.push(c.name);
    expect(consumers).toEqual([`recommender-${identity}`]);
    await eventually(async () => (await jsm.consumers.info(REGISTRY_STREAM, `recommender-${identity}`)).num_pending === 0, 'the consumer to be caught up');
  });
});
