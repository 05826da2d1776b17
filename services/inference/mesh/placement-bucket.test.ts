import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats } from '../../../test/helpers/nats.js';
import { PlacementBucket } from './placement-bucket.js';

describe('PlacementBucket (JetStream key-value, compare-and-set)', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let bucket: PlacementBucket;
  const bytes = (s: string) => new TextEncoder().encode(s);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    bucket = new PlacementBucket(nc, { bucket: 'test-placement' });
    await bucket.open();
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.close();
  });

  it('creates a key only when it has no value; of two racing writers one wins', async () => {
    expect(await bucket.get('m.0')).toBeUndefined();
    const results = await Promise.all([bucket.put('m.0', bytes('a'), 0), bucket.put('m.0', bytes('b'), 0)]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    const entry = await bucket.get('m.0');
    expect(text(entry!.value)).toBe(results[0] !== undefined ? 'a' : 'b');
    expect(entry!.revision).toBe(results.find((r) => r !== undefined));
  });

  it('updates at the current revision only, and deletes to a tombstone a new claim can follow', async () => {
    const e = (await bucket.get('m.0'))!;
    expect(await bucket.put('m.0', bytes('stale'), e.revision - 1)).toBeUndefined();
    const rev = await bucket.put('m.0', bytes('c'), e.revision);
    expect(rev).toBeGreaterThan(e.revision);
    expect(await bucket.delete('m.0', e.revision)).toBe(false);
    expect(await bucket.delete('m.0', rev!)).toBe(true);
    const tomb = (await bucket.get('m.0'))!;
    expect(tomb.revision).toBeLessThan(0);
    expect(await bucket.entries('m.')).toEqual([]);
    expect(await bucket.put('m.0', bytes('d'), tomb.revision)).toBeDefined();
    expect((await bucket.entries('m.')).map((x) => [x.key, text(x.value)])).toEqual([['m.0', 'd']]);
  });
});
