import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../../test/helpers/nats.js';
import { silentLogger } from '../logging/index.js';
import { ensureStream } from '../nats/index.js';
import { createRegistryEventFollower, type FollowedRegistryEvent, type RegistryEventFollowerOptions } from './registry-event-follower.js';
import { REGISTRY_STREAM, REGISTRY_STREAM_SPEC, encodeRegistryEvent, registryEventSubject } from './registry-events.js';

describe('registry event follower (durable JetStream consumer, real nats-server)', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let sequence = 0;

  /** Publishes a version.created event of `model` to REGISTRY, as the registry does. */
  const publish = async (model: string, version: number) => {
    sequence += 1;
    await jetstream(nc).publish(registryEventSubject('versionCreated', model), encodeRegistryEvent({ sequence, versionCreated: { model, version } }), { msgID: `test:${sequence}` });
  };

  /** Starts a follower that records each event, and resolves `until(n)` once n were handled. */
  const follow = (options: Partial<RegistryEventFollowerOptions> & { durableName: string }, handle?: (e: FollowedRegistryEvent) => Promise<void>) => {
    const seen: FollowedRegistryEvent[] = [];
    const waiters: { n: number; resolve: () => void }[] = [];
    const follower = createRegistryEventFollower({
      nc,
      logger: silentLogger,
      backoff: { initialDelayMs: 20, maxDelayMs: 100 },
      ...options,
      handle: async (e) => {
        seen.push(e);
        await handle?.(e);
        for (const w of waiters) if (seen.length >= w.n) w.resolve();
      },
    });
    follower.start();
    const until = (n: number) => new Promise<void>((resolve) => (seen.length >= n ? resolve() : waiters.push({ n, resolve })));
    return { follower, seen, until };
  };
  const versions = (seen: FollowedRegistryEvent[]) => seen.map((e) => `${e.event.versionCreated?.model}/${e.event.versionCreated?.version}`);

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStream(nc, REGISTRY_STREAM_SPEC);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.close();
  });

  it('redelivers an event whose handler failed before any later one, then acks it', async () => {
    await publish('flaky', 1);
    await publish('flaky', 2);
    let failures = 1;
    const f = follow({ durableName: 'test-redeliver', model: 'flaky' }, async () => {
      if (failures-- > 0) throw new Error('registry unreachable');
    });
    await f.until(3);
    await f.follower.close();
    expect(versions(f.seen)).toEqual(['flaky/1', 'flaky/1', 'flaky/2']);
    expect(f.seen.map((e) => e.deliveryCount)).toEqual([1, 2, 1]);
    const info = await (await jetstreamManager(nc)).consumers.info(REGISTRY_STREAM, 'test-redeliver');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it('starts a new consumer where startAt says, and resumes an existing one after its last ack', async () => {
    await publish('resume', 1);
    const fromNew = follow({ durableName: 'test-new', model: 'resume', startAt: 'new' });
    const fromAll = follow({ durableName: 'test-all', model: 'resume' });
    await fromAll.until(1);
    await publish('resume', 2);
    await Promise.all([fromNew.until(1), fromAll.until(2)]);
    await Promise.all([fromNew.follower.close(), fromAll.follower.close()]);
    expect(versions(fromNew.seen)).toEqual(['resume/2']);
    expect(versions(fromAll.seen)).toEqual(['resume/1', 'resume/2']);

    await publish('resume', 3);
    const again = follow({ durableName: 'test-all', model: 'resume' });
    await again.until(1);
    await again.follower.close();
    expect(versions(again.seen)).toEqual(['resume/3']);
  });

  it('does not ack an event whose handler rejected because the follower closed: it comes again', async () => {
    await publish('closing', 1);
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    // A short ack wait at creation: the unacked event comes again after it.
    const f = follow({ durableName: 'test-closing', model: 'closing', ackWaitMs: 1000 }, (e) => {
      entered();
      return new Promise<void>((_, reject) => e.signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true }));
    });
    await inHandler;
    const closing = f.follower.close();
    expect(f.follower.close()).toBe(closing);
    await closing;
    const again = follow({ durableName: 'test-closing', model: 'closing' });
    await again.until(1);
    await again.follower.close();
    expect(versions(again.seen)).toEqual(['closing/1']);
    expect(again.seen[0]!.deliveryCount).toBe(2);
  });

  it('closes when its AbortSignal aborts, and terminates an undecodable message instead of handing it on', async () => {
    await jetstream(nc).publish(registryEventSubject('versionCreated', 'garbled'), new Uint8Array([0xff, 0xff, 0xff]));
    await publish('garbled', 7);
    const stop = new AbortController();
    const f = follow({ durableName: 'test-signal', model: 'garbled', signal: stop.signal });
    await f.until(1);
    expect(versions(f.seen)).toEqual(['garbled/7']);
    stop.abort();
    await f.follower.close();
    await publish('garbled', 8);
    const info = await (await jetstreamManager(nc)).consumers.info(REGISTRY_STREAM, 'test-signal');
    expect(info.num_pending).toBe(1);
    expect(f.seen).toHaveLength(1);

    // Aborted before start: it never opens its consumer.
    const aborted = follow({ durableName: 'test-aborted', signal: AbortSignal.abort() });
    await aborted.follower.close();
    await expect((await jetstreamManager(nc)).consumers.info(REGISTRY_STREAM, 'test-aborted')).rejects.toThrow(/consumer not found/i);
  });

  it('refuses a durable name JetStream would not take, naming it', () => {
    expect(() => createRegistryEventFollower({ nc, durableName: 'has.dot', logger: silentLogger, handle: async () => undefined })).toThrow(/durableName.*'has\.dot'/);
  });
});
