import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { checkUint32 } from '../../../shared/numbers/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
import { createRpcClient, type RpcCallOptions, type RpcClientOptions, type UnaryMethod } from '../../../shared/rpc/index.js';
import { withClientToken, type ClientTokenOption } from '../../../shared/auth/index.js';
import type { ProtoGrpcType } from '../../../shared/generated/recommender.js';
import type { RecommenderClient as GeneratedClient } from '../../../shared/generated/infermesh/recommender/v1/Recommender.js';
import type { Interaction } from '../../../shared/generated/infermesh/events/v1/Interaction.js';
import type { RecommendRequest } from '../../../shared/generated/infermesh/recommender/v1/RecommendRequest.js';
import type { RecommendResponse__Output } from '../../../shared/generated/infermesh/recommender/v1/RecommendResponse.js';
import type { SimilarItemsResponse__Output } from '../../../shared/generated/infermesh/recommender/v1/SimilarItemsResponse.js';
import type { ModelInfoResponse__Output } from '../../../shared/generated/infermesh/recommender/v1/ModelInfoResponse.js';
import type { EpochProgress__Output } from '../../../shared/generated/infermesh/recommender/v1/EpochProgress.js';
import type { TrainResult__Output } from '../../../shared/generated/infermesh/recommender/v1/TrainResult.js';
import type { Item } from '../../../shared/generated/infermesh/recommender/v1/Item.js';

/** Per-call options: `timeoutMs` defaults to 30000 ms for unary calls and RecommendStream, 60000 ms for RecordInteractions, none for Train. */
export type RecommenderCallOptions = RpcCallOptions;

/** Options of {@link createRecommenderClient}: those of every infermesh client (see RpcClientOptions); `timeoutMs` defaults to 30000 ms; `token` is sent as `authorization: Bearer`. */
export type RecommenderClientOptions = RpcClientOptions & ClientTokenOption;

const SERVICE = 'infermesh.recommender.v1.Recommender';
const DEFAULT_TIMEOUT_MS = 30_000;
const RECORD_INTERACTIONS_TIMEOUT_MS = 60_000;

/** A typed client of `infermesh.recommender.v1.Recommender`; errors reject as InfermeshError. */
export interface RecommenderClient {
  recommend(request: RecommendRequest, options?: RecommenderCallOptions): Promise<RecommendResponse__Output>;
  /** Sends every request on one RecommendStream call; resolves with the responses in arrival order. */
  recommendMany(requests: readonly RecommendRequest[], options?: RecommenderCallOptions): Promise<RecommendResponse__Output[]>;
  similarItems(itemId: string, k: number, options?: RecommenderCallOptions): Promise<SimilarItemsResponse__Output>;
  /** Streams the interactions on one RecordInteractions call; resolves with how many were accepted. */
  recordInteractions(list: readonly Interaction[], options?: RecommenderCallOptions): Promise<number>;
  upsertItems(items: readonly Item[], options?: RecommenderCallOptions): Promise<{ created: number; updated: number }>;
  /** Trains; `onEpoch` sees progress; resolves with the result. */
  train(request: { force?: boolean; paramsJson?: string }, onEpoch?: (p: EpochProgress__Output) => void, options?: RecommenderCallOptions): Promise<TrainResult__Output>;
  modelInfo(options?: RecommenderCallOptions): Promise<ModelInfoResponse__Output>;
  close(): void;
}

/** Creates a client of the recommender at `address` (`host:port`). */
export function createRecommenderClient(address: string, options: RecommenderClientOptions = {}): RecommenderClient {
  const proto = loadProtos(['infermesh/recommender/v1/recommender.proto']) as unknown as ProtoGrpcType;
  const rpc = createRpcClient<GeneratedClient>(proto.infermesh.recommender.v1.Recommender, SERVICE, address, { timeoutMs: DEFAULT_TIMEOUT_MS, ...withClientToken(options) });
  const client = rpc.stub;
  const unaryTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const unary = <Req, Res>(name: string, method: unknown, req: Req, o?: RecommenderCallOptions, idempotent = false) =>
    rpc.unary(name, method as UnaryMethod<Req, Res>, req, o, { idempotent });

  return {
    recommend: async (req, o) => {
      checkUint32(req.k ?? 0, 'k');
      return unary('Recommend', client.Recommend, req, o, true);
    },
    recommendMany: (requests, o) =>
      new Promise((resolve, reject) => {
        const call = rpc.stream('RecommendStream', o, (metadata, callOptions) => client.RecommendStream(metadata, callOptions), unaryTimeoutMs);
        const out: RecommendResponse__Output[] = [];
        call.on('data', (r: RecommendResponse__Output) => out.push(r));
        call.on('error', (err) => reject(InfermeshError.from(err)));
        call.on('end', () => resolve(out));
        for (const [i, r] of requests.entries()) {
          try {
            checkUint32(r.k ?? 0, `requests[${i}].k`);
          } catch (err) {
            call.cancel();
            return reject(err);
          }
          call.write(r);
        }
        call.end();
      }),
    similarItems: async (itemId, k, o) => unary('SimilarItems', client.SimilarItems, { itemId, k: checkUint32(k, 'k') }, o, true),
    recordInteractions: (list, o) =>
      new Promise((resolve, reject) => {
        const call = rpc.stream(
          'RecordInteractions',
          o,
          (metadata, callOptions) =>
            client.RecordInteractions(metadata, callOptions, (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(Number(res!.accepted)))),
          RECORD_INTERACTIONS_TIMEOUT_MS,
        );
        for (const it of list) call.write(it);
        call.end();
      }),
    upsertItems: (items, o) => unary('UpsertItems', client.UpsertItems, { items: [...items] }, o),
    train: (req, onEpoch, o) =>
      new Promise((resolve, reject) => {
        const call = rpc.stream('Train', o, (metadata, callOptions) => client.Train(req, metadata, callOptions));
        let result: TrainResult__Output | undefined;
        call.on('data', (e: { epoch?: EpochProgress__Output | null; result?: TrainResult__Output | null }) => {
          if (e.epoch) onEpoch?.(e.epoch);
          if (e.result) result = e.result;
        });
        call.on('error', (err) => reject(InfermeshError.from(err)));
        call.on('end', () => (result ? resolve(result) : reject(new InfermeshError(Code.INTERNAL, 'Train ended without a result'))));
      }),
    modelInfo: (o) => unary('ModelInfo', client.ModelInfo, {}, o, true),
    close: rpc.close,
  };
}
