import type { ChannelCredentials } from '@grpc/grpc-js';
import { anonymousPrincipal, loadTokenVerifier, tokenFromEnv, type Principal, type TokenVerifier } from '../auth/index.js';
import { Code, InfermeshError } from '../errors/index.js';
import { createRegistryClient } from '../registry-client/index.js';

/** What a service's `--auth` flags say (see {@link loadServiceSecurity}). */
export interface ServiceAuthFlags {
  /** `--auth`: enforce tokens. */
  auth: boolean;
  /** `--auth-public-key FILE`: the registry's token public key. */
  authPublicKeyFile: string | undefined;
  /** `--auth-anonymous-models`: model patterns inference calls may use without a token (inference nodes only). Default none. */
  authAnonymousModels?: readonly string[];
}

/**
 * A service's token checking, as its options take it: the verifier, the service's own token
 * (`INFERMESH_TOKEN`) for its calls, and the principal of calls without a token (`--auth-anonymous-models`).
 */
export interface ServiceAuth {
  verifier: TokenVerifier;
  token?: string;
  /** anonymousPrincipal of `--auth-anonymous-models`; absent when none are given. */
  anonymous?: Principal;
}

/**
 * Turns `--auth` into a verifier: over the key in `--auth-public-key`, or the one the registry
 * at `registry` gives (`GetPublicKey` is public) when the service knows one. Undefined when
 * `--auth` is off. INVALID_ARGUMENT naming both flags when `--auth` is on with neither.
 */
export async function loadServiceAuth(
  service: string,
  flags: ServiceAuthFlags,
  registry?: { address: string; credentials?: ChannelCredentials },
): Promise<ServiceAuth | undefined> {
  if (!flags.auth) return undefined;
  const token = tokenFromEnv();
  const anonymous = anonymousPrincipal(flags.authAnonymousModels ?? []);
  const extras = { ...(token !== undefined ? { token } : {}), ...(anonymous ? { anonymous } : {}) };
  if (flags.authPublicKeyFile !== undefined) return { verifier: await loadTokenVerifier({ file: flags.authPublicKeyFile }), ...extras };
  if (registry === undefined) {
    throw new InfermeshError(Code.INVALID_ARGUMENT, `${service}: --auth needs the registry's token public key: give --auth-public-key FILE (INFERMESH_AUTH_PUBLIC_KEY) or --registry HOST:PORT`);
  }
  const client = createRegistryClient(registry.address, { timeoutMs: 10_000, ...(registry.credentials ? { credentials: registry.credentials } : {}) });
  try {
    return { verifier: await loadTokenVerifier({ registry: client }), ...extras };
  } finally {
    client.close();
  }
}
