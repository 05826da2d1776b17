import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Code, InfermeshError } from '../errors/index.js';

/**
 * Where a server's TLS material lies (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
 * With `clientCaFile` the server asks every client for a certificate signed by
 * that CA and refuses a connection without one (mTLS).
 */
export interface ServerTlsFiles {
  /** PEM certificate (chain) the server presents. */
  certFile: string;
  /** PEM private key of that certificate. */
  keyFile: string;
  /** PEM CA bundle that client certificates must chain to. Default: no client certificates asked for. */
  clientCaFile?: string;
}

/**
 * Where a client's TLS material lies (`--tls-ca`, `--tls-client-cert`, `--tls-client-key`).
 * Without `caFile` the system's root CAs are trusted.
 */
export interface ClientTlsFiles {
  /** PEM CA bundle the server's certificate must chain to. Default: the system roots. */
  caFile?: string;
  /** PEM certificate presented to a server that asks for one (mTLS); needs `keyFile`. */
  certFile?: string;
  /** PEM private key of `certFile`. */
  keyFile?: string;
}

/** The environment variables that mirror the TLS flags, e.g. `INFERMESH_TLS_CERT` for `--tls-cert`. */
export const TLS_ENV = {
  cert: 'INFERMESH_TLS_CERT',
  key: 'INFERMESH_TLS_KEY',
  clientCa: 'INFERMESH_TLS_CLIENT_CA',
  ca: 'INFERMESH_TLS_CA',
  clientCert: 'INFERMESH_TLS_CLIENT_CERT',
  clientKey: 'INFERMESH_TLS_CLIENT_KEY',
} as const;

/** The server TLS flags as commander hands them over (all optional strings). */
export interface ServerTlsFlags {
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsClientCa?: string | undefined;
}

/** The client TLS flags as commander hands them over. */
export interface ClientTlsFlags {
  tlsCa?: string | undefined;
  tlsClientCert?: string | undefined;
  tlsClientKey?: string | undefined;
}

const pick = (flag: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const v = flag ?? env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
};

/**
 * The server's TLS files from its flags, each falling back to its environment
 * variable; undefined when neither a certificate nor a key is given (plaintext).
 * A certificate without a key (or the reverse), or a client CA without either, is an error.
 */
export function resolveServerTlsFiles(flags: ServerTlsFlags = {}, env: NodeJS.ProcessEnv = process.env): ServerTlsFiles | undefined {
  const certFile = pick(flags.tlsCert, env, TLS_ENV.cert);
  const keyFile = pick(flags.tlsKey, env, TLS_ENV.key);
  const clientCaFile = pick(flags.tlsClientCa, env, TLS_ENV.clientCa);
  if (!certFile && !keyFile) {
    if (clientCaFile) throw tlsConfigError(`--tls-client-ca (${TLS_ENV.clientCa}) needs --tls-cert and --tls-key: mTLS is only asked for over TLS`);
    return undefined;
  }
  if (!certFile) throw tlsConfigError(`--tls-key was given without --tls-cert (${TLS_ENV.cert}): a server needs both`);
  if (!keyFile) throw tlsConfigError(`--tls-cert was given without --tls-key (${TLS_ENV.key}): a server needs both`);
  return { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}) };
}

/**
 * The client's TLS files from its flags, falling back to the environment;
 * undefined when none is given (plaintext). A client certificate needs its key.
 */
export function resolveClientTlsFiles(flags: ClientTlsFlags = {}, env: NodeJS.ProcessEnv = process.env): ClientTlsFiles | undefined {
  const caFile = pick(flags.tlsCa, env, TLS_ENV.ca);
  const certFile = pick(flags.tlsClientCert, env, TLS_ENV.clientCert);
  const keyFile = pick(flags.tlsClientKey, env, TLS_ENV.clientKey);
  if (!caFile && !certFile && !keyFile) return undefined;
  if (certFile && !keyFile) throw tlsConfigError(`--tls-client-cert was given without --tls-client-key (${TLS_ENV.clientKey})`);
  if (keyFile && !certFile) throw tlsConfigError(`--tls-client-key was given without --tls-client-cert (${TLS_ENV.clientCert})`);
  return { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}) };
}

/** A server's TLS material read and checked: PEM bytes ready for grpc-js or node:https. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Present for mTLS. */
  clientCa?: Buffer;
}

/** A client's TLS material read and checked. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads and checks a server's files: each must exist, be readable and hold PEM
 * of the right kind, and the key must belong to the certificate. Errors name the
 * file and what was wrong with it.
 */
export async function loadServerTls(files: ServerTlsFiles): Promise<ServerTls> {
  const [cert, key, clientCa] = await Promise.all([
    readPem(files.certFile, 'certificate', '--tls-cert'),
    readPem(files.keyFile, 'key', '--tls-key'),
    files.clientCaFile ? readPem(files.clientCaFile, 'certificate', '--tls-client-ca') : undefined,
  ]);
  checkPair(cert, key, files.certFile, files.keyFile);
  return { cert, key, ...(clientCa ? { clientCa } : {}) };
}

/** Reads and checks a client's files (see {@link loadServerTls}). */
export async function loadClientTls(files: ClientTlsFiles): Promise<ClientTls> {
  const [ca, cert, key] = await Promise.all([
    files.caFile ? readPem(files.caFile, 'certificate', '--tls-ca') : undefined,
    files.certFile ? readPem(files.certFile, 'certificate', '--tls-client-cert') : undefined,
    files.keyFile ? readPem(files.keyFile, 'key', '--tls-client-key') : undefined,
  ]);
  if (cert && key) checkPair(cert, key, files.certFile!, files.keyFile!);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function tlsConfigError(message: string, cause?: unknown): InfermeshError {
  return new InfermeshError(Code.INVALID_ARGUMENT, message, { cause });
}

async function readPem(file: string, kind: 'certificate' | 'key', flag: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    throw tlsConfigError(`${flag}: the file '${file}' ${why}`, err);
  }
  const text = bytes.toString('latin1');
  if (kind === 'certificate') {
    if (!text.includes('-----BEGIN CERTIFICATE-----')) throw tlsConfigError(`${flag}: '${file}' is not a PEM certificate (no '-----BEGIN CERTIFICATE-----' block)`);
    try {
      new X509Certificate(bytes);
    } catch (err) {
      throw tlsConfigError(`${flag}: '${file}' holds a PEM block that is not a valid X.509 certificate: ${(err as Error).message}`, err);
    }
  } else {
    if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(text)) throw tlsConfigError(`${flag}: '${file}' is not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' block)`);
    try {
      createPrivateKey(bytes);
    } catch (err) {
      throw tlsConfigError(`${flag}: '${file}' holds a PEM block that is not a usable private key: ${(err as Error).message}`, err);
    }
  }
  return bytes;
}

function checkPair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): void {
  const x509 = new X509Certificate(cert);
  const privateKey: KeyObject = createPrivateKey(key);
  if (!x509.checkPrivateKey(privateKey)) throw tlsConfigError(`the key '${keyFile}' does not belong to the certificate '${certFile}'`);
}
