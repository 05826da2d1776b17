import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_REVOKED_SUBJECT, applyRevocation, bearerHeader, createTokenVerifier, tokenHash, type TokenVerifier } from '../../shared/auth/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import type { ModelRegistryClient } from '../../shared/generated/infermesh/registry/v1/ModelRegistry.js';
import type { ProtoGrpcType } from '../../shared/generated/registry.js';
import { connectNats } from '../../shared/nats/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { createRegistryClient, decodeRegistryEvent } from '../../shared/registry-client/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { createGovernanceClient, type GovernanceClient } from '../../services/registry/cli/governance-client.js';
import { startNats } from '../helpers/nats.js';
import { CLI } from '../helpers/service-process.js';
import { eventually, startRegistry, streamMessages, tempDir, tinyModel } from './registry-fixtures.js';

/** Runs `infermesh <args>` (dist) to completion. */
function infermesh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
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

describe('registry tokens and audit log, over gRPC', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let nc: NatsConnection;
  let dir: ReturnType<typeof tempDir>;
  let registry: RegistryService;
  let anonymous: GovernanceClient;
  let verifier: TokenVerifier;
  let raw: ModelRegistryClient;
  let adminToken: string;

  /** CreateModel with a bearer token, through the raw client (the typed client sends no token). */
  const createModelAs = (token: string, name: string) =>
    new Promise<void>((resolve, reject) => {
      const md = new Metadata();
      md.set('authorization', bearerHeader(token));
      raw.createModel({ name }, md, (err: ServiceError | null) => (err ? reject(InfermeshError.from(err)) : resolve()));
    });

  beforeAll(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url });
    dir = tempDir('infermesh-registry-auth-');
    registry = await startRegistry(join(dir.path, 'data'), nats.url);
    anonymous = createGovernanceClient(registry.address);
    const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
    raw = new proto.infermesh.registry.v1.ModelRegistry(registry.address, credentials.createInsecure());
  });
  afterAll(async () => {
    raw?.close();
    anonymous?.close();
    await registry?.close();
    await nc?.close();
    await nats?.close();
    dir?.cleanup();
  });

  it('keeps its signing key private under the data dir and publishes the public key', async () => {
    expect(statSync(join(dir.path, 'data', 'auth', 'token-signing-key.pem')).mode & 0o777).toBe(0o600);
    const key = await anonymous.getPublicKey();
    expect(key).toMatchObject({ algorithm: 'EdDSA', keyId: registry.auth.key.keyId, issuer: 'infermesh-registry', audience: 'infermesh' });
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    verifier = createTokenVerifier({ publicKey: key.publicKeyPem });
  });

  it('issues tokens that verify locally, and lists them by id and hash', async () => {
    const admin = await anonymous.createToken({ subject: 'root', scopes: ['admin'] });
    adminToken = admin.token;
    const ci = await anonymous.createToken({ subject: 'ci', scopes: ['models:write', 'infer'], models: ['fraud-*'], ttlMs: 3_600_000 });
    const principal = await verifier.verify(ci.token);
    expect(principal).toMatchObject({ subject: 'ci', scopes: ['models:write', 'infer'], models: ['fraud-*'], tokenId: ci.info!.tokenId });
    expect(Number(ci.info!.expiresAtUnixMs) - Date.now()).toBeLessThanOrEqual(3_600_000);
    const listed = await anonymous.listTokens(false);
    expect(listed.map((t) => t.tokenId).sort()).toEqual([admin.info!.tokenId, ci.info!.tokenId].sort());
    const ciListed = listed.find((t) => t.subject === 'ci')!;
    expect(ciListed.sha256).toBe(tokenHash(ci.token));
    expect(JSON.stringify(listed)).not.toContain(ci.token.split('.')[2]);
  });

  it('refuses bad token requests with INVALID_ARGUMENT naming the field', async () => {
    expect((await failure(anonymous.createToken({ subject: 'x', scopes: ['root'] }))).message).toMatch(/unknown scope 'root'/);
    expect((await failure(anonymous.createToken({ subject: 'x', scopes: ['infer'], models: ['a.b'] }))).code).toBe(Code.INVALID_ARGUMENT);
    expect((await failure(anonymous.createToken({ subject: 'has space', scopes: ['infer'] }))).message).toMatch(/subject 'has space'/);
    expect((await failure(anonymous.createToken({ subject: 'x', scopes: ['infer'], ttlMs: 10 }))).message).toMatch(/ttl must be between/);
    expect((await failure(anonymous.revokeToken('no-such-id'))).code).toBe(Code.NOT_FOUND);
  });

  it('revokes a token: the TokenRevoked event reaches NATS and a verifier applying it refuses the token', async () => {
    const doomed = await anonymous.createToken({ subject: 'temp', scopes: ['infer'] });
    await verifier.verify(doomed.token);
    const sub: Subscription = nc.subscribe(TOKEN_REVOKED_SUBJECT, { max: 1 });
    await nc.flush();
    const admin = createGovernanceClient(registry.address, { token: adminToken });
    try {
      const revoked = await admin.revokeToken(doomed.info!.tokenId);
      expect(Number(revoked.revokedAtUnixMs)).toBeGreaterThan(0);
    } finally {
      admin.close();
    }
    let received: ReturnType<typeof decodeRegistryEvent> | undefined;
    for await (const m of sub) received = decodeRegistryEvent(m.data);
    expect(received!.tokenRevoked).toMatchObject({ tokenId: doomed.info!.tokenId, subject: 'temp', revokedBy: 'root' });
    applyRevocation(verifier, received!.tokenRevoked!);
    const err = await failure(verifier.verify(doomed.token));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/revoked/);
    // The registry's own verifier knows at once, and the stream keeps the event for nodes that start later.
    expect(registry.auth.verifier.isRevoked(doomed.info!.tokenId)).toBe(true);
    const stored = await eventually('the revocation in the REGISTRY stream', async () => (await streamMessages(nc)).find((m) => m.subject === TOKEN_REVOKED_SUBJECT));
    expect(stored.event.tokenRevoked!.tokenId).toBe(doomed.info!.tokenId);
    expect((await failure(anonymous.revokeToken(doomed.info!.tokenId))).code).toBe(Code.FAILED_PRECONDITION);
    expect((await anonymous.listTokens(false)).map((t) => t.tokenId)).not.toContain(doomed.info!.tokenId);
  });

  it('records every change once with its subject and address, and history answers which version was production when', async () => {
    const ci = await anonymous.createToken({ subject: 'ci', scopes: ['models:write'] });
    await createModelAs(ci.token, 'fraud-v1');
    const client = createRegistryClient(registry.address);
    try {
      writeFileSync(join(dir.path, 'v1.onnx'), tinyModel(1));
      writeFileSync(join(dir.path, 'v2.onnx'), tinyModel(2));
      await client.pushVersion('fraud-v1', join(dir.path, 'v1.onnx'), { alias: 'production' });
      const afterV1 = Date.now();
      while (Date.now() <= afterV1); // the second promotion commits in a later millisecond
      await client.pushVersion('fraud-v1', join(dir.path, 'v2.onnx'), { alias: 'production' });
      const page = await anonymous.listAudit({ model: 'fraud-v1' });
      expect(page.entries.map((e) => [e.action, e.subject])).toEqual([
        ['model.create', 'ci'],
        ['version.create', 'anonymous'],
        ['alias.set', 'anonymous'],
        ['version.create', 'anonymous'],
        ['alias.set', 'anonymous'],
      ]);
      expect(page.entries[0]!.address).toMatch(/127\.0\.0\.1|::1/);
      const all = await anonymous.listAudit({});
      expect(all.entries.filter((e) => e.action === 'token.create')).toHaveLength(4);
      expect(all.entries.filter((e) => e.action === 'token.revoke').map((e) => e.subject)).toEqual(['root']);
      expect(all.entries.map((e) => Number(e.sequence))).toEqual(all.entries.map((_, i) => i + 1));

      const then = await anonymous.modelHistory('fraud-v1', afterV1);
      expect(then.aliases.map((a) => [a.alias, a.version])).toEqual([['production', 1]]);
      const current = await anonymous.modelHistory('fraud-v1', 0);
      expect(current.aliases.map((a) => [a.alias, a.version])).toEqual([['production', 2]]);
    } finally {
      client.close();
    }
    expect(await anonymous.verifyAudit()).toMatchObject({ ok: true, firstBadSequence: '0' });
  });

  it('infermesh tokens, audit and models history work from the command line, and audit verify names an edited entry', async () => {
    const env = { INFERMESH_REGISTRY: registry.address, INFERMESH_TOKEN: adminToken };
    const created = await infermesh(['tokens', 'create', '--subject', 'cli-user', '--scope', 'infer', '--model', 'fraud-*', '--ttl', '2h'], env);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect((await verifier.verify(token)).subject).toBe('cli-user');
    expect(created.stderr).toMatch(/^token [0-9a-f-]{36} for cli-user: infer on fraud-\*, expires /);
    const id = /^token (\S+)/.exec(created.stderr)![1]!;

    const list = await infermesh(['tokens', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+cli-user\\s+infer\\s+fraud-\\*`));
    expect(list.stdout).not.toContain(token);
    const revoke = await infermesh(['tokens', 'revoke', id], env);
    expect(revoke).toMatchObject({ code: 0 });
    expect(revoke.stdout).toMatch(new RegExp(`^revoked token ${id} of cli-user at `));
    expect((await infermesh(['tokens', 'revoke', id], env)).stderr).toMatch(/FAILED_PRECONDITION: token .* was already revoked/);
    expect((await infermesh(['tokens', 'create', '--subject', 'x', '--scope', 'infer', '--ttl', 'soon'], env))).toMatchObject({ code: 2 });

    const audit = await infermesh(['audit', 'list', '--model', 'fraud-v1'], env);
    expect(audit.code).toBe(0);
    expect(audit.stdout.split('\n')[0]).toMatch(/^SEQ\s+TIME\s+SUBJECT\s+ADDRESS\s+ACTION\s+MODEL\s+DETAILS/);
    expect(audit.stdout).toMatch(/model\.create\s+fraud-v1/);
    const revokes = (await infermesh(['audit', 'list'], env)).stdout.split('\n').filter((l) => l.includes('token.revoke'));
    expect(revokes.map((l) => l.split(/\s+/)[2])).toEqual(['root', 'root']);

    const history = await infermesh(['models', 'history', 'fraud-v1', '--at', 'now'], env);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/production: version 2 \(weight 100\), set .* by anonymous \(audit entry \d+\)/);
    expect((await infermesh(['models', 'history', 'fraud-v1', '--at', 'yesterday'], env)).code).toBe(2);

    expect(await infermesh(['audit', 'verify'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit log intact: \d+ entries/) });
    const db = new Database(join(dir.path, 'data', 'registry.db'));
    try {
      db.exec(`UPDATE audit_log SET subject = 'someone-else' WHERE sequence = 3`);
    } finally {
      db.close();
    }
    const broken = await infermesh(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('audit log BROKEN at entry 3: entry 3 was edited (its hash does not match its content)\n');
  });
});
