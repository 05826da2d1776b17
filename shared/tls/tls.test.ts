// TLS against real servers: a grpc-js server on port 0 and an https server, with
// certificates from the local CA (a second CA plays the wrong one).
import { Server, makeGenericClientConstructor, type Client, type ServiceDefinition, type ServiceError, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindServer } from '../rpc/index.js';
import { ensureLocalCa, type CertFiles, type LocalCa } from './local-ca.js';
import { grpcChannelCredentials, grpcServerCredentials, httpsServerOptions, tlsConnectOptions } from './credentials.js';
import { loadClientTls, loadServerTls, resolveClientTlsFiles, resolveServerTlsFiles } from './tls-files.js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};
const definition: ServiceDefinition = {
  Echo: { path: '/test.v1.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};
const EchoClient = makeGenericClientConstructor(definition, 'Echo');

let root: string;
let ca: LocalCa;
let wrongCa: LocalCa;
let serverCert: CertFiles;
let clientCert: CertFiles;
let strangerCert: CertFiles;
const servers: Server[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'infermesh-tls-'));
  ca = await ensureLocalCa({ dir: join(root, 'ca') });
  wrongCa = await ensureLocalCa({ dir: join(root, 'wrong-ca') });
  serverCert = await ca.issue({ name: 'registry' });
  clientCert = await ca.issue({ name: 'node' });
  strangerCert = await wrongCa.issue({ name: 'node' });
});

afterAll(() => {
  for (const c of clients) c.close();
  for (const s of servers) s.forceShutdown();
  rmSync(root, { recursive: true, force: true });
});

async function serve(creds: ServerCredentials): Promise<string> {
  const server = new Server();
  servers.push(server);
  server.addService(definition, { Echo: (call: { request: unknown }, cb: (e: null, v: unknown) => void) => cb(null, call.request) });
  const port = await bindServer(server, '127.0.0.1', 0, creds);
  return `127.0.0.1:${port}`;
}

function echo(address: string, creds: ChannelCredentials): Promise<unknown> {
  const client = new EchoClient(address, creds);
  clients.push(client);
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Function>).Echo!({ hello: 'tls' }, { deadline: Date.now() + 5000 }, (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
  );
}

const serverTls = (clientCa?: string) => loadServerTls({ ...serverCert, ...(clientCa ? { clientCaFile: clientCa } : {}) });

describe('gRPC over TLS', () => {
  it('works with the right CA, and fails the handshake with the wrong CA', async () => {
    const address = await serve(grpcServerCredentials(await serverTls()));
    await expect(echo(address, grpcChannelCredentials(await loadClientTls({ caFile: ca.caFile })))).resolves.toEqual({ hello: 'tls' });
    const wrong = echo(address, grpcChannelCredentials(await loadClientTls({ caFile: wrongCa.caFile })));
    await expect(wrong).rejects.toMatchObject({ code: 14 });
  });

  it('mTLS: refuses a client without a certificate, or with one from another CA; serves one with a certificate from the CA', async () => {
    const address = await serve(grpcServerCredentials(await serverTls(ca.caFile)));
    await expect(echo(address, grpcChannelCredentials(await loadClientTls({ caFile: ca.caFile })))).rejects.toMatchObject({ code: 14 });
    await expect(echo(address, grpcChannelCredentials(await loadClientTls({ caFile: ca.caFile, ...fromCert(strangerCert) })))).rejects.toMatchObject({ code: 14 });
    await expect(echo(address, grpcChannelCredentials(await loadClientTls({ caFile: ca.caFile, ...fromCert(clientCert) })))).resolves.toEqual({ hello: 'tls' });
  });
});

