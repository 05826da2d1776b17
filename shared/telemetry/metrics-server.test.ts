import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/index.js';
import { ensureLocalCa, httpsServerOptions, loadServerTls } from '../tls/index.js';
import { startMetricsServer } from './metrics-server.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function get(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics over HTTPS', () => {
  it('serves the registry with the certificate, and with a client CA only to clients that show a certificate from it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infermesh-metrics-tls-'));
    dirs.push(dir);
    const ca = await ensureLocalCa({ dir: join(dir, 'ca') });
    const server = await ca.issue({ name: 'svc', hosts: [] });
    const client = await ca.issue({ name: 'client', hosts: [] });
    const registry = new Registry();
    const tls = await loadServerTls({ ...server, clientCaFile: ca.caFile });
    const metrics = await startMetricsServer(registry, 0, '127.0.0.1', silentLogger, httpsServerOptions(tls));
    try {
      const caPem = await readFile(ca.caFile);
      const ok = await get(`https://${metrics.address}/metrics`, { ca: caPem, cert: await readFile(client.certFile), key: await readFile(client.keyFile) });
      expect(ok.status).toBe(200);
      await expect(get(`https://${metrics.address}/metrics`, { ca: caPem })).rejects.toThrow();
    } finally {
      await metrics.close();
    }
  });
});
