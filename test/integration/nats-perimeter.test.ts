// Issue 12, item 5: NATS as part of the perimeter. A real nats-server started by
// the project's launcher with the secure mesh's config (TLS with mTLS from the
// local CA, one nkey user per role with subject permissions).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess, connectNats, ensureStream, readNkeySeed, type NatsRole } from '../../shared/nats/index.js';
import { REGISTRY_STREAM_SPEC } from '../../shared/registry-client/index.js';
import { createLogger, silentLogger } from '../../shared/logging/index.js';
import { startInferenceNode } from '../../services/inference/inference-node.js';
import { startNats } from '../helpers/nats.js';
import { startRegistry } from './registry-fixtures.js';
import { loadNatsSecurity, prepareSecureMesh, type SecureMesh } from '../../shared/tls/index.js';

let root: string;
let mesh: SecureMesh;
let server: NatsServerProcess;
const open: NatsConnection[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'infermesh-nats-perimeter-'));
  mesh = await prepareSecureMesh(root);
  server = new NatsServerProcess({ dataDir: join(root, 'nats'), ...mesh.nats.server });
  await server.start();
});

afterAll(async () => {
  for (const nc of open) if (!nc.isClosed()) await nc.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Connects as `role` over TLS with the role's client certificate and nkey. */
async function connectAs(role: NatsRole, tls: 'mtls' | 'ca-only' | 'no-ca' = 'mtls', timeoutMs = 5000): Promise<NatsConnection> {
  const client = mesh.client(role === 'node' ? 'node' : role === 'registry' ? 'registry' : 'client');
  const nc = await connectNats({
    url: server.url,
    name: `test-${role}`,
    timeoutMs,
    nkeySeed: await readNkeySeed(mesh.nats.seedFiles[role]),
    tls:
      tls === 'no-ca'
        ? {}
        : { ca: readFileSync(client.caFile!), ...(tls === 'mtls' ? { cert: readFileSync(client.certFile!), key: readFileSync(client.keyFile!) } : {}) },
  });
  open.push(nc);
  return nc;
}

/** Resolves with the first permission violation the server reports to `nc`. */
async function nextPermissionError(nc: NatsConnection): Promise<PermissionViolationError> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.error instanceof PermissionViolationError) return s.error;
  }
  throw new Error('the connection closed without a permission error');
}

