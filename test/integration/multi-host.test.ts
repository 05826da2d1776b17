// Three hosts in Linux network namespaces (veth pairs on a bridge, addresses
// 10.231.K.1-3 of this test's own): one NATS cluster member per host, the
// registry on host 1, inference nodes on hosts 2 and 3, a load client on host 1
// with both node addresses; `single` has replicas: 1, `double` replicas: 2.
// Under load: (a) kill -9 the holder of `single`: it is re-placed, and requests
// fail (UNAVAILABLE) only in the gap; (b) kill -9 the node holding a `double`
// replica that the client is not on: zero failures; (c) kill a NATS member: no
// registry event lost (a promotion reaches both nodes), the nodes keep serving;
// (d) partition host 3: host 2 stops forwarding to it within a few heartbeats.
// Skips, saying why, only where network namespaces cannot be created.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster } from '../../shared/nats/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { healthCheck } from '../helpers/grpc-standard.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { constantModel, eventually } from './mesh-fixtures.js';

const BEAT_MS = 500;
const ID = `${process.pid % 1000}${Math.floor(Math.random() * 100)}`;
const SUBNET = `10.231.${(process.pid % 250) + 1}`;
const NS = [1, 2, 3].map((i) => `imh${ID}-${i}`);
const BRIDGE = `imb${ID}`;
const ip = (host: number) => `${SUBNET}.${host}`;
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' }).toString();
const inNs = (host: number) => ['ip', 'netns', 'exec', NS[host - 1]!];

/** Why namespaces cannot be made here, or undefined when they can. */
function namespacesUnavailable(): string | undefined {
  const probe = `imp${ID}`;
  try {
    sh('ip', 'netns', 'add', probe);
    sh('ip', 'netns', 'del', probe);
    return undefined;
  } catch (err) {
    return `cannot create network namespaces (ip netns add: ${(err as Error).message.split('\n')[0]}); needs root and iproute2`;
  }
}

function createHosts(): void {
  sh('ip', 'link', 'add', BRIDGE, 'type', 'bridge');
  sh('ip', 'addr', 'add', `${ip(254)}/24`, 'dev', BRIDGE);
  sh('ip', 'link', 'set', BRIDGE, 'up');
  for (const host of [1, 2, 3]) {
    const ns = NS[host - 1]!;
    sh('ip', 'netns', 'add', ns);
    sh('ip', 'link', 'add', `imv${ID}h${host}`, 'type', 'veth', 'peer', 'name', `imq${ID}h${host}`);
    sh('ip', 'link', 'set', `imq${ID}h${host}`, 'netns', ns);
    sh('ip', 'link', 'set', `imv${ID}h${host}`, 'master', BRIDGE);
    sh('ip', 'link', 'set', `imv${ID}h${host}`, 'up');
    sh(...inNs(host), 'ip', 'link', 'set', 'lo', 'up');
    sh(...inNs(host), 'ip', 'link', 'set', `imq${ID}h${host}`, 'name', 'eth0');
    sh(...inNs(host), 'ip', 'addr', 'add', `${ip(host)}/24`, 'dev', 'eth0');
    sh(...inNs(host), 'ip', 'link', 'set', 'eth0', 'up');
  }
}

function removeHosts(): void {
  for (const ns of NS) {
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // not created
    }
  }
  for (const host of [1, 2, 3]) {
    try {
      sh('ip', 'link', 'del', `imv${ID}h${host}`);
    } catch {
      // went with its namespace
    }
  }
  try {
    sh('ip', 'link', 'del', BRIDGE);
  } catch {
    // not created
  }
}

interface Result {
  /** When the call finished, and when it was sent (ms since the epoch). */
  t: number;
  s: number;
  model: string;
  ok: boolean;
  code?: number;
  message?: string;
  address: string;
}

