// The registry issues node identities (issue 12, item 5): IssueNodeIdentity
// signs a node's key with the registry's signing key, so a peer trusting the
// registry's public key accepts the node's signed heartbeats; only an admin
// token may ask, bad input is refused naming what was wrong, and every issue is
// audited once. `infermesh nodes identity` writes the file a node loads.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNodeIdentity, generateEd25519, nodeIdentityStatement, parseEd25519PublicKeyPem } from '../../shared/auth/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import type { NodeHeartbeat } from '../../shared/generated/infermesh/events/v1/NodeHeartbeat.js';
import { HEARTBEAT_SIGNATURE_HEADER, createHeartbeatVerifier, heartbeatCodec, heartbeatSubject, loadHeartbeatTrust, signHeartbeat, type HeartbeatTrust } from '../../services/inference/mesh/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { createGovernanceClient, type GovernanceClient } from '../../services/registry/cli/governance-client.js';
import { startNats } from '../helpers/nats.js';
import { CLI } from '../helpers/service-process.js';
import { startRegistry, tempDir } from './registry-fixtures.js';

function infermesh(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function failure(p: Promise<unknown>): Promise<InfermeshError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InfermeshError);
  return err as InfermeshError;
}

/** A heartbeat of `nodeId` signed with `trust.signer`, checked by `verifier`. */
function checkBeat(trust: HeartbeatTrust, verifier: NonNullable<HeartbeatTrust['verifier']>, nodeId: string) {
  const subject = heartbeatSubject(nodeId);
  const beat: NodeHeartbeat = { nodeId, grpcAddress: '127.0.0.1:1', timeUnixMs: Date.now(), sequence: 1, intervalMs: 1000, identity: trust.signer!.identity };
  const payload = heartbeatCodec().encode(beat);
  const h = natsHeaders();
  h.set(HEARTBEAT_SIGNATURE_HEADER, signHeartbeat(trust.signer!, subject, payload));
  return verifier.check(subject, nodeId, payload, h, heartbeatCodec().decode(payload));
}

