import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import { checkUint32 } from '../../../shared/numbers/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
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

/** Per-call options. */
export interface RecommenderCallOptions {
  /** Deadline in ms from now. Default 30000 for unary calls, none for Train. */
  timeoutMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

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
export function createRecommenderClient(address: string): RecommenderClient {
  const proto = loadProtos(['infermesh/recommender/v1/recommender.proto']) as unknown as ProtoGrpcType;
  const client: GeneratedClient = new proto.infermesh.recommender.v1.Recommender(address, credentials.createInsecure());
  const opts = (o: RecommenderCallOptions | undefined, fallbackMs: number | undefined) => {
    const ms = o?.timeoutMs ?? fallbackMs;
    return ms === undefined ? {} : { deadline: Date.now() + ms };
  };
  const track = <C extends { cancel(): void }>(call: C, o?: RecommenderCallOptions): C => {
    if (o?.signal) {
      if (o.signal.aborted) call.cancel();
      else o.signal.addEventListener('abort', () => call.cancel(), { once: true });
    }
    return call;
  };
  const unary = <Req, Res>(method: (r: Req, md: Metadata, co: object, cb: (e: ServiceError | null, r?: Res) => void) => { cancel(): void }, req: Req, o?: RecommenderCallOptions) =>
    new Promise<Res>((resolve, reject) => {
      track(method.call(client, req, o?.metadata ?? new Metadata(), opts(o, 30_000), (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(res as Res))), o);
    });

  return {
    recommend: async (req, o) => {
      checkUint32(req.k ?? 0, 'k');
      return unary(client.Recommend, req, o);
    },
    recommendMany: (requests, o) =>
      new Promise((resolve, reject) => {
        const call = track(client.RecommendStream(o?.metadata ?? new Metadata(), opts(o, 30_000)), o);
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
    similarItems: async (itemId, k, o) => unary(client.SimilarItems, { itemId, k: checkUint32(k, 'k') }, o),
    recordInteractions: (list, o) =>
      new Promise((resolve, reject) => {
        const call = track(
          client.RecordInteractions(o?.metadata ?? new Metadata(), opts(o, 60_000), (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(Number(res!.accepted)))),
          o,
        );
        for (const it of list) call.write(it);
        call.end();
      }),
    upsertItems: (items, o) => unary(client.UpsertItems, { items: [...items] }, o),
    train: (req, onEpoch, o) =>
      new Promise((resolve, reject) => {
        const call = track(client.Train(req, o?.metadata ?? new Metadata(), opts(o, undefined)), o);
        let result: TrainResult__Output | undefined;
        call.on('data', (e: { epoch?: EpochProgress__Output | null; result?: TrainResult__Output | null }) => {
          if (e.epoch) onEpoch?.(e.epoch);
          if (e.result) result = e.result;
        });
        call.on('error', (err) => reject(InfermeshError.from(err)));
        call.on('end', () => (result ? resolve(result) : reject(new InfermeshError(Code.INTERNAL, 'Train ended without a result'))));
      }),
    modelInfo: (o) => unary(client.ModelInfo, {}, o),
    close: () => client.close(),
  };
}
