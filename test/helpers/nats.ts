import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsCluster, NatsServerProcess } from '../../shared/nats/index.js';

/**
 * Starts a fresh nats-server with JetStream on a free port and its own temp
 * data directory. Call `close()` in afterAll: it stops the server and removes the data.
 */
export async function startNats(): Promise<NatsServerProcess & { close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infermesh-nats-'));
  const server = new NatsServerProcess({ dataDir });
  await server.start();
  return Object.assign(server, {
    async close() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Starts a three-member JetStream cluster on 127.0.0.1 (client and route ports
 * free), each member with its own temp data directory. `close()` stops them
 * and removes the data.
 */
export async function startNatsCluster(): Promise<NatsCluster & { close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infermesh-nats-cluster-'));
  const cluster = new NatsCluster({ dataDir });
  try {
    await cluster.start();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return Object.assign(cluster, {
    async close() {
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
