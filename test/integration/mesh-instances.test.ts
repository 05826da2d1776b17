// `infermesh inference --instances` (MeshOptions.defaultInstances): the devices
// of registry models whose serving config names none; a config's own
// `instances` still wins. (The GPU overlay passes --instances=cuda:0.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { startNats } from '../helpers/nats.js';
import { constantModel, eventually, tempDirs } from './mesh-fixtures.js';
import { startRegistry } from './registry-fixtures.js';

describe('--instances on a mesh node', () => {
  const dirs = tempDirs();
  let nats: Awaited<ReturnType<typeof startNats>>;
  let registryService: RegistryService;
  let registry: RegistryClient;
  let node: InferenceNode;

  beforeAll(async () => {
    nats = await startNats();
    registryService = await startRegistry(dirs.make('inst-registry-'), nats.url);
    registry = createRegistryClient(registryService.address);
    node = await startInferenceNode({
      logger: silentLogger,
      mesh: { natsUrl: nats.url, registryAddress: registryService.address, dataDir: dirs.make('inst-node-'), nodeId: 'inst', defaultInstances: [{ device: 'cpu', count: 2 }] },
    });
  });

  afterAll(async () => {
    await node?.close({ drainTimeoutMs: 1000 });
    registry?.close();
    await registryService?.close();
    await nats?.close();
    dirs.cleanup();
  });

  const devicesOf = (model: string) =>
    eventually(async () => {
      try {
        return node.manager.describe(model).executor.devices;
      } catch {
        return undefined;
      }
    }, `${model} READY`);

  it('runs a model whose config names no devices on the --instances devices', async () => {
    await registry.pushVersion('plain', constantModel(1), { alias: 'production' });
    expect(await devicesOf('plain')).toEqual(['cpu', 'cpu']);
  });

  it("keeps a config's own instances", async () => {
    await registry.pushVersion('configured', constantModel(2), { alias: 'production', config: { instances: [{ device: 'cpu', count: 1 }] } });
    expect(await devicesOf('configured')).toEqual(['cpu']);
  });
});
