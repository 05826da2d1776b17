import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { InfermeshError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { RegistryAuth } from '../auth/index.js';
import type { WriteContext } from '../store/index.js';

/** The token and audit RPCs of ModelRegistry (token-handlers.ts, audit-handlers.ts). */
export type GovernanceMethod = 'CreateToken' | 'ListTokens' | 'RevokeToken' | 'GetPublicKey' | 'IssueNodeIdentity' | 'ListAudit' | 'VerifyAudit' | 'GetModelHistory';

/** A handler set without the governance RPCs (key remapping keeps the named members that `Omit` loses next to an index signature). */
export type WithoutGovernance<T> = { [K in keyof T as K extends GovernanceMethod ? never : K]: T[K] };

/** What the governance (token and audit) handlers work with. */
export interface AdminHandlerDeps {
  auth: RegistryAuth;
  logger: Logger;
}

/**
 * A unary governance (token and audit) handler: runs `fn` with the call's write context (its
 * actor, for the audit log) and maps failures to gRPC status at this edge
 * (anything that is not an InfermeshError is logged as unexpected).
 */
export function adminUnary<Req, Res>(deps: AdminHandlerDeps, method: string, fn: (req: Req, ctx: WriteContext) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    deps.auth
      .actorOf(call.metadata, call.getPeer())
      .then((actor) => fn(call.request, { actor }))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!(err instanceof InfermeshError)) deps.logger.error('unexpected failure', { method, err });
          callback(InfermeshError.from(err).toServiceError());
        },
      );
  };
}