describe('HTTPS (web page, /metrics)', () => {
  it('serves with the certificate and, with a client CA, asks for a client certificate', async () => {
    const server = createHttpsServer(httpsServerOptions(await serverTls(ca.caFile)), (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const get = async (files: Parameters<typeof loadClientTls>[0]) => {
        const opts = tlsConnectOptions(await loadClientTls(files));
        return new Promise<string>((resolve, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port, path: '/metrics', ...opts, agent: false }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(body));
          });
          req.on('error', reject);
          req.end();
        });
      };
      await expect(get({ caFile: ca.caFile, ...fromCert(clientCert) })).resolves.toBe('ok');
      await expect(get({ caFile: wrongCa.caFile, ...fromCert(clientCert) })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
      await expect(get({ caFile: ca.caFile })).rejects.toThrow();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('TLS files', () => {
  it('flags win over the environment; plaintext when nothing is given; half a pair is an error naming the missing flag', () => {
    const env = { INFERMESH_TLS_CERT: '/env/c.pem', INFERMESH_TLS_KEY: '/env/k.pem', INFERMESH_TLS_CA: '/env/ca.pem' };
    expect(resolveServerTlsFiles({ tlsCert: '/flag/c.pem' }, env)).toEqual({ certFile: '/flag/c.pem', keyFile: '/env/k.pem' });
    expect(resolveServerTlsFiles({}, {})).toBeUndefined();
    expect(resolveClientTlsFiles({}, env)).toEqual({ caFile: '/env/ca.pem' });
    expect(resolveClientTlsFiles({}, {})).toBeUndefined();
    expect(() => resolveServerTlsFiles({ tlsCert: '/c.pem' }, {})).toThrow(/--tls-cert was given without --tls-key/);
    expect(() => resolveServerTlsFiles({ tlsClientCa: '/ca.pem' }, {})).toThrow(/--tls-client-ca .* needs --tls-cert/);
    expect(() => resolveClientTlsFiles({ tlsClientCert: '/c.pem' }, {})).toThrow(/--tls-client-cert was given without --tls-client-key/);
  });

  it('names the file that is missing, not PEM, or whose key does not match', async () => {
    const missing = join(root, 'nope.pem');
    await expect(loadServerTls({ certFile: missing, keyFile: serverCert.keyFile })).rejects.toThrow(`--tls-cert: the file '${missing}' does not exist`);
    const garbage = join(root, 'garbage.pem');
    writeFileSync(garbage, 'hello');
    await expect(loadClientTls({ caFile: garbage })).rejects.toThrow(`--tls-ca: '${garbage}' is not a PEM certificate`);
    await expect(loadServerTls({ certFile: serverCert.certFile, keyFile: garbage })).rejects.toThrow(`--tls-key: '${garbage}' is not a PEM private key`);
    const broken = join(root, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(loadServerTls({ certFile: broken, keyFile: serverCert.keyFile })).rejects.toThrow(`--tls-cert: '${broken}' holds a PEM block that is not a valid X.509 certificate`);
    await expect(loadServerTls({ certFile: serverCert.certFile, keyFile: clientCert.keyFile })).rejects.toThrow(`the key '${clientCert.keyFile}' does not belong to the certificate '${serverCert.certFile}'`);
  });
});

describe('local CA', () => {
  it('keeps keys private, puts 127.0.0.1, localhost and the given hosts in the SANs, and reuses what is still good', async () => {
    expect(statSync(ca.caKeyFile).mode & 0o777).toBe(0o600);
    expect(statSync(clientCert.keyFile).mode & 0o777).toBe(0o600);
    const withHost = await ca.issue({ name: 'monitor', hosts: ['infer-1.example', '10.1.2.3'] });
    const san = new X509Certificate(readFileSync(withHost.certFile)).subjectAltName!;
    expect(san).toContain('IP Address:127.0.0.1');
    expect(san).toContain('DNS:localhost');
    expect(san).toContain('DNS:infer-1.example');
    expect(san).toContain('IP Address:10.1.2.3');
    const before = readFileSync(withHost.certFile, 'utf8');
    const caBefore = readFileSync(ca.caFile, 'utf8');
    const again = await ensureLocalCa({ dir: join(root, 'ca') });
    expect(readFileSync(again.caFile, 'utf8')).toBe(caBefore);
    await again.issue({ name: 'monitor', hosts: ['infer-1.example', '10.1.2.3'] });
    expect(readFileSync(withHost.certFile, 'utf8')).toBe(before);
    // A new host name is not covered: the certificate is made anew.
    await again.issue({ name: 'monitor', hosts: ['infer-2.example'] });
    expect(readFileSync(withHost.certFile, 'utf8')).not.toBe(before);
    // Expiring within the renewal window: made anew.
    const later = await ensureLocalCa({ dir: join(root, 'ca'), now: () => Date.now() + 360 * 86_400_000 });
    expect(readFileSync(later.caFile, 'utf8')).toBe(caBefore);
    const current = readFileSync(withHost.certFile, 'utf8');
    await later.issue({ name: 'monitor', hosts: ['infer-2.example'] });
    expect(readFileSync(withHost.certFile, 'utf8')).not.toBe(current);
  });

  it('refuses a certificate name that is not a plain file stem', async () => {
    await expect(ca.issue({ name: '../evil' })).rejects.toThrow(/service certificate name/);
  });
});

function fromCert(c: CertFiles) {
  return { certFile: c.certFile, keyFile: c.keyFile };
}
