// Regressions of the monitor's web API: numbers and keys that used to answer
// 500, and Host headers a DNS-rebinding page would send.
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { createSpanStore, type SpanStore } from '../../services/monitor/store/index.js';
import { isAllowedHost, startWebServer, type WebServer } from '../../services/monitor/http/web-server.js';

let store: SpanStore;
let web: WebServer;

beforeAll(async () => {
  store = createSpanStore({ pruneIntervalMs: 0 });
  web = await startWebServer({ store, registry: new Registry(), logger: silentLogger, host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await web.close();
  store.close();
});

/** GET `path` with the given Host header (default: the server's address). */
function get(path: string, host?: string): Promise<{ status: number; body: string }> {
  const [hostname, port] = web.address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port: Number(port), path, headers: { host: host ?? web.address } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('monitor web API, bad input', () => {
  it('answers 400 naming the parameter for lookbackMinutes=1e308 and minDurationMs=1e308', async () => {
    const lookback = await get('/api/traces?lookbackMinutes=1e308');
    expect(lookback.status).toBe(400);
    expect(JSON.parse(lookback.body).error).toMatch(/lookbackMinutes must be a number from 0 to/);
    const duration = await get('/api/traces?minDurationMs=1e308');
    expect(duration.status).toBe(400);
    expect(JSON.parse(duration.body).error).toMatch(/minDurationMs/);
    expect((await get('/api/traces?lookbackMinutes=60')).status).toBe(200);
  });

  it('answers 400 for a NUL (or any control character) in an attr key', async () => {
    const nul = await get('/api/traces?attr=' + encodeURIComponent('infer\u0000mesh=1'));
    expect(nul.status).toBe(400);
    expect(JSON.parse(nul.body)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(JSON.parse(nul.body).error).toMatch(/control character/);
    expect((await get('/api/traces?attr=' + encodeURIComponent('infermesh.device=cpu'))).status).toBe(200);
  });
});

describe('monitor web API, Host header (DNS rebinding)', () => {
  it('serves its address, loopback names and IP literals; 421 for any other name', async () => {
    expect((await get('/api/services')).status).toBe(200);
    expect((await get('/api/services', 'localhost:16686')).status).toBe(200);
    expect((await get('/api/services', '[::1]:16686')).status).toBe(200);
    const rebound = await get('/api/services', 'attacker.example:16686');
    expect(rebound.status).toBe(421);
    expect(rebound.body).toMatch(/DNS rebinding/);
    expect((await get('/', 'attacker.example')).status).toBe(421);
  });

  it('isAllowedHost: configured and allowed names pass, a missing header does not', () => {
    expect(isAllowedHost('monitor.svc:16686', '0.0.0.0', ['monitor.svc'])).toBe(true);
    expect(isAllowedHost('node-1:16686', 'node-1')).toBe(true);
    expect(isAllowedHost('evil.localhost.example', '127.0.0.1')).toBe(false);
    expect(isAllowedHost('app.localhost', '127.0.0.1')).toBe(true);
    expect(isAllowedHost(undefined, '127.0.0.1')).toBe(false);
    expect(isAllowedHost('10.0.0.7:80', '0.0.0.0')).toBe(true);
  });
});