describe('IssueNodeIdentity', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let dir: ReturnType<typeof tempDir>;
  let registry: RegistryService;
  let adminToken: string;
  let admin: GovernanceClient;
  const pem = () => generateEd25519().publicKey.export({ type: 'spki', format: 'pem' }).toString();

  beforeAll(async () => {
    nats = await startNats();
    dir = tempDir('infermesh-node-identity-registry-');
    registry = await startRegistry(join(dir.path, 'data'), nats.url, { auth: true });
    adminToken = readFileSync(registry.adminTokenFile!, 'utf8').trim();
    admin = createGovernanceClient(registry.address, { token: adminToken });
  }, 30_000);

  afterAll(async () => {
    admin?.close();
    await registry?.close();
    await nats?.close();
    dir?.cleanup();
  });

  it('`nodes identity` writes an identity the registry signed; a peer trusting the registry public key accepts the node heartbeats, one trusting another key does not', async () => {
    const nodeDir = join(dir.path, 'node-a');
    const res = await infermesh(['nodes', 'identity', '--node-id', 'node-a', '--data-dir', nodeDir, '--registry', registry.address], { INFERMESH_TOKEN: adminToken });
    expect(res.code, res.stderr).toBe(0);
    const identityFile = join(nodeDir, 'node-identity.json');
    expect(res.stdout).toContain(`wrote the identity of node node-a to ${identityFile}`);

    const publicKeyFile = join(dir.path, 'registry-public-key.pem');
    writeFileSync(publicKeyFile, (await admin.getPublicKey()).publicKeyPem);
    const trust = await loadHeartbeatTrust({ dataDir: nodeDir, identityFile, issuerPublicKeyFile: publicKeyFile });
    expect(checkBeat(trust, trust.verifier!, 'node-a')).toBeUndefined();
    expect(checkBeat(trust, createHeartbeatVerifier({ issuerKeys: [generateEd25519().publicKey] }), 'node-a')).toBe('bad_identity');
    // Signed for the node id asked, good for the default 30 days.
    const statement = nodeIdentityStatement(trust.signer!.identity);
    expect(statement.nodeId).toBe('node-a');
    expect(Number(statement.expiresUnixMs) - Number(statement.issuedUnixMs)).toBe(30 * 86_400_000);
  });

  it('is audited once per issue, with the node id and the admin as subject', async () => {
    const before = (await admin.listAudit({ limit: 1000 })).entries.filter((e) => e.action === 'node.identity.issue').length;
    const issued = await admin.issueNodeIdentity({ nodeId: 'node-b', nodePublicKeyPem: pem(), validForMs: 3_600_000 });
    const identity = decodeNodeIdentity(issued.identity);
    expect(Number(nodeIdentityStatement(identity).expiresUnixMs)).toBe(Number(issued.expiresUnixMs));
    const entries = (await admin.listAudit({ limit: 1000 })).entries.filter((e) => e.action === 'node.identity.issue');
    expect(entries.length).toBe(before + 1);
    const mine = entries.filter((e) => (JSON.parse(e.detailsJson) as { nodeId: string }).nodeId === 'node-b');
    expect(mine.length).toBe(1);
    expect(mine[0]!.subject).toBe('admin');
    expect((JSON.parse(mine[0]!.detailsJson) as { expiresAtMs: number }).expiresAtMs).toBe(Number(issued.expiresUnixMs));
    expect((await admin.verifyAudit()).ok).toBe(true);
  });

  it('refuses a call without a token (UNAUTHENTICATED) and a token without admin (PERMISSION_DENIED), and issues nothing', async () => {
    const before = (await admin.listAudit({ limit: 1000 })).entries.length;
    const anonymous = createGovernanceClient(registry.address);
    const { token: reader } = await admin.createToken({ subject: 'reader', scopes: ['models:read', 'infer'], ttlMs: 600_000 });
    const notAdmin = createGovernanceClient(registry.address, { token: reader });
    try {
      const none = await failure(anonymous.issueNodeIdentity({ nodeId: 'node-c', nodePublicKeyPem: pem(), validForMs: 0 }));
      expect(none.code).toBe(Code.UNAUTHENTICATED);
      const denied = await failure(notAdmin.issueNodeIdentity({ nodeId: 'node-c', nodePublicKeyPem: pem(), validForMs: 0 }));
      expect(denied.code).toBe(Code.PERMISSION_DENIED);
      expect(denied.message).toContain('admin');
    } finally {
      anonymous.close();
      notAdmin.close();
    }
    // Only the reader's token.create entry was added.
    const after = (await admin.listAudit({ limit: 1000 })).entries;
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.action).toBe('token.create');
  });

  it('refuses a bad node id, a key that is not an Ed25519 SPKI PEM, and a validity over 366 days (INVALID_ARGUMENT naming the field)', async () => {
    const badId = await failure(admin.issueNodeIdentity({ nodeId: 'node/../x', nodePublicKeyPem: pem(), validForMs: 0 }));
    expect(badId.code).toBe(Code.INVALID_ARGUMENT);
    expect(badId.message).toContain("node_id: a node id is 1-64 of letters, digits, '_' and '-', got 'node/../x'");
    const cli = await infermesh(['nodes', 'identity', '--node-id', 'a/b', '--data-dir', join(dir.path, 'node-bad'), '--registry', registry.address], { INFERMESH_TOKEN: adminToken });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain("--node-id: a node id is 1-64 of letters, digits, '_' and '-', got 'a/b'");
    const tooLong = await failure(admin.issueNodeIdentity({ nodeId: 'x'.repeat(65), nodePublicKeyPem: pem(), validForMs: 0 }));
    expect(tooLong.code).toBe(Code.INVALID_ARGUMENT);

    const garbage = await failure(admin.issueNodeIdentity({ nodeId: 'node-d', nodePublicKeyPem: 'not a key', validForMs: 0 }));
    expect(garbage.code).toBe(Code.INVALID_ARGUMENT);
    expect(garbage.message).toContain('node_public_key_pem is not an SPKI PEM public key');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const wrongKind = await failure(admin.issueNodeIdentity({ nodeId: 'node-d', nodePublicKeyPem: rsa, validForMs: 0 }));
    expect(wrongKind.code).toBe(Code.INVALID_ARGUMENT);
    expect(wrongKind.message).toContain('node_public_key_pem is a rsa key; an Ed25519 key is needed');

    const forever = await failure(admin.issueNodeIdentity({ nodeId: 'node-d', nodePublicKeyPem: pem(), validForMs: 367 * 86_400_000 }));
    expect(forever.code).toBe(Code.INVALID_ARGUMENT);
    expect(forever.message).toContain('valid_for_ms must be at most');
    // The key check itself (used by the CLI's and the mesh's readers) names the key kind too.
    expect(() => parseEd25519PublicKeyPem(rsa)).toThrow(/rsa key/);
  });
});
