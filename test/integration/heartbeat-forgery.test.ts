// Issue 12, item 5: NATS is part of the perimeter. An attacker on the network
// publishes a forged heartbeat on `infermesh.node.heartbeat.evil` claiming
// "demo-mlp v2 READY" at its own gRPC server. With verification on, the nodes
// ignore and count it and never forward a client's request (or its tensors) to
// the forger; forwarding between the genuine, signed nodes still works.
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { generateEd25519, issueNodeIdentity } from '../../shared/auth/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import type { ProtoGrpcType } from '../../shared/generated/grpc_service.js';
import type { NodeHeartbeat } from '../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import type { NodeIdentity } from '../../shared/generated/infermesh/events/v1/NodeIdentity.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/inference-node.js';
import {
  HEARTBEAT_SIGNATURE_HEADER,
  createHeartbeatVerifier,
  createPeerTable,
  heartbeatCodec,
  heartbeatSubject,
  resolveNodeKey,
  signHeartbeat,
  type HeartbeatTrust,
} from '../../services/inference/mesh/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { writeTestRepository } from '../fixtures/models.js';
import { startNats } from '../helpers/nats.js';
import { ask, constantModel, eventually, tempDirs } from './mesh-fixtures.js';
import { startRegistry } from './registry-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let attacker: NatsConnection;
let registry: RegistryService;
let holder: InferenceNode;
let asker: InferenceNode;
let askerClient: InferenceClient;
let forger: Server;
let forgerAddress: string;
let forgerCalls = 0;
let forging: NodeJS.Timeout | undefined;
const dirs = tempDirs();
const issuer = generateEd25519();

/** What the attacker captured of the holder's genuine beats (payload, headers) off the wire. */
let captured: { data: Uint8Array; headers: MsgHdrs | undefined; identity: NodeIdentity } | undefined;

async function trustFor(nodeId: string, dataDir: string): Promise<HeartbeatTrust> {
  const nodeKey = await resolveNodeKey(dataDir);
  return {
    signer: { nodeKey, identity: issueNodeIdentity({ issuerKey: issuer.privateKey, nodeId, nodePublicKey: createPublicKey(nodeKey) }) },
    verifier: createHeartbeatVerifier({ issuerKeys: [issuer.publicKey] }),
  };
}

async function meshNode(nodeId: string, repositoryDir?: string): Promise<InferenceNode> {
  const dataDir = dirs.make(`forgery-${nodeId}-`);
  return startInferenceNode({
    logger: silentLogger,
    ...(repositoryDir ? { repositoryDir } : {}),
    mesh: { natsUrl: nats.url, registryAddress: registry.address, dataDir, nodeId, heartbeatIntervalMs: 200, heartbeatTrust: await trustFor(nodeId, dataDir) },
  });
}

/** The forger's heartbeat: "demo-mlp v2 READY" at its own gRPC server. */
function forgedBeat(extra: Partial<NodeHeartbeat> = {}): NodeHeartbeat {
  return {
    nodeId: 'evil',
    grpcAddress: forgerAddress,
    timeUnixMs: Date.now(),
    sequence: 1,
    intervalMs: 200,
    devices: ['cpu'],
    models: [{ model: 'demo-mlp', version: '2', state: 'MODEL_VERSION_STATE_READY', queueDepth: 0, inFlight: 0, devices: ['cpu'], servesDefault: true }],
    memory: { rssBytes: 1, modelBytes: 0, budgetBytes: 0 },
    leaving: false,
    ...extra,
  };
}

/** Every way the attacker can try: unsigned; a stolen identity with a made-up signature; a self-made identity; a genuine beat replayed on its subject. */
function publishForgeries(): void {
  const subject = heartbeatSubject('evil');
  const codec = heartbeatCodec();
  attacker.publish(subject, codec.encode(forgedBeat()));
  const self = generateEd25519();
  const selfMade = { nodeKey: self.privateKey, identity: issueNodeIdentity({ issuerKey: self.privateKey, nodeId: 'evil', nodePublicKey: self.publicKey }) };
  const selfSigned = codec.encode(forgedBeat({ identity: selfMade.identity }));
  const h1 = natsHeaders();
  h1.set(HEARTBEAT_SIGNATURE_HEADER, signHeartbeat(selfMade, subject, selfSigned));
  attacker.publish(subject, selfSigned, { headers: h1 });
  if (captured) {
    const stolen = codec.encode(forgedBeat({ nodeId: 'holder', identity: captured.identity }));
    const h2 = natsHeaders();
    h2.set(HEARTBEAT_SIGNATURE_HEADER, captured.headers!.get(HEARTBEAT_SIGNATURE_HEADER));
    attacker.publish(heartbeatSubject('holder'), stolen, { headers: h2 });
    attacker.publish(subject, captured.data, { headers: captured.headers! });
  }
}

