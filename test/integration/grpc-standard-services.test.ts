// Every infermesh service answers the standard gRPC health service and server
// reflection, the way Kubernetes' gRPC probes and grpcurl call them: the
// registry, an inference node in mesh mode (SERVING only once its aliased
// models are warm, NOT_SERVING while it drains), the monitor and the recommender.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { startMonitor, type Monitor } from '../../services/monitor/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { startNats } from '../helpers/nats.js';
import { describeSymbol, healthCheck, healthWatch, listServices } from '../helpers/grpc-standard.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { constantModel, tempDirs } from './mesh-fixtures.js';
import { startRegistry } from './registry-fixtures.js';

const HEALTH = 'grpc.health.v1.Health';

describe('grpc.health.v1 and server reflection on every service', () => {
  const dirs = tempDirs();
  let nats: Awaited<ReturnType<typeof startNats>>;
  let registryService: RegistryService;
  let registry: RegistryClient;
  let monitor: Monitor;
  let recommender: ServiceProcess | undefined;
  const nodes: InferenceNode[] = [];

  const startNode = (nodeId: string) =>
    startInferenceNode({
      logger: silentLogger,
      mesh: { natsUrl: nats.url, registryAddress: registryService.address, dataDir: dirs.make('health-node-'), nodeId, heartbeatIntervalMs: 200 },
    }).then((n) => (nodes.push(n), n));

  beforeAll(async () => {
    nats = await startNats();
    registryService = await startRegistry(dirs.make('health-registry-'), nats.url);
    registry = createRegistryClient(registryService.address);
    monitor = await startMonitor({ grpcPort: 0, httpPort: 0, dataDir: dirs.make('health-monitor-') });
  });

  afterAll(async () => {
    await recommender?.stop();
    for (const n of nodes) await n.close({ drainTimeoutMs: 1000 });
    registry?.close();
    await monitor?.close();
    await registryService?.close();
    await nats?.close();
    dirs.cleanup();
  });

  it('the registry: SERVING, reflection lists ModelRegistry and health', async () => {
    expect(await healthCheck(registryService.address)).toBe('SERVING');
    expect(await healthCheck(registryService.address, 'infermesh.registry.v1.ModelRegistry')).toBe('SERVING');
    expect(await listServices(registryService.address)).toEqual([HEALTH, 'infermesh.registry.v1.ModelRegistry']);
    expect(await describeSymbol(registryService.address, 'infermesh.registry.v1.ModelVersion')).toBeGreaterThan(0);
  });

  it('an inference node: SERVING only once its aliased model is loaded and warm; NOT_SERVING then OK end while it drains', async () => {
    await registry.pushVersion('warmed', constantModel(3), { alias: 'production' });
    const node = await startNode('health-a');
    const watch = healthWatch(node.grpcAddress, 'inference.GRPCInferenceService');
    await watch.until('SERVING');
    // Readiness came after the sync: the aliased version is READY the moment SERVING is seen.
    // (describe throws unless the version is READY: loaded and warmed up.)
    expect(node.manager.describe('warmed').version).toBe('1');
    expect(await healthCheck(node.grpcAddress)).toBe('SERVING');
    expect(await listServices(node.grpcAddress)).toEqual([HEALTH, 'inference.GRPCInferenceService']);
    expect(await describeSymbol(node.grpcAddress, 'inference.ModelInferRequest')).toBeGreaterThan(0);

    await node.close({ drainTimeoutMs: 5000 });
    expect(await watch.ended).toBeNull();
    expect(watch.statuses.at(-1)).toBe('NOT_SERVING');
  });

  it('the monitor: SERVING for the Monitor API and the OTLP receiver', async () => {
    expect(await healthCheck(monitor.grpcAddress, 'opentelemetry.proto.collector.trace.v1.TraceService')).toBe('SERVING');
    expect(await listServices(monitor.grpcAddress)).toEqual([HEALTH, 'infermesh.monitor.v1.Monitor', 'opentelemetry.proto.collector.trace.v1.TraceService']);
  });

  it('the recommender (its own process): SERVING, reflection lists Recommender', async () => {
    const node = await startNode('health-b');
    recommender = await spawnService([
      'recommender', '--grpc-port', '0', '--nats', nats.url, '--registry', registryService.address, '--inference', node.grpcAddress,
      '--data-dir', dirs.make('health-rec-'),
    ]);
    const address = recommender.endpoints.grpc!;
    expect(await healthCheck(address, 'infermesh.recommender.v1.Recommender')).toBe('SERVING');
    expect(await listServices(address)).toEqual([HEALTH, 'infermesh.recommender.v1.Recommender']);
  });
});