describe('NATS perimeter', () => {
  it('writes the server config and the nkey seeds with mode 0600', () => {
    const config = readFileSync(join(root, 'nats', 'nats-server.conf'), 'utf8');
    expect(config).toMatch(/tls \{[\s\S]*verify: true/);
    expect(config).toContain('authorization {');
    expect(statSync(join(root, 'nats', 'nats-server.conf')).mode & 0o777).toBe(0o600);
    expect(statSync(mesh.nats.seedFiles.node).mode & 0o777).toBe(0o600);
  });

  it('a node publishes heartbeats over TLS that another node receives', async () => {
    const a = await connectAs('node');
    const b = await connectAs('node');
    const received = new Promise<string>((resolve) => b.subscribe('infermesh.node.heartbeat.*', { max: 1, callback: (_e, m) => resolve(m.subject) }));
    await b.flush();
    a.publish('infermesh.node.heartbeat.n1', new Uint8Array([1]));
    await expect(received).resolves.toBe('infermesh.node.heartbeat.n1');
  });

  it('any other role publishing a heartbeat is refused with a permission violation, and nobody receives it', async () => {
    const node = await connectAs('node');
    const seen: string[] = [];
    node.subscribe('infermesh.node.heartbeat.*', { callback: (_e, m) => void seen.push(m.subject) });
    await node.flush();
    for (const role of ['client', 'registry', 'monitor'] as const) {
      const other = await connectAs(role);
      const refused = nextPermissionError(other);
      other.publish('infermesh.node.heartbeat.evil', new Uint8Array([6, 6, 6]));
      const err = await refused;
      expect(err.operation).toBe('publish');
      expect(err.subject).toBe('infermesh.node.heartbeat.evil');
    }
    // A beat from a node after the forgeries: once it arrives, the forgeries would have too.
    const a = await connectAs('node');
    a.publish('infermesh.node.heartbeat.after', new Uint8Array([1]));
    await a.flush();
    await node.flush();
    expect(seen).toEqual(['infermesh.node.heartbeat.after']);
  });

  it('only the registry may publish registry events; a node may read the stream but not publish to it', async () => {
    const registry = await connectAs('registry');
    await ensureStream(registry, REGISTRY_STREAM_SPEC);
    const ack = await jetstream(registry).publish('infermesh.registry.version.created.m', new Uint8Array([1]));
    expect(ack.stream).toBe('REGISTRY');
    const node = await connectAs('node');
    const refused = nextPermissionError(node);
    node.publish('infermesh.registry.version.created.m', new Uint8Array([2]));
    expect((await refused).subject).toBe('infermesh.registry.version.created.m');
    const info = await jetstreamManager(node).then((jsm) => jsm.streams.info('REGISTRY'));
    expect(info.state.messages).toBe(1);
  });

  it('a node may not delete or purge the registry stream', async () => {
    const node = await connectAs('node');
    const jsm = await jetstreamManager(node);
    const refused = nextPermissionError(node);
    await expect(jsm.streams.purge('REGISTRY')).rejects.toThrow();
    expect((await refused).subject).toBe('$JS.API.STREAM.PURGE.REGISTRY');
  });

  it('refuses a connection without credentials, without the CA, or without a client certificate', async () => {
    const client = mesh.client('client');
    await expect(connectNats({ url: server.url, timeoutMs: 5000, tls: { ca: readFileSync(client.caFile!), cert: readFileSync(client.certFile!), key: readFileSync(client.keyFile!) } })).rejects.toThrow(/authorization/i);
    await expect(connectAs('node', 'no-ca')).rejects.toThrow(/certificate/i);
    // Without a client certificate nats-server ends the TLS handshake: the client never gets a connection.
    await expect(connectAs('node', 'ca-only', 2000)).rejects.toThrow(/timeout|certificate|closed/i);
  });

  it('a real mesh node runs on its node credentials: follows the registry stream, opens the placement bucket, beats, with no permission violation', async () => {
    const violations: string[] = [];
    // The registry's gRPC is all the node needs of it here (it has no credentials of its own yet): its events go to a NATS of its own.
    const registryNats = await startNats();
    const registry = await startRegistry(join(root, 'registry-data'), registryNats.url);
    const node = await startInferenceNode({
      logger: process.env.DEBUG_PERIMETER ? createLogger({ level: 'debug' }) : silentLogger,
      mesh: {
        natsUrl: server.url,
        registryAddress: registry.address,
        dataDir: join(root, 'node-data'),
        nodeId: 'secure-node',
        heartbeatIntervalMs: 200,
        natsSecurity: await loadNatsSecurity(mesh.nats.client('node')),
      },
    });
    try {
      void (async () => {
        for await (const st of node.mesh!.nc.status()) if (st.type === 'error') violations.push(String(st.error));
      })();
      const watcher = await connectAs('node');
      const beat = new Promise<string>((resolve) => watcher.subscribe('infermesh.node.heartbeat.secure-node', { max: 1, callback: (_e, m) => resolve(m.subject) }));
      await expect(beat).resolves.toBe('infermesh.node.heartbeat.secure-node');
      await node.mesh!.follower.synced();
      const jsm = await jetstreamManager(watcher);
      // The node made the registry stream, its durable consumer on it, and its placement bucket.
      await expect(jsm.streams.info('REGISTRY')).resolves.toBeDefined();
      expect((await jsm.consumers.info('REGISTRY', node.mesh!.follower.durableName)).name).toBe('inference-secure-node');
      await expect(node.mesh!.placement.start(node.grpcAddress)).resolves.toBeUndefined();
      await node.mesh!.nc.flush();
      expect(violations).toEqual([]);
    } finally {
      await node.close({ drainTimeoutMs: 1000 });
      await registry.close();
      await registryNats.close();
    }
  });

  it('is idempotent: a second prepareSecureMesh reuses the CA, keys and seeds', async () => {
    const again = await prepareSecureMesh(root);
    expect(readFileSync(again.caFile, 'utf8')).toBe(readFileSync(mesh.caFile, 'utf8'));
    expect(again.nats.server.users.map((u) => u.nkey)).toEqual(mesh.nats.server.users.map((u) => u.nkey));
    expect(readFileSync(again.certs.node.keyFile, 'utf8')).toBe(readFileSync(mesh.certs.node.keyFile, 'utf8'));
  });
});
