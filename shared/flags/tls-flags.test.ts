import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalCa, type CertFiles } from '../tls/index.js';
import { loadServiceAuth } from './service-auth.js';
import { addClientTlsOptionsToCallers, addServiceSecurityOptions, describeTlsFailure, loadNatsSecurityFlags, loadServiceSecurity, parseAnonymousModelsFlag, parseAuthFlag } from './tls-flags.js';

let dir = '';
let caFile = '';
let cert: CertFiles;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infermesh-tls-flags-'));
  const ca = await ensureLocalCa({ dir: join(dir, 'ca') });
  caFile = ca.caFile;
  cert = await ca.issue({ name: 'node', hosts: [] });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the security flags', () => {
  it('a service command takes every one, with its environment mirror', () => {
    const command = addServiceSecurityOptions(new Command('svc'));
    const flags = command.options.map((o) => `${o.long} ${o.envVar}`);
    expect(flags).toEqual([
      '--tls-cert INFERMESH_TLS_CERT',
      '--tls-key INFERMESH_TLS_KEY',
      '--tls-client-ca INFERMESH_TLS_CLIENT_CA',
      '--tls-ca INFERMESH_TLS_CA',
      '--tls-client-cert INFERMESH_TLS_CLIENT_CERT',
      '--tls-client-key INFERMESH_TLS_CLIENT_KEY',
      '--nats-nkey INFERMESH_NATS_NKEY',
      '--auth INFERMESH_AUTH',
      '--auth-public-key INFERMESH_AUTH_PUBLIC_KEY',
    ]);
  });

  it('every verb that calls a service gets the client flags once; the others none', () => {
    const program = new Command();
    program.command('infer').option('--server <a>');
    const models = program.command('models');
    models.command('list').option('--registry <a>');
    models.command('local').option('--file <f>');
    addServiceSecurityOptions(program.command('registry').option('--nats <u>').option('--registry <a>'));
    addClientTlsOptionsToCallers(program);
    const tlsFlags = (c: Command) => c.options.filter((o) => o.long === '--tls-ca').length;
    expect(tlsFlags(program.commands[0]!)).toBe(1);
    expect(tlsFlags(models.commands[0]!)).toBe(1);
    expect(tlsFlags(models.commands[1]!)).toBe(0);
    expect(tlsFlags(program.commands[2]!)).toBe(1);
  });

  it('loads a server and a client from the files; absent flags are plaintext; a bad file is named', async () => {
    const none = await loadServiceSecurity({}, undefined);
    expect(none.server).toBeUndefined();
    expect(none.client).toBeUndefined();
    expect(none.telemetry).toEqual({});
    const s = await loadServiceSecurity({ tlsCert: cert.certFile, tlsKey: cert.keyFile, tlsClientCa: caFile, tlsCa: caFile, auth: true }, undefined);
    expect(s.server?.https).toMatchObject({ requestCert: true, rejectUnauthorized: true });
    expect(s.client?.tls.ca).toBeInstanceOf(Buffer);
    expect(s.auth).toBe(true);
    expect(Object.keys(s.telemetry).sort()).toEqual(['exportTls', 'metricsHttps']);
    await expect(loadServiceSecurity({ tlsCa: join(dir, 'missing.pem') }, undefined)).rejects.toThrow(`--tls-ca: the file '${join(dir, 'missing.pem')}' does not exist`);
    await expect(loadServiceSecurity({ tlsCert: cert.certFile }, undefined)).rejects.toThrow('--tls-cert was given without --tls-key');
  });

  it('NATS gets TLS only over a tls:// URL', async () => {
    expect(await loadNatsSecurityFlags({ tlsCa: caFile }, 'nats://127.0.0.1:4222')).toEqual({});
    const overTls = await loadNatsSecurityFlags({ tlsCa: caFile }, 'tls://127.0.0.1:4222');
    expect(overTls.tls?.ca).toBeInstanceOf(Buffer);
    await expect(loadNatsSecurityFlags({ natsNkey: join(dir, 'none.nk') }, 'nats://127.0.0.1:4222')).rejects.toThrow(`the NATS nkey seed file '${join(dir, 'none.nk')}' cannot be read`);
  });

  it('--auth is a switch; INFERMESH_AUTH takes 1/true/0/false', () => {
    expect(parseAuthFlag(undefined)).toBe(false);
    expect(parseAuthFlag(true)).toBe(true);
    expect(parseAuthFlag('1')).toBe(true);
    expect(parseAuthFlag('false')).toBe(false);
    expect(() => parseAuthFlag('maybe')).toThrow("--auth takes no value (INFERMESH_AUTH: 1/true or 0/false), got 'maybe'");
  });

  it('--auth-anonymous-models: only on the inference commands, comma-separated patterns, checked, and only with --auth', async () => {
    expect(addServiceSecurityOptions(new Command('registry')).options.some((o) => o.long === '--auth-anonymous-models')).toBe(false);
    const node = addServiceSecurityOptions(new Command('serve'), { anonymousInference: true });
    expect(node.options.map((o) => `${o.long} ${o.envVar}`)).toContain('--auth-anonymous-models INFERMESH_AUTH_ANONYMOUS_MODELS');
    expect(parseAnonymousModelsFlag(undefined, true)).toEqual([]);
    expect(parseAnonymousModelsFlag('', false)).toEqual([]);
    expect(parseAnonymousModelsFlag(' demo-*, fraud-v1 ,demo-*', true)).toEqual(['demo-*', 'fraud-v1']);
    expect(() => parseAnonymousModelsFlag('demo/1', true)).toThrow(/--auth-anonymous-models: model pattern 'demo\/1' must be/);
    expect(() => parseAnonymousModelsFlag('demo-*', false)).toThrow('--auth-anonymous-models (INFERMESH_AUTH_ANONYMOUS_MODELS) needs --auth');
    const s = await loadServiceSecurity({ auth: true, authAnonymousModels: 'demo-*' }, undefined);
    expect(s.authAnonymousModels).toEqual(['demo-*']);
    // loadServiceAuth turns the patterns into the anonymous principal next to the verifier.
    const keyFile = join(dir, 'token-public-key.pem');
    await writeFile(keyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const auth = await loadServiceAuth('serve', { ...s, authPublicKeyFile: keyFile });
    expect(auth?.anonymous).toMatchObject({ subject: 'anonymous', scopes: ['infer'], models: ['demo-*'], anonymous: true });
    expect((await loadServiceAuth('serve', { auth: true, authPublicKeyFile: keyFile }))?.anonymous).toBeUndefined();
  });

  it('says plainly which TLS failure it was, and nothing for other failures', () => {
    expect(describeTlsFailure(new Error('No connection established. Last error: Error: self-signed certificate in certificate chain'), 'h:1')).toContain("the server's certificate is not signed by the CA given with --tls-ca");
    expect(describeTlsFailure(new Error('ssl3_read_bytes:tlsv13 alert certificate required: SSL alert number 116'), 'h:1')).toContain('the server requires a client certificate (mTLS)');
    expect(describeTlsFailure(new Error('No connection established. Last error: Failed to connect (2026-12-02T06:33:08.742Z)'), 'h:1')).toContain('if it serves TLS, give its CA with --tls-ca');
    expect(describeTlsFailure(new Error('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'), 'h:1')).toBeUndefined();
    expect(describeTlsFailure(new Error('NOT_FOUND: no model x'), 'h:1')).toBeUndefined();
  });
});
