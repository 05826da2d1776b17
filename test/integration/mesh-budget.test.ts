// A node with a memory budget evicts the least recently used on-demand version
// to make room, never a version an alias points at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, ask, constantModel, nodeVersions, startMesh, type MeshFixture } from './mesh-fixtures.js';

// Every constant model has the same size; room for production and one more version.
const size = constantModel(0).byteLength;
let c: MeshFixture;

beforeAll(async () => {
  c = await startMesh(['--memory-budget-bytes', String(Math.floor(size * 2.5))]);
});

afterAll(async () => {
  await c?.close();
});

describe('memory budget', () => {
  it('evicts the least recently used on-demand version, keeps production, refuses what cannot fit', async () => {
    await c.registry.pushVersion('budget', constantModel(1), { alias: 'production' });
    await c.registry.pushVersion('budget', constantModel(2));
    await c.registry.pushVersion('budget', constantModel(3));
    await answers(c.node, 'budget', 1);
    expect(await ask(c.node, 'budget', '2')).toBe(2);
    expect(await nodeVersions(c.node, 'budget')).toEqual({ '1': 'READY', '2': 'READY' });
    expect(await ask(c.node, 'budget', '3')).toBe(3);
    expect(await nodeVersions(c.node, 'budget')).toEqual({ '1': 'READY', '3': 'READY' });
    expect(await ask(c.node, 'budget', '2')).toBe(2);
    expect(await nodeVersions(c.node, 'budget')).toEqual({ '1': 'READY', '2': 'READY' });
    expect(await ask(c.node, 'budget')).toBe(1);

    // A second production model fills the budget: nothing on demand fits any more.
    await c.registry.pushVersion('budget-b', constantModel(9), { alias: 'production' });
    await answers(c.node, 'budget-b', 9);
    await c.registry.pushVersion('budget-b', constantModel(8));
    await expect(ask(c.node, 'budget-b', '2')).rejects.toMatchObject({ code: 8 }); // RESOURCE_EXHAUSTED
    expect(await ask(c.node, 'budget')).toBe(1);
  });
});
