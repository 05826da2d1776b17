// Nothing the registry commits is lost on its way to a mesh node: not across a
// registry restart, a NATS outage, or a restart of the node itself.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient } from '../../shared/client/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { startNats } from '../helpers/nats.js';
import type { ServiceProcess } from '../helpers/service-process.js';
import { answers, ask, constantModel, spawnNode, spawnRegistry, tempDirs } from './mesh-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
const dirs = tempDirs();
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  nats = await startNats();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await nats?.close();
  dirs.cleanup();
});

/** A registry and a node on fresh data dirs, cleaned up after the test. */
async function mesh() {
  const registryDir = dirs.make('mesh-registry-');
  const nodeDir = dirs.make('mesh-node-');
  const procs: { registry: ServiceProcess; node: ServiceProcess } = {
    registry: await spawnRegistry(nats.url, registryDir),
    node: undefined as unknown as ServiceProcess,
  };
  procs.node = await spawnNode(nats.url, procs.registry.endpoints.grpc!, nodeDir);
  const registryAddress = procs.registry.endpoints.grpc!;
  const registry = createRegistryClient(registryAddress);
  let node = createInferenceClient(procs.node.endpoints.grpc!);
  cleanups.push(async () => {
    node.close();
    registry.close();
    await procs.node.stop();
    await procs.registry.stop();
  });
  return {
    registry,
    get node() {
      return node;
    },
    async restartRegistry() {
      await procs.registry.stop();
      procs.registry = await spawnRegistry(nats.url, registryDir, Number(registryAddress.split(':').pop()));
    },
    async restartNode(whileDown: () => Promise<unknown>) {
      await procs.node.stop();
      await whileDown();
      procs.node = await spawnNode(nats.url, registryAddress, nodeDir);
      node.close();
      node = createInferenceClient(procs.node.endpoints.grpc!);
    },
  };
}

describe('mesh resilience', () => {
  it('a registry restart loses nothing: versions pushed right after it reach the node', async () => {
    const m = await mesh();
    await m.registry.pushVersion('reg-restart', constantModel(1), { alias: 'production' });
    await answers(m.node, 'reg-restart', 1);

    await m.restartRegistry();
    // Pushed as soon as the registry is back (the client reconnects to the same address).
    await m.registry.pushVersion('reg-restart', constantModel(2), { alias: 'production' });
    await answers(m.node, 'reg-restart', 2);
    await m.registry.pushVersion('reg-restart-new', constantModel(3), { alias: 'production' });
    await answers(m.node, 'reg-restart-new', 3);
  });

  it('a version pushed while NATS is down reaches the node once NATS is back; the old one serves meanwhile', async () => {
    const m = await mesh();
    await m.registry.pushVersion('nats-outage', constantModel(1), { alias: 'production' });
    await answers(m.node, 'nats-outage', 1);

    await nats.stop();
    try {
      // The registry commits (its outbox holds the event); the node keeps serving v1.
      await m.registry.pushVersion('nats-outage', constantModel(2), { alias: 'production' });
      expect(await ask(m.node, 'nats-outage')).toBe(1);
    } finally {
      await nats.start();
    }
    await answers(m.node, 'nats-outage', 2);
  });

  it('a node restarted on its data dir catches up with what changed while it was down', async () => {
    const m = await mesh();
    await m.registry.pushVersion('node-restart', constantModel(1), { alias: 'production' });
    await answers(m.node, 'node-restart', 1);

    await m.restartNode(async () => {
      await m.registry.pushVersion('node-restart', constantModel(2), { alias: 'production' });
      await m.registry.pushVersion('node-restart-new', constantModel(5), { alias: 'production' });
    });
    await answers(m.node, 'node-restart', 2);
    await answers(m.node, 'node-restart-new', 5);
    // Then it keeps following.
    await m.registry.pushVersion('node-restart', constantModel(3), { alias: 'production' });
    await answers(m.node, 'node-restart', 3);
  });
});
