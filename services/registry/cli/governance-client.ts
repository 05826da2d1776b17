import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { bearerHeader, AUTHORIZATION_HEADER } from '../../../shared/auth/index.js';
import { InfermeshError } from '../../../shared/errors/index.js';
import type { CreateTokenRequest } from '../../../shared/generated/infermesh/registry/v1/CreateTokenRequest.js';
import type { CreateTokenResponse__Output } from '../../../shared/generated/infermesh/registry/v1/CreateTokenResponse.js';
import type { IssueNodeIdentityRequest } from '../../../shared/generated/infermesh/registry/v1/IssueNodeIdentityRequest.js';
import type { IssueNodeIdentityResponse__Output } from '../../../shared/generated/infermesh/registry/v1/IssueNodeIdentityResponse.js';
import type { GetModelHistoryResponse__Output } from '../../../shared/generated/infermesh/registry/v1/GetModelHistoryResponse.js';
import type { ListAuditRequest } from '../../../shared/generated/infermesh/registry/v1/ListAuditRequest.js';
import type { ListAuditResponse__Output } from '../../../shared/generated/infermesh/registry/v1/ListAuditResponse.js';
import type { ModelRegistryClient } from '../../../shared/generated/infermesh/registry/v1/ModelRegistry.js';
import type { PublicKey__Output } from '../../../shared/generated/infermesh/registry/v1/PublicKey.js';
import type { TokenInfo__Output } from '../../../shared/generated/infermesh/registry/v1/TokenInfo.js';
import type { VerifyAuditResponse__Output } from '../../../shared/generated/infermesh/registry/v1/VerifyAuditResponse.js';
import type { ProtoGrpcType } from '../../../shared/generated/registry.js';
import { loadProtos } from '../../../shared/proto/index.js';

/** How long one governance call may take. Default of {@link GovernanceClientOptions.timeoutMs}. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Options for {@link createGovernanceClient}. */
export interface GovernanceClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call (the CLI passes INFERMESH_TOKEN). */
  token?: string;
  /** Deadline of each call. Default: 30000 ms. */
  timeoutMs?: number;
  /** Channel credentials (TLS, mTLS). Default: insecure. */
  credentials?: ChannelCredentials;
}

/** The registry's token and audit RPCs, promise-shaped; failures are InfermeshErrors. */
export interface GovernanceClient {
  createToken(request: CreateTokenRequest): Promise<CreateTokenResponse__Output>;
  listTokens(includeInactive: boolean): Promise<TokenInfo__Output[]>;
  revokeToken(tokenId: string): Promise<TokenInfo__Output>;
  getPublicKey(): Promise<PublicKey__Output>;
  issueNodeIdentity(request: IssueNodeIdentityRequest): Promise<IssueNodeIdentityResponse__Output>;
  listAudit(request: ListAuditRequest): Promise<ListAuditResponse__Output>;
  verifyAudit(): Promise<VerifyAuditResponse__Output>;
  modelHistory(model: string, atUnixMs: number): Promise<GetModelHistoryResponse__Output>;
  close(): void;
}

/** A client of ModelRegistry's governance RPCs at `address` (`host:port`). */
export function createGovernanceClient(address: string, options: GovernanceClientOptions = {}): GovernanceClient {
  const proto = loadProtos(['infermesh/registry/v1/registry.proto']) as unknown as ProtoGrpcType;
  const client: ModelRegistryClient = new proto.infermesh.registry.v1.ModelRegistry(address, options.credentials ?? credentials.createInsecure());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const metadata = () => {
    const md = new Metadata();
    if (options.token) md.set(AUTHORIZATION_HEADER, bearerHeader(options.token));
    return md;
  };
  type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res?: Res) => void) => unknown;
  const call = <Req, Res>(method: Unary<Req, Res>, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      method.call(client, req, metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(res!)));
    });
  return {
    createToken: (request) => call(client.createToken as Unary<CreateTokenRequest, CreateTokenResponse__Output>, request),
    listTokens: async (includeInactive) => (await call(client.listTokens as Unary<object, { tokens: TokenInfo__Output[] }>, { includeInactive })).tokens,
    revokeToken: (tokenId) => call(client.revokeToken as Unary<object, TokenInfo__Output>, { tokenId }),
    getPublicKey: () => call(client.getPublicKey as Unary<object, PublicKey__Output>, {}),
    issueNodeIdentity: (request) => call(client.issueNodeIdentity as Unary<IssueNodeIdentityRequest, IssueNodeIdentityResponse__Output>, request),
    listAudit: (request) => call(client.listAudit as Unary<ListAuditRequest, ListAuditResponse__Output>, request),
    verifyAudit: () => call(client.verifyAudit as Unary<object, VerifyAuditResponse__Output>, {}),
    modelHistory: (model, atUnixMs) => call(client.getModelHistory as Unary<object, GetModelHistoryResponse__Output>, { model, atUnixMs }),
    close: () => client.close(),
  };
}
