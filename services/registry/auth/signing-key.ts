import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyId } from '../../../shared/auth/index.js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';

/** Where the key lives under the registry's data directory. */
export const SIGNING_KEY_FILE = join('auth', 'token-signing-key.pem');

/** The registry's token signing key. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The JWT `kid` (see publicKeyId). */
  keyId: string;
  /** The PEM file it was read from or written to. */
  path: string;
  /** Whether this start created it. */
  created: boolean;
}

/**
 * The registry's Ed25519 signing key, from `<dataDir>/auth/token-signing-key.pem`
 * (PKCS#8 PEM, mode 0600), created on first start. Creation links a fully written
 * file into place, so two registries starting on one data directory end with one key.
 * A key file readable by others is made private again, with a warning.
 */
export async function loadOrCreateSigningKey(dataDir: string, logger?: Logger): Promise<SigningKey> {
  const path = join(dataDir, SIGNING_KEY_FILE);
  await mkdir(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  let created = false;
  const { privateKey: fresh } = generateKeyPairSync('ed25519');
  // Written whole to a private temp file, then linked into place: link fails when the
  // key exists, so a concurrent start never reads a half-written key.
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, fresh.export({ type: 'pkcs8', format: 'pem' }), { flag: 'wx', mode: 0o600 });
    await link(tmp, path);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new InfermeshError(Code.FAILED_PRECONDITION, `cannot write the token signing key ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(tmp, { force: true });
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    logger?.warn('the token signing key was readable by others; made it private (0600)', { path, mode: mode.toString(8) });
    await chmod(path, 0o600);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InfermeshError(Code.FAILED_PRECONDITION, `the token signing key ${path} is not a PEM private key`, { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new InfermeshError(Code.FAILED_PRECONDITION, `the token signing key ${path} must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: publicKeyId(publicKey), path, created };
}
