// `infermesh up --secure`: the whole mesh under TLS (mTLS between services),
// NATS over TLS with an nkey per service, signed heartbeats and an admin token;
// the CLI works with --tls-ca (and a client certificate where mTLS is asked
// for), plaintext and certificate-less clients are refused, a wrong CA gets a
// message that says so, and peer forwarding runs over TLS between two nodes.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferenceClient } from '../../shared/client/index.js';
import { ensureLocalCa, grpcChannelCredentials, loadClientTls, loadNatsSecurity } from '../../shared/tls/index.js';
import { DEMO_MODEL_NAME } from '../../shared/demo/index.js';
import { resolveNodeId } from '../../services/inference/mesh/index.js';
import { runCli } from '../helpers/cli.js';
import { connectNats } from '../../shared/nats/index.js';
import { CLI, spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { buildIdentityModel, writeTestRepository } from '../fixtures/models.js';
import { eventually, tempDirs } from './mesh-fixtures.js';
import { Code } from '../../shared/errors/index.js';
import { createRecommenderClient } from '../../services/recommender/client/index.js';
import { request } from 'node:https';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** GET over HTTPS with the given trust and client certificate: status and body. */
function httpsGet(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 5000, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const dirs = tempDirs();
let up: ServiceProcess | undefined;
let second: ServiceProcess | undefined;
let dataDir = '';
let secure = '';

const x = 'x=[[0.1,0.2,0.3,0.4]]';

beforeAll(async () => {
  dataDir = dirs.make('up-secure-');
  secure = join(dataDir, 'secure');
  up = await spawnService(
    ['up', '--secure', '--data-dir', dataDir, '--nats-port', '0', '--registry-port', '0', '--grpc-port', '0', '--monitor-grpc-port', '0', '--monitor-http-port', '0', '--recommender-port', '0', '--http-port', '0'],
    // Nothing of the test runner's shell may leak in: the mesh's own settings only.
    { env: { NATS_URL: '', INFERMESH_TLS_CA: '', INFERMESH_TLS_CLIENT_CERT: '', INFERMESH_TLS_CLIENT_KEY: '', INFERMESH_TOKEN: '' }, timeoutMs: 150_000 },
  );
  // Every service checks tokens under --secure: the CLI calls below run as the README says, with INFERMESH_TOKEN exported.
  process.env.INFERMESH_TOKEN = (await readFile(join(secure, 'admin.token'), 'utf8')).trim();
}, 180_000);

afterAll(async () => {
  delete process.env.INFERMESH_TOKEN;
  await second?.stop(10_000);
  await up?.stop(20_000);
  dirs.cleanup();
});

const caFile = () => join(secure, 'ca', 'ca.crt');
const clientCert = () => ['--tls-client-cert', join(secure, 'ca', 'client.crt'), '--tls-client-key', join(secure, 'ca', 'client.key')];

describe('infermesh up --secure', () => {
  it('announces the CA and the admin token (mode 0600, scope admin), and prints how to use them', async () => {
    expect(up!.endpoints['tls-ca']).toBe(caFile());
    const tokenFile = up!.endpoints['admin-token']!;
    expect(tokenFile).toBe(join(secure, 'admin.token'));
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; scope?: unknown; scopes?: unknown };
    expect(claims.sub).toBe('admin');
    expect(JSON.stringify(claims)).toContain('admin');
    expect(up!.output()).toContain(`export INFERMESH_TLS_CA=${caFile()}`);
    expect(up!.output()).toContain(`export INFERMESH_TOKEN=$(cat ${tokenFile})`);
    expect(up!.output()).toContain(`--tls-ca ${caFile()}`);
  });

  it('infer through the CLI with --tls-ca works; plaintext is refused', async () => {
    const grpc = up!.endpoints.grpc!;
    const ok = await runCli('infer', DEMO_MODEL_NAME, '--input', x, '--server', grpc, '--tls-ca', caFile());
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.split('\n')[0]!).probabilities).toMatchObject({ datatype: 'FP32', shape: [1, 3] });

    const plain = await runCli('infer', DEMO_MODEL_NAME, '--input', x, '--server', grpc, '--timeout-ms', '5000');
    expect(plain.code).not.toBe(0);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toContain('if it serves TLS, give its CA with --tls-ca');

    // Tokens are on: the same call without INFERMESH_TOKEN is refused, and says what is missing.
    const anonymous = await run(process.execPath, [CLI, 'infer', DEMO_MODEL_NAME, '--input', x, '--server', grpc, '--tls-ca', caFile()], { env: { ...process.env, INFERMESH_TOKEN: '' } }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(anonymous?.code).toBe(1);
    expect(anonymous?.stderr).toContain("no token: send 'authorization: Bearer <token>'");
  });

  it('the registry requires a client certificate (mTLS): without one the CLI is refused and told why; with the mesh client certificate it answers', async () => {
    const registry = up!.endpoints.registry!;
    const without = await runCli('models', 'list', '--registry', registry, '--tls-ca', caFile());
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('the server requires a client certificate (mTLS)');
    const withCert = await runCli('models', 'list', '--registry', registry, '--tls-ca', caFile(), ...clientCert());
    expect(withCert.code, withCert.stderr).toBe(0);
    expect(withCert.stdout).toMatch(new RegExp(`^${DEMO_MODEL_NAME}\\s+1\\s+production=1`, 'm'));
  });

  it('every service serves under --secure: spans reach the monitor over TLS, the recommender and the monitor answer over mTLS only, the web page is HTTPS', async () => {
    const mtls = grpcChannelCredentials(await loadClientTls({ caFile: caFile(), certFile: join(secure, 'ca', 'client.crt'), keyFile: join(secure, 'ca', 'client.key') }));
    const rec = createRecommenderClient(up!.endpoints.recommender!, { credentials: mtls, token: process.env.INFERMESH_TOKEN! });
    try {
      expect((await rec.modelInfo({ timeoutMs: 10_000 })).version).toBe(0);
    } finally {
      rec.close();
    }
    const recNoCert = createRecommenderClient(up!.endpoints.recommender!, { credentials: grpcChannelCredentials(await loadClientTls({ caFile: caFile() })) });
    try {
      await expect(recNoCert.modelInfo({ timeoutMs: 5000 })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    } finally {
      recNoCert.close();
    }
    // The infer calls above were traced (the demo samples every trace) and exported to the monitor over TLS with the services' certificates.
    const listed = await eventually(async () => {
      const r = await runCli('traces', 'list', '--monitor', up!.endpoints.monitor!, '--tls-ca', caFile(), ...clientCert(), '--json');
      return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length > 0 ? r : undefined;
    }, 'spans in the monitor', 30_000, 500);
    expect(JSON.stringify(JSON.parse(listed.stdout))).toContain('inference');
    const page = await runCli('traces', 'list', '--monitor', up!.endpoints.monitor!, '--tls-ca', caFile());
    expect(page.code).toBe(1);
    // The web page: HTTPS, and like the gRPC port it asks for a client certificate.
    const mtlsFiles = { ca: await readFile(caFile()), cert: await readFile(join(secure, 'ca', 'client.crt')), key: await readFile(join(secure, 'ca', 'client.key')) };
    // Its JSON API asks for a token with traces:read, like the gRPC port.
    expect((await httpsGet(`https://${up!.endpoints['monitor-http']}/api/services`, mtlsFiles)).status).toBe(401);
    const body = await httpsGet(`https://${up!.endpoints['monitor-http']}/api/services`, mtlsFiles, process.env.INFERMESH_TOKEN);
    expect(body.status).toBe(200);
    expect(JSON.parse(body.text).services).toContain('inference');
    await expect(httpsGet(`https://${up!.endpoints['monitor-http']}/api/services`, { ca: await readFile(caFile()) })).rejects.toThrow();
    // The node's REST port: HTTPS with the CA alone (the front door asks for tokens, not certificates).
    const ready = await httpsGet(`https://${up!.endpoints.http}/v2/health/ready`, { ca: await readFile(caFile()) });
    expect(ready.status).toBe(200);
  });

  it('the printed exports are all the CLI needs: tokens list with INFERMESH_TLS_* and INFERMESH_TOKEN shows the admin token up --secure issued', async () => {
    const env = {
      ...process.env,
      INFERMESH_TLS_CA: caFile(),
      INFERMESH_TLS_CLIENT_CERT: join(secure, 'ca', 'client.crt'),
      INFERMESH_TLS_CLIENT_KEY: join(secure, 'ca', 'client.key'),
      INFERMESH_TOKEN: (await readFile(join(secure, 'admin.token'), 'utf8')).trim(),
    };
    const { stdout } = await run(process.execPath, [CLI, 'tokens', 'list', '--registry', up!.endpoints.registry!], { env });
    expect(stdout).toMatch(/^\S+\s+admin\s+admin\s+\*\s+\S+\s+active\s+infermesh-up$/m);
    // And one token per calling service, with only the scopes it needs, handed to it as INFERMESH_TOKEN.
    expect(stdout).toMatch(/^\S+\s+node\s+models:read,infer\s+\*\s+\S+\s+active\s+infermesh-up$/m);
    expect(stdout).toMatch(/^\S+\s+recommender\s+models:read,models:write,models:promote,infer\s+\*\s+\S+\s+active\s+infermesh-up$/m);
    expect(stdout).toMatch(/^\S+\s+monitor\s+models:read\s+\*\s+\S+\s+active\s+infermesh-up$/m);
    expect((await stat(join(secure, 'tokens', 'node.token'))).mode & 0o777).toBe(0o600);
  });

  it('a CLI verb given the wrong CA fails with a message that names the CA as the cause', async () => {
    const other = await ensureLocalCa({ dir: join(dirs.make('other-ca-'), 'ca') });
    const infer = await runCli('infer', DEMO_MODEL_NAME, '--input', x, '--server', up!.endpoints.grpc!, '--tls-ca', other.caFile, '--timeout-ms', '5000');
    expect(infer.code).toBe(1);
    expect(infer.stderr).toContain(`TLS handshake with ${up!.endpoints.grpc} failed: the server's certificate is not signed by the CA given with --tls-ca`);
    const models = await runCli('models', 'list', '--registry', up!.endpoints.registry!, '--tls-ca', other.caFile, ...clientCert());
    expect(models.code).toBe(1);
    expect(models.stderr).toContain("the server's certificate is not signed by the CA given with --tls-ca");
  });

  it('peer forwarding runs over TLS: a second node with the mesh certificates, its own nkey and identity serves a model (its heartbeats reach the first); the first forwards to it', async () => {
    const nodeDir = dirs.make('up-secure-node2-');
    const repo = await writeTestRepository({ identity_fp32: { versions: { '1': buildIdentityModel('FP32') } } });
    const nodeId = await resolveNodeId(nodeDir);
    const identityFile = join(nodeDir, 'node-identity.json');
    // The registry issues the second node's identity (with the admin token in INFERMESH_TOKEN).
    const issued = await runCli('nodes', 'identity', '--node-id', nodeId, '--data-dir', nodeDir, '--registry', up!.endpoints.registry!, '--tls-ca', caFile(), ...clientCert());
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout).toContain(`wrote the identity of node ${nodeId} to ${identityFile}`);
    // Both nodes' identities came from the registry: up's for the first node, the CLI's for this one.
    const audit = await runCli('audit', 'list', '--registry', up!.endpoints.registry!, '--tls-ca', caFile(), ...clientCert());
    expect(audit.code, audit.stderr).toBe(0);
    const issues = audit.stdout.split('\n').filter((line) => /\snode\.identity\.issue\s/.test(line));
    expect(issues.length).toBe(2);
    expect(issues[1]).toContain(`"nodeId":"${nodeId}"`);
    const cert = (name: string) => join(secure, 'ca', name);
    // Each node has its own NATS nkey: the second's is made while the mesh runs, and up's nats-server takes it without a restart.
    const keyed = await runCli('nodes', 'nats-key', '--node-id', nodeId, '--data-dir', dataDir);
    expect(keyed.code, keyed.stderr).toBe(0);
    const secondNodeNkey = join(secure, 'nats', 'nodes', `${nodeId}.nk`);
    expect(keyed.stdout).toContain(`wrote the NATS nkey of node ${nodeId} in ${secondNodeNkey}`);
    const firstNodeNkey = join(secure, 'nats', 'nodes', `${await resolveNodeId(join(dataDir, 'inference'))}.nk`);
    expect((await readFile(firstNodeNkey, 'utf8')).trim()).not.toBe((await readFile(secondNodeNkey, 'utf8')).trim());
    const natsUrl = up!.endpoints.nats!.replace('nats://', 'tls://');
    const security = await loadNatsSecurity({ tls: { caFile: caFile(), certFile: cert('node.crt'), keyFile: cert('node.key') }, nkeySeedFile: secondNodeNkey });
    const probe = await eventually(
      () => connectNats({ url: natsUrl, timeoutMs: 2000, ...security }).catch(() => undefined),
      "up's nats-server to accept the second node's new key",
      10_000,
      100,
    );
    await probe.close();
    second = await spawnService(
      [
        'inference', '--grpc-port', '0', '--registry', up!.endpoints.registry!, '--nats', natsUrl, '--data-dir', nodeDir,
        '--model-repository', repo, '--heartbeat-interval-ms', '200',
        '--tls-cert', cert('node.crt'), '--tls-key', cert('node.key'),
        '--tls-ca', caFile(), '--tls-client-cert', cert('node.crt'), '--tls-client-key', cert('node.key'),
        '--nats-nkey', secondNodeNkey, '--node-identity', identityFile, '--heartbeat-issuer-key', join(secure, 'token-public-key.pem'), '--auth',
      ],
      { env: { INFERMESH_METRICS_PORT: '', INFERMESH_TRACE_SAMPLING: 'off', NATS_URL: '' }, timeoutMs: 60_000 },
    );
    const node = createInferenceClient(up!.endpoints.grpc!, { timeoutMs: 10_000, credentials: grpcChannelCredentials(await loadClientTls({ caFile: caFile() })), token: process.env.INFERMESH_TOKEN! });
    try {
      // The first node knows identity_fp32 only from the second's signed heartbeats: it forwards.
      const out = await eventually(
        () => node.infer({ modelName: 'identity_fp32', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1.5, -2, 3.25] }] }).catch(() => undefined),
        'the first node forwards identity_fp32 to the second',
        30_000,
        200,
      );
      expect(Array.from(out.output!.data as Float32Array)).toEqual([1.5, -2, 3.25]);
    } finally {
      node.close();
    }
    // Through the CLI as printed, too.
    const cli = await runCli('infer', 'identity_fp32', '--input', 'input=[[1,2,3]]', '--server', up!.endpoints.grpc!, '--tls-ca', caFile());
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout.split('\n')[0]!).output.data).toEqual([1, 2, 3]);
  }, 90_000);
});
