// An inference node in mesh mode follows the registry: pushes, promotions under
// load, canary weights, on-demand versions and deletions reach it without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, ask, constantModel, eventually, nodeVersions, startMesh, type MeshFixture } from './mesh-fixtures.js';

let c: MeshFixture;

beforeAll(async () => {
  c = await startMesh();
});

afterAll(async () => {
  await c?.close();
});

describe('a mesh node follows the registry', () => {
  it('serves a version pushed as production, without a restart', async () => {
    await expect(ask(c.node, 'pushed')).rejects.toMatchObject({ code: 5 }); // NOT_FOUND: nowhere yet
    await c.registry.pushVersion('pushed', constantModel(7), { alias: 'production' });
    await answers(c.node, 'pushed', 7);
    expect(await nodeVersions(c.node, 'pushed')).toEqual({ '1': 'READY' });
  });

  it('promotes v2 while 16 clients call continuously: no failure, answers from v1 or v2, then only v2, and v1 is unloaded', async () => {
    await c.registry.pushVersion('swap', constantModel(1), { alias: 'production' });
    await answers(c.node, 'swap', 1);
    await c.registry.pushVersion('swap', constantModel(2));

    let stop = false;
    const seen: number[] = [];
    const failures: unknown[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          seen.push(await ask(c.node, 'swap'));
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await eventually(async () => seen.length > 200, 'traffic before the promotion');
    await c.registry.setAlias('swap', 'production', 2);
    await eventually(async () => seen.slice(-50).length === 50 && seen.slice(-50).every((v) => v === 2), 'only v2 answers');
    const afterSwap = seen.length;
    await eventually(async () => seen.length > afterSwap + 200, 'traffic after the swap');
    stop = true;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    expect(new Set(seen)).toEqual(new Set([1, 2]));
    expect(seen.slice(afterSwap).every((v) => v === 2)).toBe(true);
    await eventually(async () => JSON.stringify(await nodeVersions(c.node, 'swap')) === JSON.stringify({ '2': 'READY' }), 'v1 to be unloaded');
  });

  it('sends about the canary weight (20%) of unversioned requests to the canary', async () => {
    await c.registry.pushVersion('canaried', constantModel(10), { alias: 'production' });
    await c.registry.pushVersion('canaried', constantModel(20), { alias: 'canary', aliasWeight: 20 });
    await eventually(async () => (await nodeVersions(c.node, 'canaried'))['2'] === 'READY', 'the canary to load');
    // Routing switches right after the canary is READY; wait until a canary answer shows up.
    await eventually(async () => (await ask(c.node, 'canaried')) === 20, 'a canary answer', 30_000, 0);

    const n = 1000;
    const answersSeen = await Promise.all(Array.from({ length: n }, () => ask(c.node, 'canaried')));
    const canary = answersSeen.filter((v) => v === 20).length;
    expect(answersSeen.every((v) => v === 10 || v === 20)).toBe(true);
    // Binomial(1000, 0.2): mean 200, sigma 12.6; 4.5 sigma either side.
    const sigma = Math.sqrt(n * 0.2 * 0.8);
    expect(Math.abs(canary - n * 0.2)).toBeLessThan(4.5 * sigma);

    // Weight 0 removes the canary's share; the canary version is released.
    await c.registry.deleteAlias('canaried', 'canary');
    await eventually(async () => JSON.stringify(await nodeVersions(c.node, 'canaried')) === JSON.stringify({ '1': 'READY' }), 'the canary to be unloaded');
    const after = await Promise.all(Array.from({ length: 50 }, () => ask(c.node, 'canaried')));
    expect(after.every((v) => v === 10)).toBe(true);
  });

  it('loads a version a request names on demand, then unloads it when the version is deleted', async () => {
    await c.registry.pushVersion('versions', constantModel(100), { alias: 'production' });
    await c.registry.pushVersion('versions', constantModel(200));
    await c.registry.pushVersion('versions', constantModel(300));
    await answers(c.node, 'versions', 100);
    expect(Object.keys(await nodeVersions(c.node, 'versions'))).toEqual(['1']);

    // The node does not hold version 3: the request waits for the load and gets version 3's answer.
    expect(await ask(c.node, 'versions', '3')).toBe(300);
    expect(await nodeVersions(c.node, 'versions')).toEqual({ '1': 'READY', '3': 'READY' });
    // Unversioned requests still go to production.
    expect(await ask(c.node, 'versions')).toBe(100);
    // A version the registry does not have: NOT_FOUND.
    await expect(ask(c.node, 'versions', '9')).rejects.toMatchObject({ code: 5 });

    await c.registry.deleteVersion('versions', 3);
    await eventually(async () => JSON.stringify(await nodeVersions(c.node, 'versions')) === JSON.stringify({ '1': 'READY' }), 'version 3 to be unloaded');
  });
});
