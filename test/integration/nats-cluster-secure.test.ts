// Issue 12, items 1 and 5 for a JetStream cluster: NatsCluster members serve
// clients over mTLS with nkey users, and their routes run mutual TLS against
// the mesh's CA with route credentials, so a nats-server that reaches a route
// port without a certificate from the CA, or with one but without the route
// password, does not join the cluster and receives none of its traffic.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, NatsServerProcess, connectNats, ensureStream, natsPermissions } from '../../shared/nats/index.js';
import { freePort } from '../../shared/net/index.js';
import { ensureLocalCa } from '../../shared/tls/index.js';
import { eventually } from './mesh-fixtures.js';

let root: string;
let ca: Awaited<ReturnType<typeof ensureLocalCa>>;
let cluster: NatsCluster;
let clientTls: { ca: Buffer; cert: Buffer; key: Buffer };
const nodeUser = createUser();
const open: NatsConnection[] = [];
const rogues: NatsServerProcess[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'infermesh-nats-cluster-secure-'));
  ca = await ensureLocalCa({ dir: join(root, 'ca') });
  const client = await ca.issue({ name: 'client' });
  clientTls = { ca: readFileSync(ca.caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) };
  const memberCert = (m: { serverName: string; host: string }) => ca.issue({ name: m.serverName, hosts: [m.host] });
  cluster = new NatsCluster({
    dataDir: join(root, 'cluster'),
    members: [{ monitorPort: 0 }, { monitorPort: 0 }, { monitorPort: 0 }],
    tls: async (m) => ({ ...(await memberCert(m)), clientCaFile: ca.caFile }),
    routeTls: async (m) => ({ ...(await memberCert(m)), caFile: ca.caFile }),
    users: [{ nkey: nodeUser.getPublicKey(), permissions: natsPermissions('node') }],
    client: { tls: clientTls, nkeySeed: nodeUser.getSeed() },
  });
  await cluster.start();
}, 60_000);

