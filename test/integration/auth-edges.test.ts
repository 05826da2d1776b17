// Tokens checked at every edge (issue 12 item 2): a registry and two nodes
// enforcing tokens (in-process, real nats-server), a third node that does not
// (it forwards to one that does), REST, the registry's own scopes, revocation
// within a second on both nodes, and no token in any message or log line.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, followRevocations, loadTokenVerifier, publicKeyId, signToken, type Scope, type TokenVerifier } from '../../shared/auth/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { createLogger, type Logger } from '../../shared/logging/index.js';
import { connectNats } from '../../shared/nats/index.js';
import { createRegistryClient, type RegistryClient } from '../../shared/registry-client/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/inference-node.js';
import { startMonitor } from '../../services/monitor/index.js';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import type { RegistryService } from '../../services/registry/index.js';
import { createGovernanceClient } from '../../services/registry/cli/governance-client.js';
import { writeTestRepository } from '../fixtures/models.js';
import { startNats } from '../helpers/nats.js';
import { ask, constantModel, eventually, tempDirs } from './mesh-fixtures.js';
import { startRegistry } from './registry-fixtures.js';

let nats: Awaited<ReturnType<typeof startNats>>;
let registry: RegistryService;
let n1: InferenceNode;
let n2: InferenceNode;
let n3: InferenceNode;
let admin: RegistryClient;
const dirs = tempDirs();
const logLines: string[] = [];
const logger: Logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
/** Every token handed out here: none may appear in an error message or a log line. */
const issued: string[] = [];
const clients: { close(): void }[] = [];

async function token(scopes: Scope[], models: string[] = [], subject = 'tester'): Promise<{ token: string; id: string }> {
  const { token: t, record } = await registry.auth.issuer.issue({ subject, scopes, models });
  issued.push(t);
  return { token: t, id: record.id };
}

function client(node: InferenceNode, t?: string): InferenceClient {
  const c = createInferenceClient(node.grpcAddress, t ? { token: t } : {});
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<InfermeshError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InfermeshError);
  const error = err as InfermeshError;
  for (const t of issued) expect(error.message).not.toContain(t.split('.')[2]);
  return error;
}

/** A mesh node that enforces tokens (and fetches models with its own `nodeToken`). */
function node(nodeId: string, verifier: TokenVerifier, nodeToken: string, repositoryDir?: string): Promise<InferenceNode> {
  return startInferenceNode({
    logger: logger.child({ node: nodeId }),
    httpPort: 0,
    ...(repositoryDir ? { repositoryDir } : {}),
    mesh: { natsUrl: nats.url, registryAddress: registry.address, dataDir: dirs.make(`auth-${nodeId}-`), nodeId, heartbeatIntervalMs: 200 },
    auth: { verifier, token: nodeToken },
  });
}

beforeAll(async () => {
  nats = await startNats();
  registry = await startRegistry(dirs.make('auth-registry-'), nats.url, { auth: true, logger: logger.child({ service: 'registry' }) });
  // The registry wrote its first admin token on start; everything else is issued with it.
  const adminToken = readFileSync(registry.adminTokenFile!, 'utf8').trim();
  issued.push(adminToken);
  expect(statSync(registry.adminTokenFile!).mode & 0o777).toBe(0o600);
  admin = createRegistryClient(registry.address, { token: adminToken });
  clients.push(admin);
  await admin.pushVersion('demo-mlp', constantModel(7), { alias: 'production' });
  await admin.pushVersion('fraud-v1', constantModel(9), { alias: 'production' });
  const nodeToken = (await token(['models:read'], [], 'node')).token;
  const keyClient = createRegistryClient(registry.address);
  clients.push(keyClient);
  const repo = dirs.make('auth-repo-');
  await writeTestRepository({ 'only-here': { versions: { '1': constantModel(42) } } }, repo);
  // Each node gets the key from the registry (GetPublicKey is public), as `--auth` without `--auth-public-key` would.
  n1 = await node('n1', await loadTokenVerifier({ registry: keyClient }), nodeToken);
  n2 = await node('n2', await loadTokenVerifier({ registry: keyClient }), nodeToken, repo);
  // n3 enforces nothing but still fetches models with its own token.
  n3 = await startInferenceNode({
    logger: logger.child({ node: 'n3' }),
    mesh: { natsUrl: nats.url, registryAddress: registry.address, dataDir: dirs.make('auth-n3-'), nodeId: 'n3', heartbeatIntervalMs: 200, registryToken: nodeToken },
  });
  const all = (await token(['infer'])).token;
  for (const n of [n1, n2, n3]) await eventually(async () => (await ask(client(n, all), 'demo-mlp', '', 2000)) === 7, `${n.mesh!.nodeId} to serve demo-mlp`);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await n3?.close({ drainTimeoutMs: 0 });
  await n2?.close({ drainTimeoutMs: 0 });
  await n1?.close({ drainTimeoutMs: 0 });
  await registry?.close();
  await nats?.close();
  dirs.cleanup();
});

