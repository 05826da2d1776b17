import type { Metadata } from '@grpc/grpc-js';
import { AUTHORIZATION_HEADER, bearerHeader } from './bearer.js';

/** Environment variable clients and services read their token from. */
export const TOKEN_ENV = 'INFERMESH_TOKEN';

/** The `token` option every infermesh client takes. */
export interface ClientTokenOption {
  /** Sent as `authorization: Bearer <token>` on every call (a call whose metadata already has one keeps it). Default: none. */
  token?: string;
}

/**
 * Client options with `token` turned into a metadata hook (added after the
 * caller's own `decorateMetadata`); unchanged without a token. Checks the
 * token's characters so a bad one fails here, not as a gRPC header error.
 */
export function withClientToken<O extends { decorateMetadata?: (metadata: Metadata, method: string) => void }>(options: O & ClientTokenOption): Omit<O, 'token'> {
  const { token, ...rest } = options;
  if (token === undefined || token === '') return rest;
  if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) throw new RangeError('the token has characters a bearer token cannot have (check INFERMESH_TOKEN)');
  const value = bearerHeader(token);
  const inner = rest.decorateMetadata;
  return {
    ...rest,
    decorateMetadata: (metadata: Metadata, method: string) => {
      inner?.(metadata, method);
      if (metadata.get(AUTHORIZATION_HEADER).length === 0) metadata.set(AUTHORIZATION_HEADER, value);
    },
  };
}

/** The token from the environment ({@link TOKEN_ENV}); undefined when unset or empty. */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[TOKEN_ENV]?.trim();
  return v ? v : undefined;
}
