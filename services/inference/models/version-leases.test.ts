import { describe, expect, it } from 'vitest';
import type { LoadedVersion } from './version-loader.js';
import { ServedVersion } from './version-leases.js';

// The leases never look inside the version they hold.
const loaded = { model: 'm', version: '1' } as LoadedVersion;

async function settledWithin(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('ServedVersion', () => {
  it('counts the leases held and hands each the version', () => {
    const served = new ServedVersion(loaded);
    const a = served.lease();
    const b = served.lease();
    expect(served.leases).toBe(2);
    expect(a.version).toBe(loaded);
    a.release();
    expect(served.leases).toBe(1);
    b.release();
    expect(served.leases).toBe(0);
  });

  it('release() is idempotent: a second call does not release another request', () => {
    const served = new ServedVersion(loaded);
    const a = served.lease();
    served.lease();
    a.release();
    a.release();
    expect(served.leases).toBe(1);
  });

  it('whenIdle resolves at once with no lease, and only after the last release otherwise', async () => {
    const served = new ServedVersion(loaded);
    expect(await settledWithin(served.whenIdle())).toBe(true);
    const a = served.lease();
    const b = served.lease();
    const idle = served.whenIdle();
    const second = served.whenIdle();
    a.release();
    expect(await settledWithin(idle)).toBe(false);
    b.release();
    expect(await settledWithin(idle)).toBe(true);
    expect(await settledWithin(second)).toBe(true);
  });
});
