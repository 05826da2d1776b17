// `infermesh up --secure`: the files and flags that put every connection of
// the mesh under TLS (mTLS between services), every NATS connection under its
// own nkey, every node's heartbeats under a signed identity, and every server
// behind tokens, with an admin token for the operator.
import { createPublicKey } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { fromSeed } from '@nats-io/nkeys';
import { AUTHORIZATION_HEADER, bearerHeader, nodeIdentityStatement, rawEd25519PublicKey } from '../shared/auth/index.js';
import { readNkeySeed, type NatsRole, type NatsUser } from '../shared/nats/index.js';
import { grpcChannelCredentials, loadClientTls, prepareSecureMesh, writePrivateFile, type SecureMesh, type SecureService } from '../shared/tls/index.js';
import { readNodeIdentity, resolveNodeId, resolveNodeKey } from '../services/inference/mesh/index.js';
import { createRegistryAuth, loadOrCreateSigningKey } from '../services/registry/auth/index.js';
import { openRegistryStore } from '../services/registry/index.js';
import { createGovernanceClient } from '../services/registry/cli/governance-client.js';
import { NODE_IDENTITY_FILE, requestNodeIdentity } from './nodes-command.js';
import { ensureNodeNatsKey, nodeNatsKeyDir, nodeNatsUsers } from './node-nats-key.js';

/** Lifetime of the tokens `up --secure` writes: 30 days; a kept one is reused until a day before it expires. */
const TOKEN_TTL_MS = 30 * 86_400_000;
const TOKEN_RENEW_BEFORE_MS = 86_400_000;
/** How long the node key folder must be quiet before its keys are read again (watchNatsUsers). */
const NODE_KEY_SETTLE_MS = 100;
/** A kept node identity is reused until a day before it expires, like the tokens. */
const IDENTITY_RENEW_BEFORE_MS = 86_400_000;

/** The services' own tokens: what each calls (the node: registry reads and peers' infer; the recommender: its model's versions and scoring; the monitor: reference data). */
const SERVICE_TOKENS = {
  node: ['models:read', 'infer'],
  recommender: ['models:read', 'models:write', 'models:promote', 'infer'],
  monitor: ['models:read'],
} as const satisfies Record<string, readonly string[]>;

type TokenName = 'admin' | keyof typeof SERVICE_TOKENS;

/** What `up --secure` prepared, and the flags each child runs with. */
export interface UpSecurity {
  /**
   * The secure mesh's files; `mesh.nats.server` is what up's nats-server runs
   * with: the roles' users except the shared `node` one (its `nats/node.nk` is
   * not accepted), and one user per node key under `nats/nodes/`.
   */
  mesh: SecureMesh;
  /** The nkey seed file (mode 0600) of up's inference node: its own, `nats/nodes/<nodeId>.nk`. */
  nodeNatsSeedFile: string;
  /**
   * Watches `nats/nodes/` while up's nats-server runs: when a node key appears
   * (`infermesh nodes nats-key`), changes or is deleted, calls `apply` with the
   * server's new user list (up: NatsServerProcess.reload, no restart), and at
   * once when the list differs from the one last applied (a key added while the
   * server was down). Errors (a bad key file, a failed reload) go to `onError`
   * and are retried on the next change. Returns the function that stops watching.
   */
  watchNatsUsers(apply: (users: NatsUser[]) => Promise<void>, onError: (err: Error) => void): () => void;
  /** The admin token's file (mode 0600) and the token (scope `admin`). */
  adminTokenFile: string;
  adminToken: string;
  /**
   * Has the running registry at `registryAddress` issue the node's identity
   * (IssueNodeIdentity, with the admin token) unless the kept one is good for
   * more than a day: after the registry starts, before the node does.
   */
  ensureNodeIdentity(registryAddress: string): Promise<void>;
  /** The security flags of a child: its TLS as server and client, its NATS nkey, `--auth`; a node also its identity and the registry's public key to verify peers' heartbeats with. */
  childArgs(service: Exclude<SecureService, 'nats' | 'client'>): string[];
  /** A child's environment: its own token as `INFERMESH_TOKEN` (the registry calls no one and gets none). */
  childEnv(service: Exclude<SecureService, 'nats' | 'client'>): NodeJS.ProcessEnv;
  /** The NATS URL clients use (`tls://`: TLS with their client TLS files). */
  natsClientUrl(url: string): string;
  /** For up's own calls (registering the demo model, waiting for it): the `client` certificate and the admin token. */
  client: { credentials: ChannelCredentials; decorateMetadata: (metadata: Metadata) => void };
}

