// A local certificate authority for `infermesh up --secure`.
//
// Certificates are made with @peculiar/x509, a pure-JS X.509 library on top of
// Node's WebCrypto: no openssl binary is needed on the machine, and the keys are
// never handed to another process. Keys are ECDSA P-256 (what grpc-js, Node's
// TLS and nats-server all accept), certificates signed with SHA-256.
import { X509Certificate as NodeX509, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';
import { Code, InfermeshError } from '../errors/index.js';
import { writePrivateFile } from './private-file.js';

type CryptoKey = webcrypto.CryptoKey;

const crypto = webcrypto;
const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

let x509: typeof X509;

/**
 * Loads @peculiar/x509 on first use (processes that never make a certificate
 * never load it). It registers its classes with tsyringe, which needs the
 * `Reflect.getMetadata` polyfill of `reflect-metadata` (loaded first).
 */
async function loadX509(): Promise<typeof X509> {
  if (x509 === undefined) {
    await import('reflect-metadata');
    x509 = await import('@peculiar/x509');
  }
  return x509;
}

/** Defaults of {@link LocalCaOptions}. */
export const DEFAULT_LOCAL_CA_OPTIONS = {
  /** The CA is valid for ten years. */
  caValidityDays: 3650,
  /** Service certificates are valid for one year. */
  certValidityDays: 365,
  /** A certificate with less than this left is made anew rather than reused. */
  renewBeforeDays: 7,
} as const;

/** Options of {@link ensureLocalCa}. */
export interface LocalCaOptions {
  /** Folder the CA and certificates are written to (created with mode 0700). */
  dir: string;
  /** Default 3650. */
  caValidityDays?: number;
  /** Default 365. */
  certValidityDays?: number;
  /** Default 7. */
  renewBeforeDays?: number;
  /** Clock (ms since the epoch). Default Date.now. */
  now?: () => number;
}

/** A certificate and its key as files. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
}

/** One service's certificate request. */
export interface ServiceCertRequest {
  /** File stem and common name, e.g. `registry` (letters, digits, `_`, `-`, `.`). */
  name: string;
  /** Extra SANs besides 127.0.0.1, ::1 and localhost: host names or IP addresses. */
  hosts?: string[];
}

/** A local CA on disk: `ca.crt`/`ca.key` and one `<name>.crt`/`<name>.key` per service. */
export interface LocalCa {
  /** The CA certificate every service and client trusts. */
  caFile: string;
  /** The CA's private key (mode 0600). */
  caKeyFile: string;
  /** The certificate for `request` (server and client use, so it serves mTLS both ways); reused when still good. */
  issue(request: ServiceCertRequest): Promise<CertFiles>;
}

const DEFAULT_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/**
 * Opens the CA in `dir`, making it when missing, expiring soon or unreadable;
 * idempotent: a second call on the same folder reuses what is there.
 */
export async function ensureLocalCa(options: LocalCaOptions): Promise<LocalCa> {
  const o = { ...DEFAULT_LOCAL_CA_OPTIONS, now: Date.now, ...options };
  await loadX509();
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const caFile = join(o.dir, 'ca.crt');
  const caKeyFile = join(o.dir, 'ca.key');
  const renewMs = o.renewBeforeDays * DAY_MS;

  let ca = await readGood(caFile, caKeyFile, o.now() + renewMs);
  if (!ca) {
    const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']));
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: 'CN=infermesh local CA',
        notBefore: new Date(o.now() - 60_000),
        notAfter: new Date(o.now() + o.caValidityDays * DAY_MS),
        signingAlgorithm: SIGNING_ALGORITHM,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    await writePair(caFile, caKeyFile, cert.toString('pem'), await privateKeyPem(keys.privateKey));
    ca = { cert: new NodeX509(cert.toString('pem')) };
  }
  const caCert = ca.cert;
  const caKey = await importKey(await readFile(caKeyFile, 'utf8'));
  const caX509 = new x509.X509Certificate(caCert.raw);

  return {
    caFile,
    caKeyFile,
    async issue(request) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(request.name) || request.name === 'ca') {
        throw new InfermeshError(Code.INVALID_ARGUMENT, `a service certificate name must be 1-64 characters of A-Z a-z 0-9 _ . - and not 'ca', got '${request.name}'`);
      }
      const hosts = [...new Set([...DEFAULT_HOSTS, ...(request.hosts ?? [])])];
      const certFile = join(o.dir, `${request.name}.crt`);
      const keyFile = join(o.dir, `${request.name}.key`);
      const kept = await readGood(certFile, keyFile, o.now() + renewMs);
      if (kept && kept.cert.checkIssued(caCert) && kept.cert.verify(caCert.publicKey) && coversHosts(kept.cert, hosts)) return { certFile, keyFile };

      const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']));
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject: `CN=${request.name}`,
          issuer: caX509.subject,
          notBefore: new Date(o.now() - 60_000),
          notAfter: new Date(Math.min(o.now() + o.certValidityDays * DAY_MS, Date.parse(caCert.validTo))),
          signingAlgorithm: SIGNING_ALGORITHM,
          publicKey: keys.publicKey,
          signingKey: caKey,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
            new x509.SubjectAlternativeNameExtension(hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))),
            await x509.AuthorityKeyIdentifierExtension.create(caX509, false, crypto),
          ],
        },
        crypto,
      );
      await writePair(certFile, keyFile, cert.toString('pem'), await privateKeyPem(keys.privateKey));
      return { certFile, keyFile };
    },
  };
}

/** The certificate at `certFile` when it parses, its key parses and matches, and it is valid until `untilMs`; else undefined. */
async function readGood(certFile: string, keyFile: string, untilMs: number): Promise<{ cert: NodeX509 } | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    const cert = new NodeX509(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    if (Date.parse(cert.validTo) < untilMs) return undefined;
    return { cert };
  } catch {
    return undefined;
  }
}

function coversHosts(cert: NodeX509, hosts: string[]): boolean {
  const san = cert.subjectAltName ?? '';
  const names = new Set(san.split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')));
  // Node prints IPv6 SANs expanded and upper-case: compare IPs loosely by parsing.
  return hosts.every((h) => names.has(h) || (isIP(h) === 6 && [...names].some((n) => isIP(n) === 6 && normalizeV6(n) === normalizeV6(h))));
}

function normalizeV6(ip: string): string {
  const [head, tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - a.length - b.length).fill('0');
  return [...a, ...fill, ...b].map((p) => p.replace(/^0+(?=.)/, '')).join(':');
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), KEY_ALGORITHM, false, ['sign']);
}

/** Writes key (0600) then certificate, each through a temp file and rename, so a crash never leaves half a pair that parses. */
async function writePair(certFile: string, keyFile: string, certPem: string, keyPem: string): Promise<void> {
  await writePrivateFile(keyFile, keyPem);
  await writeFile(`${certFile}.tmp`, certPem, { mode: 0o644 });
  await rename(`${certFile}.tmp`, certFile);
}