afterAll(async () => {
  for (const nc of open) if (!nc.isClosed()) await nc.close();
  await Promise.all(rogues.map((r) => r.stop()));
  await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function connectTo(url: string, options: { nkey?: boolean } = {}): Promise<NatsConnection> {
  const nc = await connectNats({ url, timeoutMs: 5000, tls: clientTls, ...(options.nkey === false ? {} : { nkeySeed: nodeUser.getSeed() }) });
  open.push(nc);
  return nc;
}

/** nats-server's `/routez` of a member: how many routes it has and to whom. */
async function routez(server: NatsServerProcess): Promise<{ num_routes: number; routes: { remote_id: string }[] | null }> {
  const res = await fetch(`${server.monitorUrl!}/routez`);
  if (!res.ok) throw new Error(`/routez of ${server.url} answered ${res.status}`);
  return (await res.json()) as { num_routes: number; routes: { remote_id: string }[] | null };
}

/** Resolves once `server`'s log matches `pattern` (the deterministic sign that it refused a route); the error shows the tail. */
function logShows(server: NatsServerProcess, pattern: RegExp, what: string): Promise<boolean> {
  return eventually(async () => pattern.test(server.logTail) || undefined, `${what} (log tail: ${server.logTail.slice(-600)})`, 15_000, 50);
}

/** A nats-server in the cluster's name with routes to every member, plaintext to clients, monitoring on. */
async function startRogue(name: string, routeTls?: { certFile: string; keyFile: string; caFile: string }): Promise<NatsServerProcess> {
  const routes = cluster.routeUrls;
  const rogue = new NatsServerProcess({
    dataDir: join(root, name),
    monitorPort: 0,
    cluster: { name: 'infermesh', serverName: name, routePort: await freePort(), routes, ...(routeTls ? { tls: routeTls } : {}) },
  });
  rogues.push(rogue);
  await rogue.start();
  return rogue;
}

describe('a secured NATS cluster', () => {
  it('forms three members over TLS routes; JetStream answers a user nkey over mTLS and replicates a stream on all three', async () => {
    const counts = await Promise.all(cluster.members.map((m) => routez(m).then((r) => r.num_routes)));
    expect(counts).toEqual([2, 2, 2]);
    for (const m of cluster.members) expect(m.logTail).not.toMatch(/route handshake|authori[sz]ation/i);
    const nc = await connectTo(cluster.member(0).url);
    expect(nc.info?.tls_required).toBe(true);
    const jsm = await jetstreamManager(nc);
    await ensureStream(nc, { name: 'REGISTRY', subjects: ['infermesh.registry.>'], duplicateWindowMs: 60_000, replicas: 3 }, jsm);
    const info = await eventually(async () => {
      const i = await jsm.streams.info('REGISTRY');
      return i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current) ? i : undefined;
    }, 'REGISTRY replicated on three members', 15_000);
    expect(info.cluster?.leader).toMatch(/^infermesh-\d$/);
  });

  it('carries core NATS over the routes: a heartbeat published on one member reaches a subscriber on another', async () => {
    const sub = await connectTo(cluster.member(0).url);
    const pub = await connectTo(cluster.member(2).url);
    const got = new Promise<string>((resolve) => sub.subscribe('infermesh.node.heartbeat.*', { max: 1, callback: (_e, m) => resolve(m.subject) }));
    await sub.flush();
    // Interest reaches member 2 through the route asynchronously: publish until the beat arrives.
    let arrived = false;
    void got.then(() => (arrived = true));
    await eventually(async () => {
      pub.publish('infermesh.node.heartbeat.n1', new Uint8Array([1]));
      await pub.flush();
      await new Promise((r) => setImmediate(r));
      return arrived || undefined;
    }, 'a routed heartbeat', 10_000, 50);
    await expect(got).resolves.toBe('infermesh.node.heartbeat.n1');
  });

  it('refuses a client without a user nkey, and one without a client certificate', async () => {
    // One attempt on member 1 alone (connectNats would go on to the members the server's INFO gossips, forever).
    const once = { servers: cluster.member(1).url, timeout: 2000, maxReconnectAttempts: 0, ignoreClusterUpdates: true };
    const pem = (b: Buffer) => b.toString('utf8');
    await expect(connect({ ...once, tls: { ca: pem(clientTls.ca), cert: pem(clientTls.cert), key: pem(clientTls.key) } })).rejects.toThrow(/authorization/i);
    await expect(connect({ ...once, tls: { ca: pem(clientTls.ca) }, authenticator: nkeyAuthenticator(nodeUser.getSeed()) })).rejects.toThrow(/timeout|certificate|closed/i);
  });

  it('a nats-server dialing the routes without a certificate from the CA does not join: the handshake fails, no route is added', async () => {
    const before = await Promise.all(cluster.members.map((m) => routez(m).then((r) => r.num_routes)));
    const other = await ensureLocalCa({ dir: join(root, 'other-ca') });
    const plain = await startRogue('rogue-plain');
    // It trusts the mesh's CA (whose certificate is no secret) but presents a certificate of its own CA.
    const foreign = await startRogue('rogue-foreign', { ...(await other.issue({ name: 'rogue-foreign' })), caFile: ca.caFile });
    // Each member's log names both refused route handshakes: plaintext, and a certificate not from the CA.
    for (const m of cluster.members) {
      await logShows(m, /TLS route handshake error: tls: first record does not look like a TLS handshake/, `member ${m.url} refused the plaintext route`);
      await logShows(m, /TLS route handshake error: .*(unknown authority|bad certificate|failed to verify)/, `member ${m.url} refused the foreign certificate`);
    }
    expect((await routez(plain)).num_routes).toBe(0);
    expect((await routez(foreign)).num_routes).toBe(0);
    expect(await Promise.all(cluster.members.map((m) => routez(m).then((r) => r.num_routes)))).toEqual(before);
  });

  it('a nats-server with a certificate from the same CA but without the route password does not join either', async () => {
    const before = await Promise.all(cluster.members.map((m) => routez(m).then((r) => r.num_routes)));
    // A certificate the CA issued to someone else (as any service's or client's is): TLS passes, the route credentials do not.
    const rogue = await startRogue('rogue-same-ca', { ...(await ca.issue({ name: 'rogue-same-ca' })), caFile: ca.caFile });
    for (const m of cluster.members) await logShows(m, /rid:\d+ - authentication error/, `member ${m.url} refused the route without credentials`);
    await logShows(rogue, /Route Error 'Authorization Violation'/, 'the rogue was told its route is not authorized');
    expect((await routez(rogue)).num_routes).toBe(0);
    expect(await Promise.all(cluster.members.map((m) => routez(m).then((r) => r.num_routes)))).toEqual(before);
    // Nothing published on the rogue reaches a subscriber on a member: a beat from a member after it arrives alone.
    const sub = await connectTo(cluster.member(0).url);
    const seen: string[] = [];
    sub.subscribe('infermesh.node.heartbeat.*', { callback: (_e, m) => void seen.push(m.subject) });
    await sub.flush();
    const onRogue = await connectNats({ url: rogue.url, timeoutMs: 5000 });
    open.push(onRogue);
    onRogue.publish('infermesh.node.heartbeat.evil', new Uint8Array([6]));
    await onRogue.flush();
    const member = await connectTo(cluster.member(0).url);
    member.publish('infermesh.node.heartbeat.after', new Uint8Array([1]));
    await member.flush();
    await eventually(async () => seen.length > 0 || undefined, 'the member heartbeat', 5000, 20);
    expect(seen).toEqual(['infermesh.node.heartbeat.after']);
  });
});
