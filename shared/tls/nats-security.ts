import { readNkeySeed, type ConnectNatsOptions } from '../nats/index.js';
import { loadClientTls, type ClientTlsFiles } from './tls-files.js';

/** The environment variable naming a service's NATS nkey seed file (mirrors a `--nats-nkey` flag). */
export const NATS_NKEY_ENV = 'INFERMESH_NATS_NKEY';

/** Where a service's NATS credentials lie: the TLS files (as for its gRPC clients) and its nkey seed file. */
export interface NatsSecurityFiles {
  tls?: ClientTlsFiles;
  nkeySeedFile?: string;
}

/**
 * Reads a service's NATS TLS files and nkey seed into what connectNats takes
 * (`{ ...await loadNatsSecurity(files) }`); errors name the file. Nothing given:
 * plaintext, no credentials.
 */
export async function loadNatsSecurity(files: NatsSecurityFiles): Promise<Pick<ConnectNatsOptions, 'tls' | 'nkeySeed'>> {
  const [tls, nkeySeed] = await Promise.all([files.tls ? loadClientTls(files.tls) : undefined, files.nkeySeedFile ? readNkeySeed(files.nkeySeedFile) : undefined]);
  return { ...(tls ? { tls } : {}), ...(nkeySeed ? { nkeySeed } : {}) };
}
