import { headers as natsHeaders } from '@nats-io/nats-core';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NodeHeartbeat } from '../../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import { heartbeatCodec, heartbeatSubject } from './heartbeat-codec.js';
import {
  HEARTBEAT_SIGNATURE_HEADER,
  createHeartbeatVerifier,
  loadHeartbeatTrust,
  resolveNodeKey,
  signHeartbeat,
  writeNodeIdentity,
  type HeartbeatSigner,
} from './node-identity.js';
import { generateEd25519, issueNodeIdentity } from '../../../shared/auth/index.js';

const root = mkdtempSync(join(tmpdir(), 'infermesh-node-identity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const issuer = generateEd25519();
const T0 = 1_800_000_000_000;

function signedBeat(signer: HeartbeatSigner, nodeId: string, timeUnixMs: number) {
  const subject = heartbeatSubject(nodeId);
  const beat: NodeHeartbeat = { nodeId, grpcAddress: '127.0.0.1:1', timeUnixMs, sequence: 1, intervalMs: 1000, identity: signer.identity };
  const payload = heartbeatCodec().encode(beat);
  const h = natsHeaders();
  h.set(HEARTBEAT_SIGNATURE_HEADER, signHeartbeat(signer, subject, payload));
  return { subject, payload, headers: h, decoded: heartbeatCodec().decode(payload) };
}

describe('heartbeat verification', () => {
  const node = generateEd25519();
  const signer: HeartbeatSigner = { nodeKey: node.privateKey, identity: issueNodeIdentity({ issuerKey: issuer.privateKey, nodeId: 'n1', nodePublicKey: node.publicKey, validForMs: 60_000, now: () => T0 }) };

  it('accepts a current, signed beat; refuses it once the identity expired, or when its time is far off', () => {
    let now = T0 + 1000;
    const verifier = createHeartbeatVerifier({ issuerKeys: [issuer.publicKey], now: () => now, maxClockSkewMs: 5000 });
    const fresh = signedBeat(signer, 'n1', now);
    expect(verifier.check(fresh.subject, 'n1', fresh.payload, fresh.headers, fresh.decoded)).toBeUndefined();
    const old = signedBeat(signer, 'n1', now - 10_000);
    expect(verifier.check(old.subject, 'n1', old.payload, old.headers, old.decoded)).toBe('stale');
    now = T0 + 61_000;
    const late = signedBeat(signer, 'n1', now);
    expect(verifier.check(late.subject, 'n1', late.payload, late.headers, late.decoded)).toBe('expired_identity');
  });

  it('refuses a payload changed after signing, and an identity of another issuer', () => {
    const verifier = createHeartbeatVerifier({ issuerKeys: [issuer.publicKey], now: () => T0 });
    const b = signedBeat(signer, 'n1', T0);
    const tampered = heartbeatCodec().encode({ ...b.decoded, grpcAddress: '10.6.6.6:1' });
    expect(verifier.check(b.subject, 'n1', tampered, b.headers, heartbeatCodec().decode(tampered))).toBe('bad_signature');
    const other = createHeartbeatVerifier({ issuerKeys: [generateEd25519().publicKey], now: () => T0 });
    expect(other.check(b.subject, 'n1', b.payload, b.headers, b.decoded)).toBe('bad_identity');
    expect(() => createHeartbeatVerifier({ issuerKeys: [] })).toThrow(/at least one trusted issuer key/);
  });
});

describe('node keys and identity files', () => {
  it('keeps the node key (0600) across calls, and refuses an identity issued for another key', async () => {
    const dataDir = join(root, 'node');
    const key = await resolveNodeKey(dataDir);
    expect(statSync(join(dataDir, 'node-key.pem')).mode & 0o777).toBe(0o600);
    expect(createPublicKey(await resolveNodeKey(dataDir)).export({ format: 'jwk' })).toEqual(createPublicKey(key).export({ format: 'jwk' }));
    const identityFile = join(root, 'node-identity.json');
    await writeNodeIdentity(identityFile, issueNodeIdentity({ issuerKey: issuer.privateKey, nodeId: 'n1', nodePublicKey: createPublicKey(key) }));
    const trust = await loadHeartbeatTrust({ dataDir, identityFile });
    expect(trust.signer).toBeDefined();
    expect(trust.verifier).toBeUndefined();
    await expect(loadHeartbeatTrust({ dataDir: join(root, 'another-node'), identityFile })).rejects.toThrow(/was issued for another key/);
  });
});
