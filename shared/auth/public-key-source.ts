import { readFile } from 'node:fs/promises';
import { Code, InfermeshError } from '../errors/index.js';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './token-verifier.js';

/** What a registry client offers for the key (GetPublicKey is public: no token needed). */
export interface PublicKeyRegistry {
  getPublicKey(): Promise<{ publicKeyPem: string }>;
}

/** Where an edge gets the registry's public key: a PEM file (`--auth-public-key`), or the registry itself at start. */
export type PublicKeySource = { file: string } | { registry: PublicKeyRegistry };

/**
 * A verifier over the registry's public key read from `source`.
 * INVALID_ARGUMENT naming the file when it cannot be read or is not an
 * Ed25519 public key; the registry's error (e.g. UNAVAILABLE) when it cannot
 * be asked.
 */
export async function loadTokenVerifier(source: PublicKeySource, options: Omit<TokenVerifierOptions, 'publicKey'> = {}): Promise<TokenVerifier> {
  let pem: string;
  if ('file' in source) {
    try {
      pem = await readFile(source.file, 'utf8');
    } catch (err) {
      throw new InfermeshError(Code.INVALID_ARGUMENT, `cannot read the token public key file ${source.file}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    pem = (await source.registry.getPublicKey()).publicKeyPem;
  }
  try {
    return createTokenVerifier({ ...options, publicKey: pem });
  } catch (err) {
    const from = 'file' in source ? `the file ${source.file}` : 'the registry';
    throw new InfermeshError(Code.INVALID_ARGUMENT, `${(err as Error).message} (from ${from})`, { cause: err });
  }
}
