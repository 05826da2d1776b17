// Shared set-up of the mesh tests: models whose answer names their version, a
// registry and inference nodes as real processes, polling helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { buildOnnxModel } from '../../shared/onnx/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { startNats } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';

/**
 * A model that answers `value` whatever it is asked: x FP32 [batch,2] -> y FP32
 * [batch,1] = x · 0 + value. Versions built with different values are told
 * apart by their answers.
 */
export function constantModel(value: number): Uint8Array {
  return buildOnnxModel({
    name: `constant_${value}`,
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 2] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
    initializers: [
      { name: 'w', datatype: 'FP32', dims: [2, 1], values: [0, 0] },
      { name: 'b', datatype: 'FP32', dims: [1], values: [value] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
    ],
  });
}

/** Calls a constant model once; resolves with its answer (the version's value). */
export async function ask(client: InferenceClient, model: string, version = '', timeoutMs = 10_000): Promise<number> {
  const out = await client.infer({ modelName: model, modelVersion: version, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, { timeoutMs });
  return (out.y!.data as Float32Array)[0]!;
}

/** Polls `probe` until it resolves truthy, at most `timeoutMs`; rejects with the last failure. */
export async function eventually<T>(probe: () => Promise<T>, what: string, timeoutMs = 30_000, pollMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Resolves once `model` answers `value` on the node (unversioned). */
export function answers(client: InferenceClient, model: string, value: number, timeoutMs = 30_000): Promise<boolean> {
  return eventually(async () => (await ask(client, model, '', 2000)) === value, `${model} to answer ${value}`, timeoutMs);
}

/** Temp folders removed by `cleanup()`. */
export function tempDirs(): { make(prefix: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(prefix) {
      const path = mkdtempSync(join(tmpdir(), prefix));
      made.push(path);
      return path;
    },
    cleanup() {
      for (const p of made.splice(0)) rmSync(p, { recursive: true, force: true });
    },
  };
}

/** `infermesh registry` as a process on `dataDir` (port 0, or `port` to come back where it was). */
export function spawnRegistry(natsUrl: string, dataDir: string, port = 0): Promise<ServiceProcess> {
  return spawnService(['registry', '--grpc-port', String(port), '--data-dir', dataDir, '--nats', natsUrl]);
}

/** `infermesh inference` as a process (mesh mode); extra flags appended. */
export function spawnNode(natsUrl: string, registry: string, dataDir: string, extra: string[] = []): Promise<ServiceProcess> {
  return spawnService(['inference', '--grpc-port', '0', '--registry', registry, '--nats', natsUrl, '--data-dir', dataDir, '--heartbeat-interval-ms', '200', ...extra]);
}

/** A registry client and an inference client, closed together. */
export function clients(registryAddress: string, nodeAddress: string): { registry: RegistryClient; node: InferenceClient; close(): void } {
  const registry = createRegistryClient(registryAddress);
  const node = createInferenceClient(nodeAddress);
  return {
    registry,
    node,
    close() {
      node.close();
      registry.close();
    },
  };
}

/** The versions of `model` the node lists in RepositoryIndex, with their states, e.g. `{ '1': 'READY' }`. */
export async function nodeVersions(node: InferenceClient, model: string): Promise<Record<string, string>> {
  const index = await node.repositoryIndex();
  return Object.fromEntries(index.filter((m) => m.name === model && m.version !== '').map((m) => [m.version, m.state]));
}

/** A NATS server, a registry and one mesh node (with `nodeFlags`) on fresh temp dirs, and clients of both. */
export interface MeshFixture {
  nats: Awaited<ReturnType<typeof startNats>>;
  registryProcess: ServiceProcess;
  nodeProcess: ServiceProcess;
  registry: RegistryClient;
  node: InferenceClient;
  dirs: ReturnType<typeof tempDirs>;
  /** Closes clients, stops the node, the registry and NATS, removes the dirs. */
  close(): Promise<void>;
}

/** Starts a {@link MeshFixture}; what started is stopped again if a later step fails. */
export async function startMesh(nodeFlags: string[] = []): Promise<MeshFixture> {
  const dirs = tempDirs();
  const stops: Array<() => unknown> = [() => dirs.cleanup()];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const nats = await startNats();
    stops.push(() => nats.close());
    const registryProcess = await spawnRegistry(nats.url, dirs.make('mesh-registry-'));
    stops.push(() => registryProcess.stop());
    const nodeProcess = await spawnNode(nats.url, registryProcess.endpoints.grpc!, dirs.make('mesh-node-'), nodeFlags);
    stops.push(() => nodeProcess.stop());
    const c = clients(registryProcess.endpoints.grpc!, nodeProcess.endpoints.grpc!);
    stops.push(() => c.close());
    return { nats, registryProcess, nodeProcess, registry: c.registry, node: c.node, dirs, close };
  } catch (err) {
    await close();
    throw err;
  }
}