beforeAll(async () => {
  nats = await startNats();
  attacker = await connectNats({ url: nats.url, name: 'attacker' });
  attacker.subscribe(heartbeatSubject('holder'), {
    callback: (_err, msg: Msg) => {
      if (captured || !msg.headers) return;
      const beat = heartbeatCodec().decode(msg.data);
      if (beat.identity) captured = { data: msg.data, headers: msg.headers, identity: beat.identity };
    },
  });
  forger = new Server();
  const proto = loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType;
  forger.addService(proto.inference.GRPCInferenceService.service, {
    ModelInfer: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      forgerCalls++;
      callback(null, { modelName: 'demo-mlp', modelVersion: '2', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], contents: { fp32Contents: [666] } }] });
    },
  });
  const port = await new Promise<number>((resolve, reject) => forger.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  forgerAddress = `127.0.0.1:${port}`;
  registry = await startRegistry(dirs.make('forgery-registry-'), nats.url);
  const repo = dirs.make('forgery-repo-');
  await writeTestRepository({ 'only-here': { versions: { '1': constantModel(42) } } }, repo);
  holder = await meshNode('holder', repo);
  asker = await meshNode('asker');
  askerClient = createInferenceClient(asker.grpcAddress);
  forging = setInterval(publishForgeries, 100);
  forging.unref();
});

afterAll(async () => {
  if (forging) clearInterval(forging);
  askerClient?.close();
  await asker?.close();
  await holder?.close();
  await registry?.close();
  await attacker?.drain();
  forger?.forceShutdown();
  await nats?.close();
  dirs.cleanup();
});

describe('forged heartbeats with verification on', () => {
  it('a node without verification would take the forger for a holder of demo-mlp v2 (the attack is real)', async () => {
    const naive = createPeerTable({ nc: attacker, selfNodeId: 'naive', logger: silentLogger });
    naive.start();
    try {
      await naive.waitFor((peers) => peers.some((p) => p.nodeId === 'evil'), 10_000);
      expect(naive.holders('demo-mlp', '2').map((p) => p.grpcAddress)).toContain(forgerAddress);
    } finally {
      naive.close();
    }
  });

  it('the genuine, signed peer is trusted and forwarded to', async () => {
    await eventually(async () => (await ask(askerClient, 'only-here', '', 2000)) === 42, 'the asker to forward to the holder');
    expect(asker.mesh!.peers.peers().map((p) => p.nodeId)).toEqual(['holder']);
  });

  it('every forgery is ignored and counted by reason', async () => {
    await eventually(async () => captured !== undefined, "the attacker to capture one of the holder's beats");
    const counts = await eventually(async () => {
      const c = asker.mesh!.peers.rejectedHeartbeats();
      return c.unsigned > 0 && c.bad_identity > 0 && c.bad_signature > 0 && c.node_mismatch > 0 ? c : undefined;
    }, 'the asker to have rejected each kind of forgery');
    expect(counts.malformed).toBe(0);
    expect(asker.mesh!.peers.peers().map((p) => p.nodeId)).not.toContain('evil');
    expect(asker.mesh!.peers.holders('demo-mlp', '2')).toEqual([]);
    expect(holder.mesh!.peers.rejectedHeartbeats().unsigned).toBeGreaterThan(0);
  });

  it("a client's request for demo-mlp v2 is not forwarded to the forger", async () => {
    await eventually(async () => asker.mesh!.peers.rejectedHeartbeats().unsigned > 5, 'forged beats to keep arriving');
    const request = askerClient.infer({ modelName: 'demo-mlp', modelVersion: '2', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, { timeoutMs: 5000 });
    await expect(request).rejects.toMatchObject({ code: 5 });
    const unversioned = askerClient.infer({ modelName: 'demo-mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, { timeoutMs: 5000 });
    await expect(unversioned).rejects.toMatchObject({ code: 5 });
    expect(forgerCalls).toBe(0);
  });
});
