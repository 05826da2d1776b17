// Everything `infermesh up --secure` needs before it starts a process: a local
// CA and a certificate per service (TLS and mTLS on every gRPC, HTTPS and NATS
// connection), and one NATS nkey per role with its subject permissions. (Node
// identities, for signed heartbeats, are issued by the registry with its key.)
// Idempotent: a second call on the same data directory reuses what is there.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { NATS_ROLES, natsPermissions, type NatsRole, type NatsServerTls, type NatsUser } from '../nats/index.js';
import { ensureLocalCa, type CertFiles, type LocalCaOptions } from './local-ca.js';
import { writePrivateFile } from './private-file.js';
import type { ClientTlsFiles, ServerTlsFiles } from './tls-files.js';
import type { NatsSecurityFiles } from './nats-security.js';

/** The services that get a certificate; `client` is the CLI's (and the admin's) client certificate. */
export type SecureService = 'registry' | 'node' | 'monitor' | 'recommender' | 'nats' | 'client';

/** Every {@link SecureService}. */
export const SECURE_SERVICES: readonly SecureService[] = ['registry', 'node', 'monitor', 'recommender', 'nats', 'client'];

/** Options of {@link prepareSecureMesh}. */
export interface SecureMeshOptions {
  /** Host names or addresses the services are reached by besides 127.0.0.1, ::1 and localhost (put in every certificate's SANs). */
  hosts?: string[];
  /** Passed to the local CA (validity, clock). */
  ca?: Omit<LocalCaOptions, 'dir'>;
}

/** The files of a secure mesh, under `<dataDir>/secure/`. */
export interface SecureMesh {
  /** `<dataDir>/secure`. */
  dir: string;
  /** The CA every service and client trusts (`--tls-ca`). */
  caFile: string;
  /** Each service's certificate and key (usable as server and as client certificate). */
  certs: Record<SecureService, CertFiles>;
  /** `--tls-cert`, `--tls-key` and `--tls-client-ca` of a service's servers (mTLS: clients must present a certificate from the CA). */
  server(service: SecureService): ServerTlsFiles;
  /** `--tls-ca`, `--tls-client-cert` and `--tls-client-key` of a service's clients. */
  client(service: SecureService): ClientTlsFiles;
  nats: {
    /** For NatsServerProcess's `tls` and `users`: TLS with mTLS, and one nkey user per role. */
    server: { tls: NatsServerTls; users: NatsUser[] };
    /** The nkey seed file (mode 0600) each role connects with (`readNkeySeed`, then connectNats's `nkeySeed`). */
    seedFiles: Record<NatsRole, string>;
    /** The NATS TLS files and nkey seed of a role (for loadNatsSecurity); the client certificate is the role's service certificate (`client` for the CLI). */
    client(role: NatsRole): NatsSecurityFiles;
  };
}

/** Makes (or reuses) the CA, certificates and NATS nkeys of a secure mesh under `<dataDir>/secure`. */
export async function prepareSecureMesh(dataDir: string, options: SecureMeshOptions = {}): Promise<SecureMesh> {
  const dir = join(dataDir, 'secure');
  const ca = await ensureLocalCa({ ...options.ca, dir: join(dir, 'ca') });
  const certs = {} as Record<SecureService, CertFiles>;
  for (const name of SECURE_SERVICES) certs[name] = await ca.issue({ name, hosts: options.hosts ?? [] });

  const natsDir = join(dir, 'nats');
  await mkdir(natsDir, { recursive: true, mode: 0o700 });
  const seedFiles = {} as Record<NatsRole, string>;
  const users: NatsUser[] = [];
  for (const role of NATS_ROLES) {
    const file = join(natsDir, `${role}.nk`);
    const seed = await readFile(file, 'utf8').then((s) => s.trim(), () => '');
    const pair = /^SU[A-Z2-7]{56}$/.test(seed) ? fromSeed(new TextEncoder().encode(seed)) : createUser();
    if (seed !== new TextDecoder().decode(pair.getSeed())) await writePrivateFile(file, new TextDecoder().decode(pair.getSeed()) + '\n');
    seedFiles[role] = file;
    users.push({ nkey: pair.getPublicKey(), permissions: natsPermissions(role) });
  }

  return {
    dir,
    caFile: ca.caFile,
    certs,
    server: (service) => ({ ...certs[service], clientCaFile: ca.caFile }),
    client: (service) => ({ caFile: ca.caFile, certFile: certs[service].certFile, keyFile: certs[service].keyFile }),
    nats: {
      server: { tls: { ...certs.nats, clientCaFile: ca.caFile }, users },
      seedFiles,
      client: (role) => {
        const cert = certs[role === 'node' || role === 'registry' || role === 'monitor' || role === 'recommender' ? role : 'client'];
        return { tls: { caFile: ca.caFile, certFile: cert.certFile, keyFile: cert.keyFile }, nkeySeedFile: seedFiles[role] };
      },
    },
  };
}
