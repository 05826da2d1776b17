import type { Metadata, ServiceDefinition, ServiceError, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import { silentLogger, type Logger } from '../logging/index.js';
import { principalOf, toGrpcStatus, type Authenticate } from '../rpc/index.js';
import { bearerToken, type HttpHeaders } from './bearer.js';
import type { Scope } from './scopes.js';
import type { Principal } from './token-claims.js';
import { authorize, type TokenVerifier } from './token-verifier.js';

/**
 * What a method requires: a scope, `authenticated` (any valid token), or
 * `public` (no token looked at: probes, GetPublicKey).
 */
export type MethodRequirement = Scope | 'authenticated' | 'public';

/** A service's methods (short names, e.g. `ModelInfer`) and what each requires. */
export type MethodScopes = Readonly<Record<string, MethodRequirement>>;

/** A scope table of one service: what each full method name (`/pkg.Service/Method`) requires. */
export interface ScopeTable {
  /** The requirement of a full method name; `admin` for a method the table does not list (closed by default). */
  requirementOf(method: string): MethodRequirement;
}

/** Builds the {@link ScopeTable} of `service` (e.g. `inference.GRPCInferenceService`) from its methods' requirements. */
export function scopeTable(service: string, methods: MethodScopes): ScopeTable {
  const byPath = new Map<string, MethodRequirement>(Object.entries(methods).map(([name, need]) => [`/${service}/${name}`, need]));
  return { requirementOf: (method) => byPath.get(method) ?? 'admin' };
}

/** Options of {@link createRpcAuthenticate}. */
export interface RpcAuthOptions {
  verifier: TokenVerifier;
  /** One table per service the server serves (their method paths never collide). */
  tables: readonly ScopeTable[];
  /**
   * Anonymous access (anonymousPrincipal, `--auth-anonymous-models`): a call
   * to a method that needs a scope this principal has (`infer`) and that sends
   * no `authorization` header gets it, and its models are checked against its
   * patterns like a token's. Default: none (every call needs a token).
   */
  anonymous?: Principal;
}

/**
 * The authentication hook of an RPC server (createRpcServer({ authenticate })):
 * every call's `authorization: Bearer` token is verified (UNAUTHENTICATED when
 * missing or bad) and checked against the method's scope (PERMISSION_DENIED
 * naming the missing scope); no message ever contains the token. With
 * `anonymous`, `infer` calls without a token get the anonymous principal. Handlers of
 * methods that name a model check the model with {@link authorizeCall}.
 */
export function createRpcAuthenticate(options: RpcAuthOptions): Authenticate {
  const { verifier, tables, anonymous } = options;
  const requirementOf = (method: string): MethodRequirement => {
    for (const t of tables) {
      const need = t.requirementOf(method);
      if (need !== 'admin') return need;
    }
    return 'admin';
  };
  return async ({ metadata, method }) => {
    const need = requirementOf(method);
    if (need === 'public') return undefined;
    return verifyRequest(verifier, metadata, need, undefined, anonymous);
  };
}

/**
 * The principal of a request's token (gRPC metadata or HTTP headers), checked
 * against `need`; for `infer` with a model, the model too. UNAUTHENTICATED or
 * PERMISSION_DENIED as {@link createRpcAuthenticate} says. With `anonymous`,
 * a request that sends no `authorization` header to a method whose scope the
 * anonymous principal has gets that principal (a model outside its patterns:
 * UNAUTHENTICATED); a request that sends one is verified as ever, so a bad
 * token stays UNAUTHENTICATED on an anonymous model too.
 */
export async function verifyRequest(
  verifier: TokenVerifier,
  source: Metadata | HttpHeaders,
  need: Exclude<MethodRequirement, 'public'>,
  model?: string,
  anonymous?: Principal,
): Promise<Principal> {
  const token = bearerToken(source);
  const principal = token === undefined && anonymous !== undefined && need !== 'authenticated' && anonymous.scopes.includes(need) ? anonymous : await verifier.verify(token);
  if (need !== 'authenticated') authorize(principal, need, model);
  return principal;
}

/** The verified principal the authentication hook gave a call; undefined when auth is off or the method is public. */
export function callPrincipal(call: object): Principal | undefined {
  return principalOf(call) as Principal | undefined;
}

/**
 * Checks the model a call names against its token's patterns (the scope was
 * checked by the hook). Does nothing for a call without a principal: auth is
 * off, or the method is public. PERMISSION_DENIED naming the model.
 */
export function authorizeCall(call: object, scope: Scope, model: string): void {
  const principal = callPrincipal(call);
  if (principal) authorize(principal, scope, model);
}

/**
 * `implementation` with every unary and server-streaming handler whose
 * request names a model (`modelOf`, default its `model` field) first checking
 * that model against the caller's token patterns, for the scope `table` gives
 * the method; PERMISSION_DENIED naming the model, and the handler never runs.
 * A call without a principal (auth off, public method) goes straight through.
 * Client-streaming and bidirectional methods are left as they are (their
 * model arrives in a message, later).
 */
export function withModelAuthorization(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  table: ScopeTable,
  options: { logger?: Logger; modelOf?: (request: unknown) => string | undefined } = {},
): UntypedServiceImplementation {
  const logger = options.logger ?? silentLogger;
  const modelOf = options.modelOf ?? ((request: unknown) => {
    const model = (request as { model?: unknown } | undefined)?.model;
    return typeof model === 'string' && model !== '' ? model : undefined;
  });
  const wrapped: UntypedServiceImplementation = { ...implementation };
  for (const [name, handler] of Object.entries(implementation)) {
    const method = definition[name];
    if (!method || method.requestStream) continue;
    const need = table.requirementOf(method.path);
    if (need === 'public' || need === 'authenticated') continue;
    type Call = { request: unknown; emit(event: 'error', error: Partial<ServiceError>): boolean };
    wrapped[name] = (call: Call, callback?: sendUnaryData<unknown>) => {
      const principal = callPrincipal(call);
      const model = principal ? modelOf(call.request) : undefined;
      if (principal && model !== undefined) {
        try {
          authorize(principal, need, model);
        } catch (err) {
          const status = toGrpcStatus(err, method.path, logger);
          if (method.responseStream) call.emit('error', status);
          else callback?.(status);
          return;
        }
      }
      (handler as (call: Call, callback?: sendUnaryData<unknown>) => void)(call, callback);
    };
  }
  return wrapped;
}
