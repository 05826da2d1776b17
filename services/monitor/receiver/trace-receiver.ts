import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument, unavailable } from '../../../shared/errors/index.js';
import type { ExportTraceServiceRequest__Output } from '../../../shared/generated/opentelemetry/proto/collector/trace/v1/ExportTraceServiceRequest.js';
import type { ExportTraceServiceResponse } from '../../../shared/generated/opentelemetry/proto/collector/trace/v1/ExportTraceServiceResponse.js';
import type { ProtoGrpcType } from '../../../shared/generated/trace_service.js';
import type { Logger } from '../../../shared/logging/index.js';
import { loadProtos } from '../../../shared/proto/index.js';
import type { MonitorMetrics } from '../../../shared/telemetry/index.js';
import { decodeExport, type SpanStore } from '../store/index.js';

/** An export the receiver could not decode, handed from the deserializer to the handler. */
class UndecodableExport {
  constructor(
    readonly reason: 'oversized' | 'malformed',
    readonly message: string,
  ) {}
}

export interface TraceReceiverOptions {
  store: SpanStore;
  metrics: MonitorMetrics;
  logger: Logger;
  /** Exports larger than this many bytes are rejected with INVALID_ARGUMENT. */
  maxExportBytes: number;
}

/** How many rejection messages an error or partial-success message lists. */
const MESSAGES_SHOWN = 3;

/**
 * The OTLP/gRPC trace receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
 * Decoding happens in the handler (the service definition's deserializer only
 * checks the size and parses), so that an oversized or malformed message is
 * answered with INVALID_ARGUMENT and counted, rather than grpc-js's INTERNAL.
 * Invalid spans are dropped and reported through OTLP partial success; an
 * export without a single valid span is INVALID_ARGUMENT.
 */
export function createTraceReceiver(options: TraceReceiverOptions): { definition: ServiceDefinition; handlers: UntypedServiceImplementation } {
  const { store, metrics, logger, maxExportBytes } = options;
  const proto = loadProtos(['opentelemetry/proto/collector/trace/v1/trace_service.proto']) as unknown as ProtoGrpcType;
  const base = proto.opentelemetry.proto.collector.trace.v1.TraceService.service;
  const decode = base.Export.requestDeserialize;
  const definition: ServiceDefinition = {
    ...base,
    Export: {
      ...base.Export,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > maxExportBytes) {
          return new UndecodableExport('oversized', `export of ${bytes.length} bytes is larger than the monitor's limit of ${maxExportBytes} bytes`);
        }
        try {
          return decode(bytes);
        } catch (err) {
          return new UndecodableExport('malformed', `export is not a valid ExportTraceServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
    },
  };

  const reject = (callback: sendUnaryData<ExportTraceServiceResponse>, reason: string, message: string) => {
    metrics.spansRejectedTotal.inc({ reason });
    logger.warn('rejected an OTLP export', { reason, message });
    callback(invalidArgument(message).toServiceError());
  };

  const Export = (call: ServerUnaryCall<ExportTraceServiceRequest__Output | UndecodableExport, ExportTraceServiceResponse>, callback: sendUnaryData<ExportTraceServiceResponse>) => {
    const request = call.request;
    if (request instanceof UndecodableExport) return reject(callback, request.reason, request.message);
    let decoded;
    try {
      decoded = decodeExport(request);
    } catch (err) {
      return reject(callback, 'malformed', `export could not be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const r of decoded.rejected) metrics.spansRejectedTotal.inc({ reason: r.reason });
    const summary = decoded.rejected
      .slice(0, MESSAGES_SHOWN)
      .map((r) => r.message)
      .join('; ') + (decoded.rejected.length > MESSAGES_SHOWN ? `; and ${decoded.rejected.length - MESSAGES_SHOWN} more` : '');
    if (decoded.spans.length === 0 && decoded.rejected.length > 0) {
      logger.warn('rejected an OTLP export: no valid span', { rejected: decoded.rejected.length, summary });
      return callback(invalidArgument(`all ${decoded.rejected.length} spans are invalid: ${summary}`).toServiceError());
    }
    try {
      store.insert(decoded.spans);
    } catch (err) {
      // A storage failure (disk full, locked database) is transient for the
      // exporter: UNAVAILABLE makes OTLP exporters retry.
      logger.error('storing spans failed', { err, spans: decoded.spans.length });
      return callback(unavailable('the monitor could not store the spans; retry later', err).toServiceError());
    }
    if (decoded.rejected.length > 0) {
      logger.debug('accepted an OTLP export in part', { accepted: decoded.spans.length, rejected: decoded.rejected.length });
      return callback(null, { partialSuccess: { rejectedSpans: String(decoded.rejected.length), errorMessage: summary } });
    }
    callback(null, {});
  };
  return { definition, handlers: { Export } };
}
