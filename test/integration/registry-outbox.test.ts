import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../shared/nats/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import type { RegistryService, RegistryServiceOptions } from '../../services/registry/index.js';
import { startNats } from '../helpers/nats.js';
import { eventually, startRegistry, streamMessages, tempDir, tinyModel } from './registry-fixtures.js';

const POSTGRES_URL = process.env.INFERMESH_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where the registry keeps its metadata, and a raw SQL handle to it (to simulate a crash between ack and mark). */
interface Backend {
  name: string;
  options(dataDir: string): Partial<RegistryServiceOptions>;
  sql(dataDir: string, statement: string): Promise<void>;
  cleanup(): Promise<void>;
}

const schema = `registry_outbox_${process.pid}_${Date.now().toString(36)}`;
const backends: Backend[] = [
  {
    name: 'sqlite',
    options: () => ({}),
    async sql(dataDir, statement) {
      const db = new Database(join(dataDir, 'registry.db'));
      db.exec(statement);
      db.close();
    },
    cleanup: async () => {},
  },
  {
    name: 'postgres',
    options: () => ({ database: POSTGRES_URL, postgresSchema: schema }),
    async sql(_dataDir, statement) {
      const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
      await client.connect();
      await client.query(statement);
      await client.end();
    },
    async cleanup() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  },
];

describe.each(backends)('registry outbox on $name', (backend) => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  const running: RegistryService[] = [];
  const dirs: ReturnType<typeof tempDir>[] = [];

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, reconnectTimeWaitMs: 100 });
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.close();
    for (const d of dirs) d.cleanup();
    await backend.cleanup();
  });

  const start = async (dataDir: string) => {
    const registry = await startRegistry(dataDir, nats.url, backend.options(dataDir));
    running.push(registry);
    return registry;
  };
  const modelEvents = async (model: string) => (await streamMessages(nc)).filter((m) => m.subject.endsWith(`.${model}`));

  it('a version pushed while NATS is down commits, and its event arrives once NATS is back', async () => {
    const dir = tempDir('infermesh-outbox-');
    dirs.push(dir);
    const registry = await start(dir.path);
    const client = createRegistryClient(registry.address);
    try {
      await client.pushVersion('outage', tinyModel(1));
      await eventually('the first events', async () => (await modelEvents('outage')).length === 2);

      await nats.stop();
      const v = await client.pushVersion('outage', tinyModel(2), { alias: 'production' });
      expect(v.version).toBe(2);
      expect((await registry.store.unpublishedEvents(10)).length).toBe(2);

      await nats.start();
      const events = await eventually('the events committed during the outage', async () => {
        const m = await modelEvents('outage');
        return m.length >= 4 && m;
      });
      expect(events.map((m) => m.subject)).toEqual([
        'infermesh.registry.model.created.outage',
        'infermesh.registry.version.created.outage',
        'infermesh.registry.version.created.outage',
        'infermesh.registry.alias.changed.outage',
      ]);
      expect(events[2]!.event.versionCreated!.version).toBe(2);
      await eventually('the outbox to be marked', async () => (await registry.store.unpublishedEvents(10)).length === 0);
    } finally {
      client.close();
    }
  });

  it('a restart loses no event and publishes none twice, even after a crash between ack and mark', async () => {
    const dir = tempDir('infermesh-outbox-');
    dirs.push(dir);
    const first = await start(dir.path);
    const client = createRegistryClient(first.address);
    for (let i = 0; i < 3; i++) await client.pushVersion('restart', tinyModel(10 + i));
    client.close();
    await first.close();
    const published = await modelEvents('restart');
    expect(published.map((m) => m.event.versionCreated?.version ?? 0)).toEqual([0, 1, 2, 3]);

    // As if the registry died after JetStream acknowledged the last two events but before it marked them.
    await backend.sql(dir.path, `UPDATE outbox SET published_at_ms = NULL WHERE sequence >= ${Number(published[2]!.event.sequence)}`);

    const second = await start(dir.path);
    expect(second.store.registryId).toBe(first.store.registryId);
    const client2 = createRegistryClient(second.address);
    try {
      await client2.pushVersion('restart', tinyModel(20));
      await eventually('the outbox to drain', async () => (await second.store.unpublishedEvents(10)).length === 0);
      const after = await modelEvents('restart');
      expect(after.map((m) => m.event.versionCreated?.version ?? 0)).toEqual([0, 1, 2, 3, 4]);
      const ids = after.map((m) => m.msgId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(after.map((m) => Number(m.event.sequence))).toEqual([1, 2, 3, 4, 5].map((n) => n + Number(published[0]!.event.sequence) - 1));
    } finally {
      client2.close();
    }
  });
});