/** The load client, as a process on host 1. */
function startLoad(addresses: string[], models: string[], concurrency = 2, timeoutMs = 3000): { results: Result[]; stop(): Promise<void>; child: ChildProcess } {
  const script = fileURLToPath(new URL('../helpers/load-client.mjs', import.meta.url));
  const child = spawn(inNs(1)[0]!, [...inNs(1).slice(1), process.execPath, script, addresses.join(','), models.join(','), String(concurrency), String(timeoutMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const results: Result[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => results.push(JSON.parse(l) as Result));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    results,
    child,
    async stop() {
      child.stdin.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const skipReason = namespacesUnavailable();
if (skipReason) process.stdout.write(`multi-host test skipped: ${skipReason}\n`);

describe.skipIf(skipReason !== undefined)('three hosts in network namespaces', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'infermesh-multihost-'));
  let cluster: NatsCluster;
  let registryProcess: ServiceProcess;
  let registry: RegistryClient;
  const nodes = new Map<number, ServiceProcess>();
  const figures: Record<string, unknown> = {};
  const loads: Array<{ stop(): Promise<void> }> = [];

  const nodeAddress = (host: number) => `${ip(host)}:8001`;
  const startNode = async (host: number) => {
    const p = await spawnService(
      [
        'inference', '--host', ip(host), '--grpc-port', '8001', '--node-id', `host${host}`, '--data-dir', join(dataDir, `node${host}`),
        '--registry', `${ip(1)}:50051`, '--nats', cluster.url, '--nats-replicas', '3', '--heartbeat-interval-ms', String(BEAT_MS), '--trace-sampling', 'off',
      ],
      { launcher: inNs(host), timeoutMs: 60_000 },
    );
    nodes.set(host, p);
    await eventually(() => healthCheck(nodeAddress(host)).then((s) => s === 'SERVING'), `node on host ${host} SERVING`, 60_000);
    return p;
  };
  const holds = async (host: number, model: string): Promise<boolean> => {
    const { createInferenceClient } = await import('../../shared/client/index.js');
    const c = createInferenceClient(nodeAddress(host));
    try {
      return (await c.repositoryIndex({}, { timeoutMs: 2000 })).some((m) => m.name === model && m.version !== '' && m.state === 'READY');
    } finally {
      c.close();
    }
  };
  const holderOf = async (model: string): Promise<number[]> => {
    const out: number[] = [];
    for (const [host, p] of nodes) if (p.child.exitCode === null && p.child.signalCode === null && (await holds(host, model).catch(() => false))) out.push(host);
    return out;
  };
  const kill9 = async (host: number) => {
    const p = nodes.get(host)!;
    const exited = new Promise<void>((r) => (p.child.exitCode !== null ? r() : p.child.once('exit', () => r())));
    p.child.kill('SIGKILL');
    await exited;
    nodes.delete(host);
  };
  /** The calls of `model` finished in [fromMs, toMs]; with `bySend`, the calls sent in it. */
  const phase = (results: Result[], fromMs: number, toMs: number, model: string, bySend = false) => {
    const rs = results.filter((r) => r.model === model && (bySend ? r.s : r.t) >= fromMs && (bySend ? r.s : r.t) <= toMs);
    const failed = rs.filter((r) => !r.ok);
    return { sent: rs.length, failed: failed.length, codes: [...new Set(failed.map((f) => f.code))], firstFailure: failed[0]?.message };
  };

  beforeAll(async () => {
    createHosts();
    cluster = new NatsCluster({ dataDir: join(dataDir, 'nats'), members: [1, 2, 3].map((h) => ({ host: ip(h), port: 4222, routePort: 6222, launcher: inNs(h) })) });
    await cluster.start();
    registryProcess = await spawnService(
      ['registry', '--host', ip(1), '--grpc-port', '50051', '--data-dir', join(dataDir, 'registry'), '--nats', cluster.url, '--nats-replicas', '3', '--trace-sampling', 'off'],
      { launcher: inNs(1) },
    );
    registry = createRegistryClient(`${ip(1)}:50051`);
    await registry.pushVersion('single', constantModel(1), { alias: 'production', config: { replicas: 1 } });
    await registry.pushVersion('double', constantModel(2), { alias: 'production', config: { replicas: 2 } });
    await startNode(2);
    await startNode(3);
    await eventually(async () => (await holderOf('single')).length === 1 && (await holderOf('double')).length === 2, 'placement on the two nodes', 60_000);
  }, 180_000);

  afterAll(async () => {
    for (const l of loads) await l.stop().catch(() => undefined);
    registry?.close();
    for (const p of nodes.values()) await p.stop(2000);
    await registryProcess?.stop(2000);
    await cluster?.stop();
    removeHosts();
    rmSync(dataDir, { recursive: true, force: true });
    process.stdout.write(`multi-host figures: ${JSON.stringify(figures)}\n`);
  }, 60_000);

  it('(a) kill -9 the holder of the single-replica model: re-placed on the other node; failures only in the gap, all UNAVAILABLE', async () => {
    const [holder] = await holderOf('single');
    const other = holder === 2 ? 3 : 2;
    const load = startLoad([nodeAddress(2), nodeAddress(3)], ['single']);
    loads.push(load);
    await eventually(async () => load.results.filter((r) => r.ok).length > 50, 'load before the kill');
    const killedAt = Date.now();
    await kill9(holder!);
    await eventually(async () => (await holderOf('single')).includes(other), `single re-placed on host ${other}`, 60_000);
    // Re-placed = claimed and loaded by the other node (it lists the version READY itself): from
    // then on, every call sent must succeed; calls sent before may fail, with UNAVAILABLE only.
    const loadedAt = Date.now();
    await eventually(async () => load.results.some((r) => r.ok && r.t > killedAt && r.model === 'single'), 'single served after the kill', 30_000);
    const servedAgainAt = load.results.find((r) => r.ok && r.t > killedAt)!.t;
    await eventually(async () => load.results.filter((r) => r.s > loadedAt).length > 50, 'load after re-placement');
    const end = Date.now();
    await load.stop();
    // The gap: calls that finished after the kill and were sent before the other node had loaded it.
    const gap = phase(load.results.filter((r) => r.s < loadedAt), killedAt, end, 'single');
    const after = phase(load.results, loadedAt, end, 'single', true);
    figures.a = {
      killedHost: holder, replacedOn: other, timeToReplaceMs: loadedAt - killedAt, firstServedAfterMs: servedAgainAt - killedAt, gap, after,
      before: phase(load.results, 0, killedAt, 'single'),
    };
    expect(gap.codes.every((c) => c === 14), JSON.stringify(gap)).toBe(true);
    expect(after.failed, JSON.stringify(after)).toBe(0);
    await startNode(holder!);
    await eventually(async () => (await holderOf('double')).length === 2, 'double back on two nodes', 60_000);
  }, 180_000);

  it('(b) kill -9 a node holding a replica of the two-replica model (not the client\'s): zero failed requests', async () => {
    const load = startLoad([nodeAddress(2), nodeAddress(3)], ['double']);
    loads.push(load);
    await eventually(async () => load.results.filter((r) => r.ok).length > 50, 'load before the kill');
    const clientOn = load.results.at(-1)!.address === nodeAddress(2) ? 2 : 3;
    const victim = clientOn === 2 ? 3 : 2;
    const killedAt = Date.now();
    await kill9(victim);
    // A few heartbeats and more: peers expire the node, placement frees its slot.
    await new Promise((r) => setTimeout(r, 6 * BEAT_MS));
    await eventually(async () => load.results.filter((r) => r.t > killedAt).length > 100, 'load after the kill');
    const end = Date.now();
    await load.stop();
    const during = phase(load.results, killedAt, end, 'double');
    figures.b = { clientOn, killedHost: victim, during, before: phase(load.results, 0, killedAt, 'double') };
    expect(during.failed, JSON.stringify(during)).toBe(0);
    await startNode(victim);
    await eventually(async () => (await holderOf('double')).length === 2, 'double back on two nodes', 60_000);
  }, 180_000);

  it('(c) kill one NATS member: a promotion made while it is down reaches both nodes; they keep serving', async () => {
    const load = startLoad([nodeAddress(2), nodeAddress(3)], ['double']);
    loads.push(load);
    await eventually(async () => load.results.filter((r) => r.ok).length > 50, 'load before the kill');
    const member = cluster.member(1); // host 2's
    const killedAt = Date.now();
    await member.stop();
    await registry.pushVersion('double', constantModel(22), { alias: 'production', config: { replicas: 2 } });
    const { createInferenceClient } = await import('../../shared/client/index.js');
    for (const host of [2, 3]) {
      const c = createInferenceClient(nodeAddress(host));
      try {
        await eventually(async () => (await c.repositoryIndex()).some((m) => m.name === 'double' && m.version === '2' && m.state === 'READY'), `v2 on host ${host}`, 60_000);
      } finally {
        c.close();
      }
    }
    const promotedAt = Date.now();
    await eventually(async () => load.results.filter((r) => r.t > promotedAt).length > 50, 'load after the promotion');
    const end = Date.now();
    await load.stop();
    const during = phase(load.results, killedAt, end, 'double');
    figures.c = { killedNatsMember: 'host2', promotionAppliedOnBothAfterMs: promotedAt - killedAt, during };
    expect(during.failed, JSON.stringify(during)).toBe(0);
    await member.start();
    await cluster.waitForJetStream();
  }, 180_000);

  it('(d) partition host 3 (its veth down): host 2 stops forwarding to it within a few heartbeats', async () => {
    // The single-replica model onto host 3, so that host 2 forwards to it.
    if ((await holderOf('single'))[0] !== 3) {
      await kill9(2);
      await eventually(async () => (await holderOf('single')).includes(3), 'single on host 3', 60_000);
      await startNode(2);
    }
    const load = startLoad([nodeAddress(2)], ['single'], 2, 1000);
    loads.push(load);
    await eventually(async () => load.results.filter((r) => r.ok).length > 50, 'forwarded load before the partition');
    const cutAt = Date.now();
    sh(...inNs(3), 'ip', 'link', 'set', 'eth0', 'down');
    try {
      await eventually(async () => (await holds(2, 'single')) && load.results.some((r) => r.ok && r.t > cutAt + 100), 'host 2 serving single itself', 60_000);
      const servedAt = load.results.find((r) => r.ok && r.t > cutAt + 100)!.t;
      await eventually(async () => load.results.filter((r) => r.t > servedAt).length > 50, 'load after');
      const end = Date.now();
      await load.stop();
      const gap = phase(load.results, cutAt, servedAt, 'single');
      figures.d = { stoppedForwardingAfterMs: servedAt - cutAt, heartbeatMs: BEAT_MS, gap, after: phase(load.results, servedAt + 1, end, 'single') };
      // Three missed beats expire the peer; a claim and a load follow. Generous bound for a shared machine.
      expect(servedAt - cutAt).toBeLessThan(3 * BEAT_MS + 15_000);
      expect(phase(load.results, servedAt + 1, end, 'single').failed).toBe(0);
    } finally {
      sh(...inNs(3), 'ip', 'link', 'set', 'eth0', 'up');
    }
  }, 180_000);
});
