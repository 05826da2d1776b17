import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { Code, InfermeshError, invalidArgument, notFound, unavailable } from '../../../shared/errors/index.js';
import type { MonitorHandlers } from '../../../shared/generated/infermesh/monitor/v1/Monitor.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { SpanStore } from '../store/index.js';
import { MAX_FEEDBACK_ITEMS, type HealthEngine } from '../health/index.js';
import { alertMessage, healthPoints, versionHealthMessage } from './health-views.js';
import { modelStatsView, overviewMinutes, parseTraceId, traceQueryFrom, traceSpansView, traceSummaryView } from './views.js';

/**
 * Runs a query handler (synchronous, or a promise: span queries run on the
 * store's worker) and maps what it throws to a gRPC status at this edge (bad
 * input INVALID_ARGUMENT, unknown trace NOT_FOUND).
 */
function unary<Req, Res>(logger: Logger, method: string, fn: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const fail = (err: unknown) => {
      const error = InfermeshError.from(err);
      if (!(err instanceof InfermeshError)) logger.error('query failed', { method, err });
      callback(error.toServiceError());
    };
    try {
      const result = fn(call.request);
      if (result instanceof Promise) result.then((res) => callback(null, res), fail);
      else callback(null, result);
    } catch (err) {
      fail(err);
    }
  };
}

/** The `infermesh.monitor.v1.Monitor` handlers over a span store and the model-health engine. */
export function createMonitorHandlers(store: SpanStore, logger: Logger, health?: HealthEngine): MonitorHandlers {
  const engine = () => {
    if (!health) throw unavailable('this monitor runs without its model-health engine');
    return health;
  };
  return {
    SearchTraces: unary(logger, 'SearchTraces', async (req) => ({ traces: (await store.queries.search(traceQueryFrom(req))).map(traceSummaryView) })),
    GetTrace: unary(logger, 'GetTrace', async (req) => {
      const id = parseTraceId(req.traceId);
      const detail = await store.queries.getTrace(id);
      if (!detail) throw notFound(`trace ${id} is not in the monitor (never received, or pruned by retention)`);
      return { spans: traceSpansView(detail) };
    }),
    ListServices: unary(logger, 'ListServices', async () => ({ services: await store.queries.listServices() })),
    ListOperations: unary(logger, 'ListOperations', async (req) => ({ operations: await store.queries.listOperations(req.service || undefined) })),
    ModelOverview: unary(logger, 'ModelOverview', async (req) => {
      const minutes = overviewMinutes(req.windowMinutes);
      return { windowMinutes: minutes, models: (await store.queries.modelOverview(minutes)).map(modelStatsView) };
    }),
    SubmitFeedback: unary(logger, 'SubmitFeedback', (req) => {
      if (req.items.length > MAX_FEEDBACK_ITEMS) throw invalidArgument(`SubmitFeedback takes at most ${MAX_FEEDBACK_ITEMS} items, got ${req.items.length}`);
      const outcomes = engine().submitFeedback(req.items);
      const results = outcomes.map((out, index) => ({ index, code: Code[out.code] ?? String(out.code), error: out.error, version: out.version, duplicate: out.duplicate }));
      const accepted = outcomes.filter((out) => out.code === Code.OK).length;
      return { accepted, rejected: outcomes.length - accepted, results };
    }),
    GetModelHealth: unary(logger, 'GetModelHealth', (req) => {
      if (!req.model) throw invalidArgument('model is required');
      const versions = engine().health(req.model, req.version || undefined, healthPoints(req.points));
      if (versions.length === 0) throw notFound(`the monitor holds no prediction records of model '${req.model}'${req.version ? ` version ${req.version}` : ''}`);
      return { model: req.model, versions: versions.map(versionHealthMessage) };
    }),
    SetReference: unary(logger, 'SetReference', (req) => ({ features: engine().setReference(req.model, req.version, req.features, Number(req.rows)) })),
    ListAlerts: unary(logger, 'ListAlerts', (req) => {
      if (req.limit > 1000) throw invalidArgument(`limit must be at most 1000, got ${req.limit}`);
      return { alerts: engine().alerts({ model: req.model || undefined, firingOnly: req.firingOnly, limit: req.limit || 100 }).map(alertMessage) };
    }),
  };
}
