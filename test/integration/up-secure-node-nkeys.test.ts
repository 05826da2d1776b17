// Issue 12, item 5: under `infermesh up --secure` every inference node has its
// own NATS nkey (`<data-dir>/secure/nats/nodes/<node id>.nk`), allowed to
// publish only its own heartbeat subject; the shared node role key is not
// accepted, and deleting one node's key file revokes that node alone.
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermissionViolationError, nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess, readNkeySeed, type NatsUser } from '../../shared/nats/index.js';
import { resolveNodeId } from '../../services/inference/mesh/index.js';
import { prepareUpSecurity, type UpSecurity } from '../../cli/up-secure.js';
import { ensureNodeNatsKey } from '../../cli/node-nats-key.js';

let root: string;
let security: UpSecurity;
let server: NatsServerProcess | undefined;
let firstId: string;
let secondId: string;
let secondSeedFile: string;
const open: NatsConnection[] = [];

const dirsOf = (dataDir: string) => ({ dataDir, registryDataDir: join(dataDir, 'registry'), nodeDataDir: join(dataDir, 'inference'), host: '127.0.0.1' });

async function startServer(s: UpSecurity): Promise<NatsServerProcess> {
  const nats = new NatsServerProcess({ dataDir: join(root, 'nats'), ...s.mesh.nats.server });
  await nats.start();
  return nats;
}

/** One connection attempt to `server` as the holder of `seedFile`, over mTLS with the node's certificate. */
async function connectWith(seedFile: string): Promise<NatsConnection> {
  const client = security.mesh.client('node');
  const nc = await connect({
    servers: server!.url,
    timeout: 5000,
    maxReconnectAttempts: 0,
    tls: { ca: readFileSync(client.caFile!, 'utf8'), cert: readFileSync(client.certFile!, 'utf8'), key: readFileSync(client.keyFile!, 'utf8') },
    authenticator: nkeyAuthenticator(await readNkeySeed(seedFile)),
  });
  open.push(nc);
  return nc;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'infermesh-up-node-nkeys-'));
  // A second node's key made before up starts (as for a node added to the mesh); up makes its own node's.
  secondId = await resolveNodeId(join(root, 'second-node'));
  secondSeedFile = (await ensureNodeNatsKey(join(root, 'secure'), secondId)).seedFile;
  security = await prepareUpSecurity(dirsOf(root));
  firstId = await resolveNodeId(join(root, 'inference'));
  server = await startServer(security);
}, 30_000);

afterAll(async () => {
  for (const nc of open) if (!nc.isClosed()) await nc.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('up --secure: one NATS nkey per node', () => {
  it("gives up's node its own key file (mode 0600), passed as its --nats-nkey; two nodes' keys differ", () => {
    expect(security.nodeNatsSeedFile).toBe(join(root, 'secure', 'nats', 'nodes', `${firstId}.nk`));
    const args = security.childArgs('node');
    expect(args[args.indexOf('--nats-nkey') + 1]).toBe(security.nodeNatsSeedFile);
    expect(statSync(security.nodeNatsSeedFile).mode & 0o777).toBe(0o600);
    const first = readFileSync(security.nodeNatsSeedFile, 'utf8').trim();
    const second = readFileSync(secondSeedFile, 'utf8').trim();
    expect(first).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(second).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(first).not.toBe(second);
    // The other services keep their role's key.
    const registry = security.childArgs('registry');
    expect(registry[registry.indexOf('--nats-nkey') + 1]).toBe(security.mesh.nats.seedFiles.registry);
  });

  it('both nodes publish their heartbeats, and a subscriber receives both', async () => {
    const a = await connectWith(security.nodeNatsSeedFile);
    const b = await connectWith(secondSeedFile);
    const seen = new Set<string>();
    const both = new Promise<void>((resolve) =>
      a.subscribe('infermesh.node.heartbeat.*', { callback: (_e, m) => { seen.add(m.subject); if (seen.size === 2) resolve(); } }),
    );
    await a.flush();
    a.publish(`infermesh.node.heartbeat.${firstId}`, new Uint8Array([1]));
    b.publish(`infermesh.node.heartbeat.${secondId}`, new Uint8Array([2]));
    await Promise.all([a.flush(), b.flush()]);
    await both;
    expect([...seen].sort()).toEqual([`infermesh.node.heartbeat.${firstId}`, `infermesh.node.heartbeat.${secondId}`].sort());
  });

  it("a node's key may not publish another node's heartbeat subject", async () => {
    const b = await connectWith(secondSeedFile);
    const refused = (async () => {
      for await (const s of b.status()) if (s.type === 'error' && s.error instanceof PermissionViolationError) return s.error;
      throw new Error('closed without a permission error');
    })();
    b.publish(`infermesh.node.heartbeat.${firstId}`, new Uint8Array([6]));
    const err = await refused;
    expect(err.operation).toBe('publish');
    expect(err.subject).toBe(`infermesh.node.heartbeat.${firstId}`);
  });

  it('the shared node role key is not accepted', async () => {
    await expect(connectWith(security.mesh.nats.seedFiles.node)).rejects.toThrow(/authorization/i);
  });

  it("a key added while nats-server runs is accepted at once, and deleting it disconnects that node alone (a reload, no restart)", async () => {
    const applied: NatsUser[][] = [];
    let onApplied: (() => void) | undefined;
    const errors: Error[] = [];
    const unwatch = security.watchNatsUsers(
      async (users) => {
        await server!.reload({ users });
        applied.push(users);
        onApplied?.();
      },
      (err) => void errors.push(err),
    );
    const nextApply = () => new Promise<void>((resolve) => (onApplied = resolve));
    try {
      const third = nextApply();
      const { seedFile, publicKey } = await ensureNodeNatsKey(join(root, 'secure'), 'third-node');
      await third;
      expect(applied.at(-1)!.map((u) => u.nkey)).toContain(publicKey);
      const kept = await connectWith(security.nodeNatsSeedFile);
      const revokedConn = await connectWith(seedFile);
      const closed = revokedConn.closed();
      const leaked = join(root, 'third-leaked.nk');
      writeFileSync(leaked, readFileSync(seedFile), { mode: 0o600 });
      const gone = nextApply();
      unlinkSync(seedFile);
      await gone;
      expect(applied.at(-1)!.map((u) => u.nkey)).not.toContain(publicKey);
      // nats-server closes the revoked user's connection (this client does not reconnect); the other node stays.
      await closed;
      expect(revokedConn.isClosed()).toBe(true);
      await expect(connectWith(leaked)).rejects.toThrow(/authorization/i);
      await expect(kept.flush()).resolves.toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      unwatch();
    }
  });

  it("deleting one node's key file revokes that node alone at nats-server's next start", async () => {
    // A copy of the seed, as a leak would leave it elsewhere; then the operator deletes the node's key file.
    const leaked = join(root, 'leaked.nk');
    writeFileSync(leaked, readFileSync(secondSeedFile), { mode: 0o600 });
    unlinkSync(secondSeedFile);
    const firstSeed = readFileSync(security.nodeNatsSeedFile, 'utf8');
    await server!.stop();
    security = await prepareUpSecurity(dirsOf(root));
    server = await startServer(security);
    expect(readFileSync(security.nodeNatsSeedFile, 'utf8')).toBe(firstSeed);
    await expect(connectWith(leaked)).rejects.toThrow(/authorization/i);
    const a = await connectWith(security.nodeNatsSeedFile);
    await expect(a.flush()).resolves.toBeUndefined();
  });
});
