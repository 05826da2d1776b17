import type { Metadata, ServerCredentials, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import { withServerSpan } from '../../../shared/telemetry/index.js';
import { InfermeshError, invalidArgument } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
import type { ProtoGrpcType } from '../../../shared/generated/recommender.js';
import type { RecommenderHandlers } from '../../../shared/generated/infermesh/recommender/v1/Recommender.js';
import type { RecommendRequest__Output } from '../../../shared/generated/infermesh/recommender/v1/RecommendRequest.js';
import type { Interaction__Output } from '../events/index.js';
import { DEFAULT_IALS_PARAMS, type IalsParams } from '../learning/index.js';
import type { InteractionIngest } from '../events/index.js';
import type { ModelTrainer } from '../service/model-trainer.js';
import type { RecommendAnswer, RecommendEngine } from '../serving/index.js';
import type { RecommenderStore } from '../store/index.js';
import { callContext } from './call-context.js';
import { addStandardServices, createRpcServer, hostPort, toGrpcStatus, type Authenticate } from '../../../shared/rpc/index.js';

export interface RecommenderServerOptions {
  engine: RecommendEngine;
  trainer: ModelTrainer;
  ingest: InteractionIngest;
  store: RecommenderStore;
  modelName: string;
  maxK: number;
  logger: Logger;
  /** Most interactions one RecordInteractions call may carry. Default 1,000,000. */
  maxInteractionsPerCall?: number;
  /** Server spans per call (per request on RecommendStream). Default: none. */
  tracer?: Tracer;
  /** Server credentials. Default: insecure. */
  credentials?: ServerCredentials;
  /** Runs before every Recommender call (not health or reflection). Default: none. */
  authenticate?: Authenticate;
}

const SERVICE = '/infermesh.recommender.v1.Recommender';

/** The gRPC service `infermesh.recommender.v1.Recommender` over the engine, trainer and ingest. */
export function createRecommenderHandlers(o: RecommenderServerOptions): RecommenderHandlers {
  const maxPerCall = o.maxInteractionsPerCall ?? 1_000_000;
  const fail = (err: unknown): Partial<ServiceError> => toGrpcStatus(err, SERVICE, o.logger);
  /** Runs `work` in a SERVER span of `method` when a tracer is set. */
  const traced = <T>(method: string, metadata: Metadata, work: () => Promise<T>): Promise<T> =>
    o.tracer ? withServerSpan(o.tracer, `${SERVICE}/${method}`, metadata, work) : work();
  const unary = <T>(cb: sendUnaryData<T>, work: () => Promise<T>) => {
    work().then((r) => cb(null, r), (err: unknown) => cb(fail(err) as ServiceError));
  };
  const toQuery = (r: RecommendRequest__Output) => ({
    userId: r.userId,
    k: r.k,
    excludeSeen: r.excludeSeen,
    excludeItems: r.excludeItems,
    itemLabels: r.itemLabels,
    requestId: r.requestId,
  });
  const toResponse = (a: RecommendAnswer) => ({ ...a, items: a.items.map((i) => ({ itemId: i.itemId, score: i.score })) });

  return {
    Recommend(call, cb) {
      const ctx = callContext(call);
      unary(cb, () =>
        traced('Recommend', call.metadata, async () => toResponse(await o.engine.recommend(toQuery(call.request), ctx))).finally(() => ctx.done()),
      );
    },

    RecommendStream(call) {
      const ctx = callContext(call);
      const pending = new Set<Promise<void>>();
      let failed = false;
      call.on('data', (req: RecommendRequest__Output) => {
        if (failed) return;
        const p = traced('RecommendStream', call.metadata, () => o.engine.recommend(toQuery(req), ctx))
          .then((a) => {
            if (!failed) call.write(toResponse(a));
          })
          .catch((err: unknown) => {
            if (failed) return;
            failed = true;
            const e = InfermeshError.from(err);
            call.emit('error', fail(new InfermeshError(e.code, `request '${req.requestId}' (user '${req.userId}'): ${e.message}`, { cause: e })));
          })
          .finally(() => pending.delete(p));
        pending.add(p);
      });
      call.on('end', () => {
        void Promise.all(pending).then(() => {
          ctx.done();
          if (!failed) call.end();
        });
      });
    },

    SimilarItems(call, cb) {
      const ctx = callContext(call);
      unary(cb, () => traced('SimilarItems', call.metadata, () => o.engine.similarItems(call.request.itemId, call.request.k, ctx)).finally(() => ctx.done()));
    },

    RecordInteractions(call, cb) {
      const ctx = callContext(call);
      const list: Interaction__Output[] = [];
      let error: InfermeshError | undefined;
      call.on('data', (it: Interaction__Output) => {
        if (list.length >= maxPerCall) error ??= invalidArgument(`a RecordInteractions call may carry at most ${maxPerCall} interactions`);
        else list.push(it);
      });
      call.on('end', () => {
        unary(cb, () =>
          traced('RecordInteractions', call.metadata, async () => {
            if (error) throw error;
            return { accepted: String(await o.ingest.record(list, ctx.signal)) };
          }).finally(() => ctx.done()),
        );
      });
    },

    UpsertItems(call, cb) {
      unary(cb, async () => {
        const items = call.request.items.map((it, n) => {
          if (!it.itemId) throw invalidArgument(`items[${n}].item_id must be a non-empty string`);
          return { id: it.itemId, labels: it.labels };
        });
        const r = o.store.upsertItems(items);
        o.engine.refreshCatalogue();
        return r;
      });
    },

    Train(call) {
      const ctx = callContext(call);
      let params: Partial<IalsParams> | undefined;
      try {
        params = parseParamsJson(call.request.paramsJson);
      } catch (err) {
        call.emit('error', fail(err));
        return;
      }
      let epochs = 0;
      o.trainer
        .train({
          force: call.request.force,
          params,
          signal: ctx.signal,
          onEpoch: (r) => {
            epochs++;
            call.write({ epoch: { epoch: r.epoch, epochs: Math.max(epochs, r.epoch), loss: r.loss, seconds: r.seconds, gflops: r.flops / Math.max(r.seconds, 1e-9) / 1e9 } });
          },
        })
        .then(
          (result) => {
            call.write({ result: { ...result, interactions: String(result.interactions) } });
            call.end();
          },
          (err: unknown) => call.emit('error', fail(err)),
        )
        .finally(() => ctx.done());
    },

    ModelInfo(_call, cb) {
      unary(cb, async () => {
        const m = o.engine.serving()?.stored;
        return {
          modelName: o.modelName,
          version: m?.version ?? 0,
          trainedAtUnixMs: String(m?.trainedAtMs ?? 0),
          interactions: String(m?.interactions ?? 0),
          users: m?.users ?? 0,
          items: m?.items ?? 0,
          metrics: m?.metrics ?? {},
          paramsJson: m ? JSON.stringify(m.params) : '',
          maxK: o.maxK,
          catalogueItems: o.store.itemCount(),
          recordedInteractions: String(o.store.interactionCount()),
        };
      });
    },
  };
}

/** TrainRequest.params_json: '' or a JSON object of iALS parameters. */
function parseParamsJson(text: string): Partial<IalsParams> | undefined {
  if (!text) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`params_json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalidArgument('params_json must be a JSON object of iALS parameters');
  const known = new Set(Object.keys(DEFAULT_IALS_PARAMS));
  for (const key of Object.keys(json)) if (!known.has(key)) throw invalidArgument(`params_json: unknown parameter '${key}' (known: ${[...known].join(', ')})`);
  return json;
}

/** A started gRPC server of the recommender. */
export interface RecommenderServer {
  /** `host:port`. */
  readonly address: string;
  /** Graceful shutdown within `drainTimeoutMs`, then force. Idempotent. */
  close(drainTimeoutMs?: number): Promise<void>;
}

/** Binds the recommender's gRPC service on host:port (0 = a free port). */
export async function startRecommenderServer(o: RecommenderServerOptions & { host: string; port: number }): Promise<RecommenderServer> {
  const proto = loadProtos(['infermesh/recommender/v1/recommender.proto']) as unknown as ProtoGrpcType;
  const rpc = createRpcServer({
    channelOptions: { 'grpc.max_receive_message_length': 64 << 20 },
    logger: o.logger,
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.authenticate ? { authenticate: o.authenticate } : {}),
  });
  rpc.addService(proto.infermesh.recommender.v1.Recommender.service, createRecommenderHandlers(o));
  const health = addStandardServices(rpc.server, { protoFiles: ['infermesh/recommender/v1/recommender.proto'], services: ['infermesh.recommender.v1.Recommender'] });
  const port = await rpc.bind(o.host, o.port);
  health.set('SERVING');
  let closed: Promise<void> | undefined;
  return {
    address: hostPort(o.host, port),
    close: (drainTimeoutMs = 10_000) => {
      health.close();
      return (closed ??= rpc.shutdown(drainTimeoutMs).then(() => undefined));
    },
  };
}
