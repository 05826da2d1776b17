import { credentials, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { InfermeshError, invalidArgument } from '../errors/index.js';
import { checkUint32, checkUint64 } from '../numbers/index.js';
import type { GetTraceResponse__Output } from '../generated/infermesh/monitor/v1/GetTraceResponse.js';
import type { MonitorClient as GrpcMonitorClient } from '../generated/infermesh/monitor/v1/Monitor.js';
import type { ModelOverviewResponse__Output } from '../generated/infermesh/monitor/v1/ModelOverviewResponse.js';
import type { SearchTracesRequest } from '../generated/infermesh/monitor/v1/SearchTracesRequest.js';
import type { SearchTracesResponse__Output } from '../generated/infermesh/monitor/v1/SearchTracesResponse.js';
import type { ProtoGrpcType } from '../generated/monitor.js';
import { loadProtos } from '../proto/index.js';

/** The monitor's address when neither a flag nor INFERMESH_MONITOR names one. */
export const DEFAULT_MONITOR_ADDRESS = '127.0.0.1:4317';

export interface MonitorClientOptions {
  /** Deadline of each call, in ms. Default 10000. */
  callTimeoutMs?: number;
}

/** A promise-based client of `infermesh.monitor.v1.Monitor`. Errors are InfermeshErrors with the call's status. */
export interface MonitorClient {
  searchTraces(request: SearchTracesRequest): Promise<SearchTracesResponse__Output>;
  getTrace(traceId: string): Promise<GetTraceResponse__Output>;
  listServices(): Promise<string[]>;
  listOperations(service?: string): Promise<string[]>;
  modelOverview(windowMinutes?: number): Promise<ModelOverviewResponse__Output>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

/** Connects to a monitor's gRPC port (`host:port`, insecure). */
export function createMonitorClient(address: string, options: MonitorClientOptions = {}): MonitorClient {
  const proto = loadProtos(['infermesh/monitor/v1/monitor.proto']) as unknown as ProtoGrpcType;
  const client: GrpcMonitorClient = new proto.infermesh.monitor.v1.Monitor(address, credentials.createInsecure());
  const timeoutMs = options.callTimeoutMs ?? 10_000;
  const callOptions = (): CallOptions => ({ deadline: Date.now() + timeoutMs });
  const call = <Req, Res>(method: (req: Req, opts: CallOptions, cb: (err: ServiceError | null, res?: Res) => void) => unknown, req: Req) =>
    new Promise<Res>((resolve, reject) =>
      method.call(client, req, callOptions(), (err, res) => (err ? reject(InfermeshError.from(err)) : resolve(res as Res))),
    );
  let closed = false;
  return {
    searchTraces: async (request) => call(client.SearchTraces, checkSearch(request)),
    getTrace: (traceId) => call(client.GetTrace, { traceId }),
    listServices: async () => (await call<object, { services: string[] }>(client.ListServices, {})).services,
    listOperations: async (service) => (await call<object, { operations: string[] }>(client.ListOperations, { service: service ?? '' })).operations,
    modelOverview: async (windowMinutes) => call(client.ModelOverview, { windowMinutes: checkUint32(windowMinutes ?? 0, 'windowMinutes') }),
    close() {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
}

/** The request's integers, range-checked before the encoder (which would wrap a uint32 silently). */
function checkSearch(request: SearchTracesRequest): SearchTracesRequest {
  checkUint32(request.limit ?? 0, 'limit');
  for (const field of ['startTimeUnixNano', 'endTimeUnixNano'] as const) {
    const v = request[field];
    if (typeof v === 'number') checkUint64(v, field);
    else if (typeof v === 'string' && !/^\d{1,19}$/.test(v)) throw invalidArgument(`${field} must be a whole number of nanoseconds, got '${v}'`);
  }
  return request;
}
