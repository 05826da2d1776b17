import type { sendUnaryData, ServerUnaryCall, ServiceError } from '@grpc/grpc-js';
import { InfermeshError, notFound } from '../../../shared/errors/index.js';
import type { MonitorHandlers } from '../../../shared/generated/infermesh/monitor/v1/Monitor.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { SpanStore } from '../store/index.js';
import { modelStatsView, overviewMinutes, parseTraceId, traceQueryFrom, traceSpansView, traceSummaryView } from './views.js';

/**
 * Runs a synchronous query handler and maps what it throws to a gRPC status
 * at this edge (bad input INVALID_ARGUMENT, unknown trace NOT_FOUND).
 */
function unary<Req, Res>(logger: Logger, method: string, fn: (req: Req) => Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    try {
      callback(null, fn(call.request));
    } catch (err) {
      const error = InfermeshError.from(err);
      if (!(err instanceof InfermeshError)) logger.error('query failed', { method, err });
      callback(error.toServiceError() as ServiceError);
    }
  };
}

/** The `infermesh.monitor.v1.Monitor` handlers over a span store. */
export function createMonitorHandlers(store: SpanStore, logger: Logger): MonitorHandlers {
  return {
    SearchTraces: unary(logger, 'SearchTraces', (req) => ({ traces: store.search(traceQueryFrom(req)).map(traceSummaryView) })),
    GetTrace: unary(logger, 'GetTrace', (req) => {
      const id = parseTraceId(req.traceId);
      const detail = store.getTrace(id);
      if (!detail) throw notFound(`trace ${id} is not in the monitor (never received, or pruned by retention)`);
      return { spans: traceSpansView(detail) };
    }),
    ListServices: unary(logger, 'ListServices', () => ({ services: store.listServices() })),
    ListOperations: unary(logger, 'ListOperations', (req) => ({ operations: store.listOperations(req.service || undefined) })),
    ModelOverview: unary(logger, 'ModelOverview', (req) => {
      const minutes = overviewMinutes(req.windowMinutes);
      return { windowMinutes: minutes, models: store.modelOverview(minutes).map(modelStatsView) };
    }),
  };
}
