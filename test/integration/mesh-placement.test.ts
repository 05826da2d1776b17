// Placement across nodes: models with `replicas: N` in their serving config
// are claimed by N nodes through the JetStream key-value bucket
// infermesh-placement; every node serves them (forwarding to a holder); when a
// holder is killed, another node claims and loads its replica within a few
// heartbeats; in the gap, requests fail with UNAVAILABLE naming the model.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, type Metadata } from '@grpc/grpc-js';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import type { ProtoGrpcType } from '../../shared/generated/grpc_service.js';
import { startNats } from '../helpers/nats.js';
import { CLI, type ServiceProcess } from '../helpers/service-process.js';
import { ask, clients, constantModel, eventually, nodeVersions, spawnNode, spawnRegistry, tempDirs } from './mesh-fixtures.js';

const run = promisify(execFile);

/** ModelReady through a plain grpc-js client: the answer and the response metadata `infermesh-placed-on`. */
function modelReadyWithPlacement(address: string, name: string): Promise<{ ready: boolean; placedOn: string | undefined }> {
  const proto = loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType;
  const client = new proto.inference.GRPCInferenceService(address, credentials.createInsecure());
  let placedOn: string | undefined;
  return new Promise<{ ready: boolean; placedOn: string | undefined }>((resolve, reject) => {
    const call = client.modelReady({ name }, (err, res) => (err ? reject(err) : resolve({ ready: res!.ready, placedOn })));
    call.on('metadata', (md: Metadata) => (placedOn = md.get('infermesh-placed-on')[0] as string | undefined));
  }).finally(() => client.close());
}
const BEAT_MS = 400;

interface Node {
  id: string;
  process: ServiceProcess;
  client: InferenceClient;
}

describe('placement of models with replicas: N', () => {
  const dirs = tempDirs();
  let nats: Awaited<ReturnType<typeof startNats>>;
  let registryProcess: ServiceProcess;
  let c: ReturnType<typeof clients>;
  const nodes: Node[] = [];

  const holders = async (model: string) => {
    const held: string[] = [];
    for (const n of nodes) if (n.process.child.exitCode === null && n.process.child.signalCode === null && (await nodeVersions(n.client, model))['1'] === 'READY') held.push(n.id);
    return held.sort();
  };
  const placement = async (model: string): Promise<Array<{ slot: number; nodeId: string }>> =>
    JSON.parse((await run(process.execPath, [CLI, 'models', 'placement', model, '--nats', nats.url, '--json'])).stdout) as Array<{ slot: number; nodeId: string }>;

  beforeAll(async () => {
    nats = await startNats();
    registryProcess = await spawnRegistry(nats.url, dirs.make('place-registry-'));
    for (const id of ['place-a', 'place-b', 'place-c']) {
      const p = await spawnNode(nats.url, registryProcess.endpoints.grpc!, dirs.make(`${id}-`), ['--node-id', id, '--heartbeat-interval-ms', String(BEAT_MS)]);
      nodes.push({ id, process: p, client: createInferenceClient(p.endpoints.grpc!) });
    }
    c = clients(registryProcess.endpoints.grpc!, nodes[0]!.process.endpoints.grpc!);
  }, 120_000);

  afterAll(async () => {
    c?.close();
    for (const n of nodes) {
      n.client.close();
      await n.process.stop();
    }
    await registryProcess?.stop();
    await nats?.close();
    dirs.cleanup();
  });

  it('loads a replicas: 1 model on one node and a replicas: 2 model on two; every node answers both', async () => {
    await c.registry.pushVersion('solo', constantModel(1), { alias: 'production', config: { replicas: 1 } });
    await c.registry.pushVersion('pair', constantModel(2), { alias: 'production', config: { replicas: 2 } });
    await c.registry.pushVersion('everywhere', constantModel(3), { alias: 'production' });
    await eventually(async () => (await holders('solo')).length === 1 && (await holders('pair')).length === 2 && (await holders('everywhere')).length === 3, 'placement to settle');
    for (const n of nodes) {
      expect(await ask(n.client, 'solo')).toBe(1);
      expect(await ask(n.client, 'pair')).toBe(2);
    }
    // The claims say the same as the nodes, and `infermesh models placement` prints them.
    expect((await placement('solo')).map((r) => r.nodeId)).toEqual(await holders('solo'));
    expect((await placement('pair')).map((r) => r.nodeId).sort()).toEqual(await holders('pair'));
    expect(await placement('everywhere')).toEqual([]);
    // RepositoryIndex says where a placed model lives, on holders and on the others.
    const [soloHolder] = await holders('solo');
    for (const n of nodes) {
      const row = (await n.client.repositoryIndex()).find((m) => m.name === 'solo' && m.version === '');
      expect(row, n.id).toMatchObject({ state: n.id === soloHolder ? 'READY' : 'UNAVAILABLE', reason: expect.stringContaining(`placed on ${soloHolder} (`) });
      // ModelReady: this node's own readiness, and where the replicas are in its response metadata.
      const ready = await modelReadyWithPlacement(n.process.endpoints.grpc!, 'solo');
      expect(ready.ready, n.id).toBe(n.id === soloHolder);
      expect(ready.placedOn, n.id).toMatch(new RegExp(`^${soloHolder}@[^,]+:\\d+$`));
    }
    expect((await modelReadyWithPlacement(nodes[0]!.process.endpoints.grpc!, 'everywhere')).placedOn).toBeUndefined();
    const table = (await run(process.execPath, [CLI, 'models', 'placement', '--nats', nats.url])).stdout;
    expect(table).toMatch(/^MODEL\s+SLOT\s+NODE\s+ADDRESS\s+SINCE\n/);
    expect(table.split('\n').filter((l) => /^(solo|pair) /.test(l))).toHaveLength(3);
  });

  it('a killed holder: UNAVAILABLE naming the model in the gap, then another node claims and serves it within a few beats', async () => {
    const [holderId] = await holders('solo');
    const holder = nodes.find((n) => n.id === holderId)!;
    const front = nodes.find((n) => n.id !== holderId)!;
    holder.process.child.kill('SIGKILL');
    const killedAt = Date.now();
    const gap = await ask(front.client, 'solo', '', 5000).then(
      () => undefined,
      (err: unknown) => err as { code: number; details?: string; message: string },
    );
    expect(gap, 'the request right after the kill fails').toBeDefined();
    expect(gap!.code).toBe(14);
    expect(gap!.message).toMatch(/model 'solo'/);
    await eventually(async () => (await ask(front.client, 'solo', '', 2000)) === 1, 'solo to be served again', 30_000, 50);
    const replacedMs = Date.now() - killedAt;
    const now = (await placement('solo')).map((r) => r.nodeId);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(holderId);
    // Lease: 3 missed beats; then the claim and a load. Bound generously for a shared machine.
    expect(replacedMs).toBeLessThan(20 * BEAT_MS + 10_000);
    process.stdout.write(`placement: solo re-placed ${replacedMs} ms after its holder was killed (heartbeat ${BEAT_MS} ms)\n`);
  });

  it('the killed node also held a pair replica if it was one of two: the survivors fill the slot again', async () => {
    await eventually(async () => (await holders('pair')).length === 2, 'pair back on two live nodes');
    expect((await placement('pair')).map((r) => r.nodeId).sort()).toEqual(await holders('pair'));
  });
});
