import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerProcess } from '../../shared/nats/index.js';

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
