// A node with a memory budget evicts the least recently used on-demand version
// to make room, never a version an alias points at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../helpers/nats.js';
import type { ServiceProcess } from '../helpers/service-process.js';
import { answers, ask, clients, constantModel, nodeVersions, spawnNode, spawnRegistry, tempDirs } from './mesh-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let registryProcess: ServiceProcess;
let nodeProcess: ServiceProcess;
let c: ReturnType<typeof clients>;
const dirs = tempDirs();
// Every constant model has the same size; room for production and one more version.
const size = constantModel(0).byteLength;

beforeAll(async () => {
  nats = await startNats();
  registryProcess = await spawnRegistry(nats.url, dirs.make('mesh-registry-'));
  nodeProcess = await spawnNode(nats.url, registryProcess.endpoints.grpc!, dirs.make('mesh-node-'), ['--memory-budget-bytes', String(Math.floor(size * 2.5))]);
  c = clients(registryProcess.endpoints.grpc!, nodeProcess.endpoints.grpc!);
});

afterAll(async () => {
  c?.close();
  await nodeProcess?.stop();
  await registryProcess?.stop();
  await nats?.close();
  dirs.cleanup();
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
