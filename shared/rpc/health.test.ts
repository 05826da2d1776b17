import { afterEach, describe, expect, it } from 'vitest';
import { Server } from '@grpc/grpc-js';
import { describeSymbol, healthCheck, healthWatch, listServices } from '../../test/helpers/grpc-standard.js';
import { addStandardServices } from './reflection.js';
import { bindServer } from './server.js';
import { shutdownGrpcServer } from './shutdown.js';
import { type HealthService } from './health.js';

const REGISTRY = 'infermesh.registry.v1.ModelRegistry';
let server: Server | undefined;

async function serve(options: { maxWatchers?: number } = {}): Promise<{ address: string; health: HealthService; server: Server }> {
  const s = new Server();
  server = s;
  const health = addStandardServices(s, { protoFiles: ['infermesh/registry/v1/registry.proto'], services: [REGISTRY], ...options });
  const port = await bindServer(s, '127.0.0.1', 0);
  return { address: `127.0.0.1:${port}`, health, server: s };
}

afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

describe('grpc.health.v1.Health', () => {
  it('answers NOT_SERVING until set, then SERVING, for the server and each hosted service; NOT_FOUND names an unknown one', async () => {
    const { address, health } = await serve();
    expect(await healthCheck(address)).toBe('NOT_SERVING');
    health.set('SERVING');
    expect(await healthCheck(address)).toBe('SERVING');
    expect(await healthCheck(address, REGISTRY)).toBe('SERVING');
    await expect(healthCheck(address, 'no.such.Service')).rejects.toMatchObject({ code: 5, details: expect.stringContaining("unknown service 'no.such.Service'") });
  });

  it('Watch hears every change, and close() says NOT_SERVING and ends the stream with OK so a graceful shutdown drains', async () => {
    const { address, health, server: s } = await serve();
    const watch = healthWatch(address, REGISTRY);
    await watch.until('NOT_SERVING');
    health.set('SERVING');
    await watch.until('SERVING');
    health.close();
    expect(await watch.ended).toBeNull();
    expect(watch.statuses).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    health.set('SERVING'); // after close: ignored
    expect(await healthCheck(address)).toBe('NOT_SERVING');
    const late = healthWatch(address);
    expect(await late.ended).toMatchObject({ code: 14 });
    expect(await shutdownGrpcServer(s, 5000)).toBe('drained');
  });

  it('Watch of an unknown service says SERVICE_UNKNOWN and stays open', async () => {
    const { address } = await serve();
    const watch = healthWatch(address, 'no.such.Service');
    await watch.until('SERVICE_UNKNOWN');
    watch.cancel();
    expect(await watch.ended).toMatchObject({ code: 1 });
  });

  it('refuses Watch streams beyond maxWatchers with RESOURCE_EXHAUSTED', async () => {
    const { address } = await serve({ maxWatchers: 2 });
    const open = [healthWatch(address), healthWatch(address)];
    await Promise.all(open.map((w) => w.until('NOT_SERVING')));
    expect(await healthWatch(address).ended).toMatchObject({ code: 8, details: expect.stringContaining('more than 2 Watch streams') });
    for (const w of open) w.cancel();
  });
});

describe('server reflection', () => {
  it('lists the hosted service and health, and describes their symbols', async () => {
    const { address } = await serve();
    expect(await listServices(address)).toEqual(['grpc.health.v1.Health', REGISTRY]);
    expect(await describeSymbol(address, REGISTRY)).toBeGreaterThan(0);
    expect(await describeSymbol(address, 'grpc.health.v1.Health')).toBeGreaterThan(0);
    await expect(describeSymbol(address, 'no.such.Service')).rejects.toThrow(/no.such.Service/);
  });
});
