// The project's NATS launcher starts a three-member JetStream cluster; the
// streams the mesh creates get the replicas --nats-replicas asks for, and a
// registry on the cluster loses no event when a member goes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureStream } from '../../shared/nats/index.js';
import { createRegistryClient, decodeRegistryEvent, type RegistryClient, REGISTRY_STREAM } from '../../shared/registry-client/index.js';
import { startNatsCluster } from '../helpers/nats.js';
import { spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { constantModel, eventually, tempDirs } from './mesh-fixtures.js';

describe('a three-member NATS cluster', () => {
  const dirs = tempDirs();
  let cluster: Awaited<ReturnType<typeof startNatsCluster>>;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let registryProcess: ServiceProcess;
  let registry: RegistryClient;

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
    registryProcess = await spawnService(['registry', '--grpc-port', '0', '--data-dir', dirs.make('cluster-registry-'), '--nats', cluster.url, '--nats-replicas', '3']);
    registry = createRegistryClient(registryProcess.endpoints.grpc!);
  }, 90_000);

  afterAll(async () => {
    registry?.close();
    await registryProcess?.stop();
    await nc?.close();
    await cluster?.close();
    dirs.cleanup();
  });

  it('runs three routed members with JetStream, each on its own ports', async () => {
    expect(cluster.members).toHaveLength(3);
    expect(new Set(cluster.members.map((m) => m.port)).size).toBe(3);
    const info = await jsm.getAccountInfo();
    expect(info.limits).toBeDefined();
  });

  it('REGISTRY gets three replicas with --nats-replicas 3, all of them current', async () => {
    await registry.pushVersion('clustered', constantModel(1), { alias: 'production' });
    const info = await eventually(async () => {
      const i = await jsm.streams.info(REGISTRY_STREAM);
      return i.state.messages >= 2 && i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current) ? i : undefined;
    }, 'REGISTRY replicated on three members');
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.leader).toMatch(/^infermesh-\d$/);
  });

  it('loses no registry event while the stream leader is down, and the member catches up when it returns', async () => {
    const before = (await jsm.streams.info(REGISTRY_STREAM)).state.last_seq;
    const leader = (await jsm.streams.info(REGISTRY_STREAM)).cluster!.leader!;
    const member = cluster.members.find((m) => leader.endsWith(`-${cluster.members.indexOf(m)}`))!;
    await member.stop();
    for (let i = 2; i <= 4; i++) await registry.pushVersion('clustered', constantModel(i));
    // Each push is one version.created event; all reach the stream on the two members left.
    const after = await eventually(async () => {
      const i = await jsm.streams.info(REGISTRY_STREAM);
      return i.state.last_seq >= before + 3 ? i : undefined;
    }, 'three more events on REGISTRY with a member down');
    expect(after.cluster?.leader).not.toBe(leader);
    const created: number[] = [];
    for (let s = before + 1; s <= after.state.last_seq; s++) {
      const event = decodeRegistryEvent((await jsm.streams.getMessage(REGISTRY_STREAM, { seq: s }))!.data);
      if (event.versionCreated) created.push(event.versionCreated.version);
    }
    expect(created).toEqual([2, 3, 4]);

    await member.start();
    await eventually(async () => {
      const i = await jsm.streams.info(REGISTRY_STREAM);
      return i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current);
    }, 'the returned member to be current again', 60_000);
  });

  it('ensureStream moves an existing stream to the replicas asked for, and leaves the count alone when none is asked for', async () => {
    const spec = { name: 'REPLICAS_TEST', subjects: ['replicas.test'], duplicateWindowMs: 60_000 };
    await ensureStream(nc, spec, jsm);
    expect((await jsm.streams.info('REPLICAS_TEST')).config.num_replicas).toBe(1);
    await ensureStream(nc, { ...spec, replicas: 3 }, jsm);
    expect((await jsm.streams.info('REPLICAS_TEST')).config.num_replicas).toBe(3);
    await ensureStream(nc, spec, jsm);
    expect((await jsm.streams.info('REPLICAS_TEST')).config.num_replicas).toBe(3);
  });
});