describe('tokens at the inference edge (gRPC)', () => {
  it('refuses a call without a token with UNAUTHENTICATED, and serves the probes without one', async () => {
    const err = await failure(ask(client(n1), 'demo-mlp'));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/no token/);
    expect(await client(n1).serverLive()).toBe(true);
    expect(await client(n1).serverReady()).toBe(true);
  });

  it('refuses an expired token, naming when it expired', async () => {
    const key = registry.auth.key;
    const expired = await signToken({ subject: 'late', scopes: ['infer'], models: [], tokenId: 'expired-1', issuedAtMs: Date.now() - 3_600_000, expiresAtMs: Date.now() - 60_000 }, key.privateKey, key.keyId);
    issued.push(expired);
    const err = await failure(ask(client(n1, expired), 'demo-mlp'));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/token expired-1 expired at /);
  });

  it('refuses a token signed by another key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const forged = await signToken({ subject: 'mallory', scopes: ['admin'], models: [], tokenId: 'forged-1', issuedAtMs: Date.now(), expiresAtMs: Date.now() + 3_600_000 }, privateKey, publicKeyId(publicKey));
    issued.push(forged);
    const err = await failure(ask(client(n1, forged), 'demo-mlp'));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/signature does not verify/);
  });

  it('refuses a token without the scope with PERMISSION_DENIED naming it', async () => {
    const reader = (await token(['models:read'])).token;
    const err = await failure(ask(client(n1, reader), 'demo-mlp'));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/lacks scope infer/);
    expect((await client(n1, reader).modelMetadata('demo-mlp')).name).toBe('demo-mlp');
    const load = await failure(client(n1, reader).repositoryModelLoad('demo-mlp'));
    expect(load.code).toBe(Code.PERMISSION_DENIED);
    expect(load.message).toMatch(/lacks scope admin/);
  });

  it('lets infer on fraud-* call fraud-v1 and not demo-mlp, unary and streaming', async () => {
    const fraud = (await token(['infer'], ['fraud-*'])).token;
    expect(await ask(client(n1, fraud), 'fraud-v1')).toBe(9);
    const err = await failure(ask(client(n1, fraud), 'demo-mlp'));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/not allowed model demo-mlp \(allowed: fraud-\*\)/);
    const anonymousStream = client(n1).stream();
    const refused = await failure(anonymousStream.infer(buildInferRequest({ modelName: 'fraud-v1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] })));
    expect(refused.code).toBe(Code.UNAUTHENTICATED);
    const stream = client(n1, fraud).stream();
    const input = (model: string) => buildInferRequest({ modelName: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
    const [ok, denied] = await Promise.allSettled([stream.infer(input('fraud-v1')), stream.infer(input('demo-mlp'))]);
    stream.end();
    await stream.closed;
    expect(ok.status).toBe('fulfilled');
    expect(denied.status).toBe('rejected');
    const streamErr = (denied as PromiseRejectedResult).reason as InfermeshError;
    expect(streamErr.code).toBe(Code.PERMISSION_DENIED);
    expect(streamErr.message).toMatch(/not allowed model demo-mlp/);
  });
});

describe('tokens at the inference edge (REST)', () => {
  const infer = (node: InferenceNode, model: string, t?: string) =>
    fetch(`http://${node.httpAddress}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}) },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
    });

  it('answers 401 without a token and 403 without the scope or model, with a JSON error; the probes stay open', async () => {
    const none = await infer(n1, 'demo-mlp');
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toMatch(/no token/);
    const fraud = (await token(['infer'], ['fraud-*'])).token;
    const denied = await infer(n1, 'demo-mlp', fraud);
    expect(denied.status).toBe(403);
    const body = (await denied.text());
    expect(body).toMatch(/not allowed model demo-mlp/);
    expect(body).not.toContain(fraud.split('.')[2]);
    const reader = (await token(['models:read'])).token;
    expect((await infer(n1, 'fraud-v1', reader)).status).toBe(403);
    expect((await infer(n1, 'fraud-v1', fraud)).status).toBe(200);
    // n1 forwards only-here to n2 with the caller's header: n2 checks it too.
    const all = (await token(['infer'])).token;
    expect((await infer(n1, 'only-here', all)).status).toBe(200);
    expect((await fetch(`http://${n1.httpAddress}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`http://${n1.httpAddress}/v2/models/demo-mlp`)).status).toBe(401);
    expect((await fetch(`http://${n1.httpAddress}/v2/models/demo-mlp`, { headers: { authorization: `Bearer ${reader}` } })).status).toBe(200);
  });
});

describe('peer forwarding', () => {
  it("forwards the caller's own token, and the peer checks it", async () => {
    const all = (await token(['infer'])).token;
    // n1 lacks only-here and forwards it to n2 with the caller's token.
    expect(await ask(client(n1, all), 'only-here')).toBe(42);
    // n3 enforces nothing; the peer it forwards to does.
    expect(await ask(client(n3, all), 'only-here')).toBe(42);
    expect((await failure(ask(client(n3), 'only-here'))).code).toBe(Code.UNAUTHENTICATED);
    const fraud = (await token(['infer'], ['fraud-*'])).token;
    const refused = await failure(ask(client(n3, fraud), 'only-here'));
    expect(refused.code).toBe(Code.PERMISSION_DENIED);
    expect(refused.message).toMatch(/not allowed model only-here/);
  });
});

describe('tokens at the registry', () => {
  it('refuses a push without models:write and a promote without models:promote, naming the scope', async () => {
    const reader = createRegistryClient(registry.address, { token: (await token(['models:read'])).token });
    const writer = createRegistryClient(registry.address, { token: (await token(['models:write'])).token });
    clients.push(reader, writer);
    const push = await failure(reader.pushVersion('demo-mlp', constantModel(8)));
    expect(push.code).toBe(Code.PERMISSION_DENIED);
    expect(push.message).toMatch(/lacks scope models:write/);
    const pushed = await writer.pushVersion('demo-mlp', constantModel(8));
    const promote = await failure(writer.setAlias('demo-mlp', 'production', pushed.version));
    expect(promote.code).toBe(Code.PERMISSION_DENIED);
    expect(promote.message).toMatch(/lacks scope models:promote/);
    const pushAndPromote = await failure(writer.pushVersion('demo-mlp', constantModel(10), { alias: 'production' }));
    expect(pushAndPromote.message).toMatch(/lacks scope models:promote/);
    const del = await failure(writer.deleteVersion('demo-mlp', pushed.version));
    expect(del.message).toMatch(/lacks scope models:delete/);
    expect((await failure(createRegistryClient(registry.address).getModel('demo-mlp'))).code).toBe(Code.UNAUTHENTICATED);
    expect((await reader.getModel('demo-mlp')).name).toBe('demo-mlp');
  });

  it('shows a token limited to fraud-* only those models: ListModels and Watch leave the others out', async () => {
    const fraudReader = createRegistryClient(registry.address, { token: (await token(['models:read'], ['fraud-*'])).token });
    clients.push(fraudReader);
    expect((await admin.listModels()).models.map((m) => m.name)).toContain('demo-mlp');
    expect((await fraudReader.listModels()).models.map((m) => m.name)).toEqual(['fraud-v1']);
    const ac = new AbortController();
    const seen: string[] = [];
    // A version pushed after the watch opened (known by its sha256): once it arrives, every earlier event has been seen too.
    const markerModel = constantModel(11);
    const markerSha = createHash('sha256').update(markerModel).digest('hex');
    const watching = (async () => {
      for await (const event of fraudReader.watch({ fromSequence: 1, signal: ac.signal })) {
        const body = Object.values(event).find((v): v is { model: string; version?: number } => typeof v === 'object' && v !== null && 'model' in v);
        seen.push(body?.model ?? '?');
        if (event.versionCreated?.sha256 === markerSha) ac.abort();
      }
    })();
    await admin.pushVersion('demo-mlp', constantModel(12));
    await admin.pushVersion('fraud-v1', markerModel);
    await watching;
    expect(seen.length).toBeGreaterThan(1);
    expect(new Set(seen)).toEqual(new Set(['fraud-v1']));
  });

  it('issues tokens over CreateToken with the first admin token, and only with admin', async () => {
    const asAdmin = createGovernanceClient(registry.address, { token: readFileSync(registry.adminTokenFile!, 'utf8').trim() });
    const created = await asAdmin.createToken({ subject: 'ci', scopes: ['models:read'] });
    issued.push(created.token);
    expect(created.info?.subject).toBe('ci');
    const asReader = createGovernanceClient(registry.address, { token: created.token });
    const err = await failure(asReader.createToken({ subject: 'ci2', scopes: ['admin'] }));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/lacks scope admin/);
    asAdmin.close();
    asReader.close();
  });

  it('checks model patterns on calls that name a model', async () => {
    const fraudReader = createRegistryClient(registry.address, { token: (await token(['models:read'], ['fraud-*'])).token });
    clients.push(fraudReader);
    expect((await fraudReader.getModel('fraud-v1')).name).toBe('fraud-v1');
    const err = await failure(fraudReader.getModel('demo-mlp'));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toMatch(/not allowed model demo-mlp/);
    const fraudWriter = createRegistryClient(registry.address, { token: (await token(['models:write'], ['fraud-*'])).token });
    clients.push(fraudWriter);
    expect((await fraudWriter.pushVersion('fraud-v1', constantModel(11))).model).toBe('fraud-v1');
    const push = await failure(fraudWriter.pushVersion('demo-mlp', constantModel(12)));
    expect(push.code).toBe(Code.PERMISSION_DENIED);
    expect(push.message).toMatch(/not allowed model demo-mlp/);
  });
});

describe('tokens at the monitor', () => {
  it('needs traces:read for its query API, naming the scope', async () => {
    const nc = await connectNats({ url: nats.url });
    const monitor = await startMonitor({ grpcPort: 0, httpPort: 0, nc, logger, auth: { verifier: createTokenVerifier({ publicKey: registry.auth.key.publicKey }) } });
    try {
      const anonymous = createMonitorClient(monitor.grpcAddress);
      const inferOnly = createMonitorClient(monitor.grpcAddress, { token: (await token(['infer'])).token });
      const reader = createMonitorClient(monitor.grpcAddress, { token: (await token(['traces:read'])).token });
      clients.push(anonymous, inferOnly, reader);
      expect((await failure(anonymous.listServices())).code).toBe(Code.UNAUTHENTICATED);
      const denied = await failure(inferOnly.listServices());
      expect(denied.code).toBe(Code.PERMISSION_DENIED);
      expect(denied.message).toMatch(/lacks scope traces:read/);
      expect(await reader.listServices()).toEqual(expect.any(Array));
      // The web page's JSON API and /metrics ask the same scope; the page itself stays open (it asks for a token on a 401).
      const get = (path: string, t?: string) => fetch(`http://${monitor.httpAddress}${path}`, t ? { headers: { authorization: `Bearer ${t}` } } : {});
      const readerToken = (await token(['traces:read'])).token;
      const inferToken = (await token(['infer'])).token;
      for (const path of ['/api/services', '/metrics']) {
        const none = await get(path);
        expect(none.status, path).toBe(401);
        expect(none.headers.get('www-authenticate'), path).toBe('Bearer');
        expect(await none.text()).toMatch(/no token/);
        const wrong = await get(path, inferToken);
        expect(wrong.status, path).toBe(403);
        expect(await wrong.text()).toMatch(/lacks scope traces:read/);
        expect((await get(path, readerToken)).status, path).toBe(200);
      }
      expect((await get('/')).status).toBe(200);
    } finally {
      await monitor.close();
      await nc.drain();
    }
  });
});

describe('revocation', () => {
  it('is refused within a second on both nodes, and known to an edge that starts after it', async () => {
    const { token: t, id } = await token(['infer'], [], 'soon-revoked');
    const c1 = client(n1, t);
    const c2 = client(n2, t);
    expect(await ask(c1, 'demo-mlp')).toBe(7);
    expect(await ask(c2, 'demo-mlp')).toBe(7);
    const started = Date.now();
    await registry.auth.revoke(id);
    const refusedAt = async (c: InferenceClient) => {
      const err = await eventually(
        () => ask(c, 'demo-mlp', '', 1000).then(() => undefined, (e: unknown) => ((e as InfermeshError).code === Code.UNAUTHENTICATED ? (e as InfermeshError) : undefined)),
        'the revoked token to be refused',
        5000,
        20,
      );
      expect(err.message).toMatch(/was revoked/);
      return Date.now() - started;
    };
    const [ms1, ms2] = await Promise.all([refusedAt(c1), refusedAt(c2)]).catch((e: unknown) => {
      if (process.env.DEBUG_AUTH) console.log(logLines.filter((l) => /auth|revoc|outbox|publish/i.test(l)).join('\n'));
      throw e;
    });
    expect(ms1).toBeLessThan(1000);
    expect(ms2).toBeLessThan(1000);

    const nc = await connectNats({ url: nats.url });
    try {
      const late = createTokenVerifier({ publicKey: registry.auth.key.publicKey });
      const follower = followRevocations({ nc, verifier: late, logger });
      await follower.synced();
      expect(late.isRevoked(id)).toBe(true);
      await follower.close();
    } finally {
      await nc.drain();
    }
  });
});

describe('data protection', () => {
  it('never writes a token into a log line', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const t of issued) {
      const signature = t.split('.')[2]!;
      for (const line of logLines) expect(line).not.toContain(signature);
    }
  });
});