/** The data folders of the children, as `up` lays them out. */
export interface UpSecurityDirs {
  dataDir: string;
  registryDataDir: string;
  nodeDataDir: string;
  /** The interface every service listens on (put in the certificates besides the loopback names). */
  host: string;
}

/**
 * Prepares a secure mesh under `<dataDir>/secure` (shared/tls prepareSecureMesh:
 * a local CA made with @peculiar/x509, one certificate per service, NATS nkeys
 * with per-role permissions), the node's own NATS nkey (ensureNodeNatsKey) and
 * the tokens; the node's identity is issued by
 * the registry once it runs (ensureNodeIdentity), and nodes verify heartbeats
 * with the registry's public key. Idempotent: a second start reuses every file that is still good.
 */
export async function prepareUpSecurity(dirs: UpSecurityDirs): Promise<UpSecurity> {
  const loopback = ['127.0.0.1', '::1', 'localhost'];
  const hosts = loopback.includes(dirs.host) || dirs.host === '0.0.0.0' || dirs.host === '::' ? [] : [dirs.host];
  const prepared = await prepareSecureMesh(dirs.dataDir, { hosts });

  const nodeId = await resolveNodeId(dirs.nodeDataDir);
  // Every node connects to NATS with its own nkey (allowed to publish only its own heartbeat
  // subject), so one node's leaked seed is revoked alone by deleting its key file.
  const nodeKey = await ensureNodeNatsKey(prepared.dir, nodeId);
  const sharedNodeKey = fromSeed(await readNkeySeed(prepared.nats.seedFiles.node)).getPublicKey();
  const roleUsers = prepared.nats.server.users.filter((u) => u.nkey !== sharedNodeKey);
  const natsUsers = async () => [...roleUsers, ...(await nodeNatsUsers(prepared.dir))];
  let applied = await natsUsers();
  const mesh: SecureMesh = { ...prepared, nats: { ...prepared.nats, server: { ...prepared.nats.server, users: applied } } };
  const identityFile = join(dirs.nodeDataDir, NODE_IDENTITY_FILE);

  const tokenFile = (name: TokenName) => join(mesh.dir, 'tokens', `${name}.token`);
  const adminTokenFile = join(mesh.dir, 'admin.token');
  const tokens = await ensureTokens(dirs.registryDataDir, {
    admin: { file: adminTokenFile, scopes: ['admin'] },
    node: { file: tokenFile('node'), scopes: SERVICE_TOKENS.node },
    recommender: { file: tokenFile('recommender'), scopes: SERVICE_TOKENS.recommender },
    monitor: { file: tokenFile('monitor'), scopes: SERVICE_TOKENS.monitor },
  });
  const adminToken = tokens.admin;
  // Every service but the registry checks tokens against the registry's public key, given as a
  // file: the monitor starts before the registry, so it cannot ask for it (GetPublicKey). Nodes
  // also trust it as the issuer of node identities (signed heartbeats).
  const tokenPublicKeyFile = join(mesh.dir, 'token-public-key.pem');
  const signingKey = await loadOrCreateSigningKey(dirs.registryDataDir);
  await writeFile(tokenPublicKeyFile, signingKey.publicKey.export({ type: 'spki', format: 'pem' }));
  const clientTls = await loadClientTls(mesh.client('client'));
  const authorization = bearerHeader(adminToken);

  return {
    mesh,
    nodeNatsSeedFile: nodeKey.seedFile,
    watchNatsUsers(apply, onError) {
      let timer: NodeJS.Timeout | undefined;
      let running = Promise.resolve();
      const check = () => {
        running = running.then(async () => {
          try {
            const users = await natsUsers();
            if (JSON.stringify(users) === JSON.stringify(applied)) return;
            await apply(users);
            applied = users;
          } catch (err) {
            onError(err as Error);
          }
        });
      };
      // Editors and writePrivateFile (temp file, rename) fire several events per change: one check after they settle.
      const watcher = watch(nodeNatsKeyDir(mesh.dir), () => {
        clearTimeout(timer);
        timer = setTimeout(check, NODE_KEY_SETTLE_MS);
      });
      watcher.on('error', (err) => onError(err));
      check();
      return () => {
        clearTimeout(timer);
        watcher.close();
      };
    },
    adminTokenFile,
    adminToken,
    async ensureNodeIdentity(registryAddress) {
      if (await keptIdentityIsGood(identityFile, nodeId, dirs.nodeDataDir)) return;
      const client = createGovernanceClient(registryAddress, { token: adminToken, credentials: grpcChannelCredentials(clientTls) });
      try {
        await requestNodeIdentity(client, { nodeId, dataDir: dirs.nodeDataDir, out: identityFile });
      } finally {
        client.close();
      }
    },
    childArgs(service) {
      const server = mesh.server(service);
      const client = mesh.client(service);
      const role: NatsRole = service;
      return [
        '--tls-cert', server.certFile, '--tls-key', server.keyFile,
        // The node's port is the mesh's front door: TLS, and tokens instead of client certificates (the CLI, grpcurl, Python).
        // Every other service asks for a certificate from the mesh's CA (mTLS between services).
        ...(service === 'node' ? [] : ['--tls-client-ca', server.clientCaFile!]),
        '--tls-ca', client.caFile!, '--tls-client-cert', client.certFile!, '--tls-client-key', client.keyFile!,
        '--nats-nkey', service === 'node' ? nodeKey.seedFile : mesh.nats.seedFiles[role],
        '--auth',
        ...(service === 'registry' ? [] : ['--auth-public-key', tokenPublicKeyFile]),
        ...(service === 'node' ? ['--node-identity', identityFile, '--heartbeat-issuer-key', tokenPublicKeyFile] : []),
      ];
    },
    childEnv: (service) => (service === 'registry' ? {} : { INFERMESH_TOKEN: tokens[service] }),
    natsClientUrl: (url) => url.replace(/^nats:\/\//, 'tls://'),
    client: {
      credentials: grpcChannelCredentials(clientTls),
      decorateMetadata: (metadata) => {
        if (metadata.get(AUTHORIZATION_HEADER).length === 0) metadata.set(AUTHORIZATION_HEADER, authorization);
      },
    },
  };
}

/** Whether the identity in `file` names `nodeId` and this node's key and has more than a day left (not its signature: the node's peers check that). */
async function keptIdentityIsGood(file: string, nodeId: string, nodeDataDir: string): Promise<boolean> {
  try {
    const statement = nodeIdentityStatement(await readNodeIdentity(file));
    const key = rawEd25519PublicKey(createPublicKey(await resolveNodeKey(nodeDataDir)));
    return statement.nodeId === nodeId && key.equals(statement.nodePublicKey) && Number(statement.expiresUnixMs) > Date.now() + IDENTITY_RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

/** A token `up --secure` keeps: its file (mode 0600) and scopes; the subject is its name. */
interface TokenSpec {
  file: string;
  scopes: readonly string[];
}

/**
 * The tokens in their files, each kept while it has more than a day left; the
 * others issued with the registry's own key and recorded in its store and
 * audit log (the registry is not running yet: this is how the first tokens
 * exist when every call, CreateToken included, needs one).
 */
async function ensureTokens<N extends string>(registryDataDir: string, specs: Record<N, TokenSpec>): Promise<Record<N, string>> {
  const tokens = {} as Record<N, string>;
  const missing: N[] = [];
  for (const name of Object.keys(specs) as N[]) {
    const kept = await readFile(specs[name].file, 'utf8').then((s) => s.trim(), () => '');
    if (kept && tokenExpiresAtMs(kept) > Date.now() + TOKEN_RENEW_BEFORE_MS) tokens[name] = kept;
    else missing.push(name);
  }
  if (missing.length === 0) return tokens;
  await mkdir(registryDataDir, { recursive: true });
  const store = await openRegistryStore({ dataDir: registryDataDir });
  try {
    const auth = await createRegistryAuth({ dataDir: registryDataDir, store });
    for (const name of missing) {
      const { token } = await auth.issuer.issue({ subject: name, scopes: specs[name].scopes, ttlMs: TOKEN_TTL_MS }, { actor: { subject: 'infermesh-up', address: '' } });
      await mkdir(dirname(specs[name].file), { recursive: true, mode: 0o700 });
      await writePrivateFile(specs[name].file, token + '\n');
      tokens[name] = token;
    }
  } finally {
    await store.close();
  }
  return tokens;
}

/** The `exp` of a JWT in ms (0 when it cannot be read): only to decide whether to keep a token, never to trust one. */
function tokenExpiresAtMs(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}
