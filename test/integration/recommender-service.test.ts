// The recommender end to end through real processes: NATS, the registry, an
// inference node in mesh mode and the recommender itself. Interactions in ->
// train -> registered with lineage -> promoted -> Recommend served through the
// node; a worse model is not promoted; a new user's first interactions move
// their recommendations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { createRecommenderClient, INTERACTIONS_STREAM, INTERACTIONS_SUBJECT, interactionCodec, type RecommenderClient } from '../../services/recommender/index.js';
import { generateSynthetic } from '../../services/recommender/synth/index.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { eventually, tempDirs } from './mesh-fixtures.js';

const USERS = 150;
const ITEMS = 240;
const data = generateSynthetic({ users: USERS, items: ITEMS, dim: 6, interactions: 9000, seed: 11 });
const itemId = (i: number) => `item-${i}`;
const userId = (u: number) => `user-${u}`;
const genre = (i: number) => (i % 3 === 0 ? 'drama' : 'comedy');

async function rejectsWith(p: Promise<unknown>, code: Code, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InfermeshError);
  expect((err as InfermeshError).code).toBe(code);
  expect((err as InfermeshError).message).toMatch(pattern);
}

describe('recommender service', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  const dirs = tempDirs();
  const processes: ServiceProcess[] = [];
  let rec: RecommenderClient;
  let registry: RegistryClient;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    const natsUrl = nats.url;
    const reg = await spawnService(['registry', '--grpc-port', '0', '--data-dir', dirs.make('rec-registry-'), '--nats', natsUrl]);
    processes.push(reg);
    const node = await spawnService(['inference', '--grpc-port', '0', '--registry', reg.endpoints.grpc!, '--nats', natsUrl, '--data-dir', dirs.make('rec-node-'), '--heartbeat-interval-ms', '200']);
    processes.push(node);
    const recommender = await spawnService([
      'recommender', '--grpc-port', '0', '--nats', natsUrl, '--registry', reg.endpoints.grpc!, '--inference', node.endpoints.grpc!,
      '--data-dir', dirs.make('rec-data-'), '--dim', '16', '--epochs', '6', '--max-k', '50',
    ]);
    processes.push(recommender);
    rec = createRecommenderClient(recommender.endpoints.grpc!);
    registry = createRegistryClient(reg.endpoints.grpc!);
    nc = await connect({ servers: natsUrl });
  }, 120_000);

  afterAll(async () => {
    rec?.close();
    registry?.close();
    await nc?.drain();
    for (const p of processes.reverse()) await p.stop();
    await nats?.close();
    dirs.cleanup();
  });

  it('takes a catalogue and interactions, publishing each interaction to JetStream', async () => {
    const created = await rec.upsertItems(Array.from({ length: ITEMS }, (_, i) => ({ itemId: itemId(i), labels: { genre: genre(i) } })));
    expect(created).toEqual({ created: ITEMS, updated: 0 });
    const list = Array.from(data.train.user, (u, k) => ({ userId: userId(u), itemId: itemId(data.train.item[k]!), kind: 'click', weight: 1, timeUnixMs: String(1_700_000_000_000 + k) }));
    expect(await rec.recordInteractions(list)).toBe(list.length);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(INTERACTIONS_STREAM)).state.messages).toBe(list.length);
    const msg = await jsm.streams.getMessage(INTERACTIONS_STREAM, { seq: 1 });
    expect(interactionCodec.decode(msg!.data)).toMatchObject({ userId: list[0]!.userId, itemId: list[0]!.itemId, kind: 'click' });
  });

  it('rejects bad input with INVALID_ARGUMENT naming the field, and serves an unknown user the most popular items', async () => {
    await rejectsWith(rec.recordInteractions([{ userId: 'u', itemId: 'no-such-item' }]), Code.INVALID_ARGUMENT, /item_id 'no-such-item'/);
    await rejectsWith(rec.recordInteractions([{ userId: '', itemId: itemId(1) }]), Code.INVALID_ARGUMENT, /user_id/);
    await rejectsWith(rec.recommend({ userId: userId(1), k: 0 }), Code.INVALID_ARGUMENT, /\bk\b/);
    await rejectsWith(rec.recommend({ userId: userId(1), k: 1_000_000 }), Code.INVALID_ARGUMENT, /\bk\b.*50/);
    await rejectsWith(rec.recommend({ userId: '', k: 5 }), Code.INVALID_ARGUMENT, /user_id/);
    await rejectsWith(rec.upsertItems([{ itemId: '' }]), Code.INVALID_ARGUMENT, /item_id/);
    const cold = await rec.recommend({ userId: 'nobody-yet', k: 5 });
    expect(cold.coldStart).toBe(true);
    expect(cold.items).toHaveLength(5);
    const scores = cold.items.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('trains, registers the scorer with lineage, promotes it, and serves Recommend through the inference node', async () => {
    const epochs: number[] = [];
    const result = await rec.train({}, (p) => epochs.push(p.epoch));
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.promoted).toBe(true);
    expect(result.version).toBe(1);
    expect(result.metrics['hr@10']!).toBeGreaterThan(result.metrics['popularity_hr@10']!);
    const production = await registry.getVersion('recommender', { alias: 'production' });
    expect(production.version).toBe(1);
    expect(production.lineage?.metrics['ndcg@10']).toBeCloseTo(result.metrics['ndcg@10']!, 6);
    expect(production.lineage?.dataset).toMatch(/interactions/);
    expect(production.labels['ials.dim']).toBe('16');
    expect(production.signature?.inputs.map((t) => t.name).sort()).toEqual(['mask', 'user']);

    const r = await eventually(() => rec.recommend({ userId: userId(0), k: 10, excludeSeen: true }).catch(() => undefined), 'Recommend through the node', 60_000, 250);
    expect(r.coldStart).toBe(false);
    expect(r.modelVersion).toBe(1);
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(r.items).toHaveLength(10);
    const seen = new Set(Array.from(data.train.item.filter((_, k) => data.train.user[k] === 0), itemId));
    for (const it of r.items) expect(seen.has(it.itemId)).toBe(false);

    const dramas = await rec.recommend({ userId: userId(0), k: 8, itemLabels: { genre: 'drama' }, excludeItems: [itemId(0), 'not-an-item'] });
    expect(dramas.items).toHaveLength(8);
    for (const it of dramas.items) {
      expect(genre(Number(it.itemId.slice(5)))).toBe('drama');
      expect(it.itemId).not.toBe(itemId(0));
    }

    const info = await rec.modelInfo();
    expect(info).toMatchObject({ modelName: 'recommender', version: 1, users: USERS, items: ITEMS, maxK: 50 });
    expect(info.metrics['hr@10']).toBeCloseTo(result.metrics['hr@10']!, 6);

    const similar = await rec.similarItems(itemId(3), 5);
    expect(similar.items).toHaveLength(5);
    expect(similar.items.map((i) => i.itemId)).not.toContain(itemId(3));
    await rejectsWith(rec.similarItems('missing', 5), Code.NOT_FOUND, /missing/);
  });

  it('answers many users on one RecommendStream', async () => {
    const requests = Array.from({ length: 24 }, (_, n) => ({ userId: userId(n), k: 5, requestId: `r${n}` }));
    const answers = await rec.recommendMany(requests);
    expect(answers.map((a) => a.requestId).sort()).toEqual(requests.map((r) => r.requestId).sort());
    for (const a of answers) {
      expect(a.userId).toBe(userId(Number(a.requestId.slice(1))));
      expect(a.items).toHaveLength(5);
    }
  });

  it("moves a new user's recommendations with their first interactions", async () => {
    // The newcomer clicks a dozen of user 7's items; the rest of user 7's items are
    // what someone with that taste would want next.
    const sevens = Array.from(data.train.item.filter((_, k) => data.train.user[k] === 7), itemId);
    const clicks = sevens.slice(0, 12);
    const wanted = new Set(sevens.slice(12));
    const before = await rec.recommend({ userId: 'newcomer', k: 20, excludeItems: clicks });
    expect(before.coldStart).toBe(true);
    await rec.recordInteractions(clicks.map((i) => ({ userId: 'newcomer', itemId: i })));
    const after = await rec.recommend({ userId: 'newcomer', k: 20, excludeSeen: true });
    expect(after.coldStart).toBe(false);
    expect(after.modelVersion).toBe(1);
    expect(after.items.map((i) => i.itemId)).not.toEqual(before.items.map((i) => i.itemId));
    for (const it of after.items) expect(clicks).not.toContain(it.itemId);
    const hits = (items: { itemId: string }[]) => items.filter((i) => wanted.has(i.itemId)).length;
    expect(hits(after.items)).toBeGreaterThan(hits(before.items));
  });

  it('records interactions other services publish on INTERACTIONS (durable consumer)', async () => {
    const before = Number((await rec.modelInfo()).recordedInteractions);
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish(INTERACTIONS_SUBJECT, interactionCodec.encode({ userId: 'external', itemId: itemId(5), kind: 'view', weight: 1, timeUnixMs: String(Date.now()), eventId: 'ext-1' }), { msgID: 'ext-1' });
    await eventually(async () => Number((await rec.modelInfo()).recordedInteractions) === before + 1, 'the consumer to record the event', 20_000);
  });

  it('registers a worse model but keeps production where it was; --force promotes it', async () => {
    const worse = await rec.train({ paramsJson: JSON.stringify({ dim: 1, epochs: 1 }) });
    expect(worse.version).toBe(2);
    expect(worse.promoted).toBe(false);
    expect(worse.reason).toMatch(/not promoted/);
    expect(worse.previousProductionVersion).toBe(1);
    expect((await registry.getVersion('recommender', { alias: 'production' })).version).toBe(1);
    const v2 = await registry.getVersion('recommender', { version: 2 });
    expect(v2.lineage?.parentVersion).toBe(1);
    expect((await rec.recommend({ userId: userId(3), k: 3 })).modelVersion).toBe(1);
    await rejectsWith(rec.train({ paramsJson: '{"dim": 0}' }), Code.INVALID_ARGUMENT, /dim/);

    const forced = await rec.train({ force: true, paramsJson: JSON.stringify({ dim: 1, epochs: 1 }) });
    expect(forced.promoted).toBe(true);
    expect(forced.reason).toMatch(/forced/);
    expect((await registry.getVersion('recommender', { alias: 'production' })).version).toBe(forced.version);
    const served = await eventually(async () => {
      const r = await rec.recommend({ userId: userId(3), k: 3 }).catch(() => undefined);
      return r && r.modelVersion === forced.version ? r : undefined;
    }, 'the forced version to serve', 60_000, 250);
    expect(served.items).toHaveLength(3);

    // An operator rolls production back to version 1: the recommender follows.
    await registry.setAlias('recommender', 'production', 1);
    await eventually(async () => (await rec.recommend({ userId: userId(3), k: 3 }).catch(() => undefined))?.modelVersion === 1, 'the rollback to serve', 30_000, 200);
    expect((await rec.modelInfo()).version).toBe(1);
  });
});
