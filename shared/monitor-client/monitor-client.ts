import { credentials, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { InfermeshError, invalidArgument } from '../errors/index.js';
import { checkUint32, checkUint64 } from '../numbers/index.js';
import type { GetTraceResponse__Output } from '../generated/infermesh/monitor/v1/GetTraceResponse.js';
import type { MonitorClient as GrpcMonitorClient } from '../generated/infermesh/monitor/v1/Monitor.js';
import type { ModelOverviewResponse__Output } from '../generated/infermesh/monitor/v1/ModelOverviewResponse.js';
import type { SearchTracesRequest } from '../generated/infermesh/monitor/v1/SearchTracesRequest.js';
import type { SearchTracesResponse__Output } from '../generated/infermesh/monitor/v1/SearchTracesResponse.js';
import type { ProtoGrpcType } from '../generated/monitor.js';
import type { Feedback } from '../generated/infermesh/events/v1/Feedback.js';
import type { SubmitFeedbackResponse__Output } from '../generated/infermesh/monitor/v1/SubmitFeedbackResponse.js';
import type { GetModelHealthResponse__Output } from '../generated/infermesh/monitor/v1/GetModelHealthResponse.js';
import type { SetReferenceRequest } from '../generated/infermesh/monitor/v1/SetReferenceRequest.js';
import type { ListAlertsRequest } from '../generated/infermesh/monitor/v1/ListAlertsRequest.js';
import type { Alert__Output } from '../generated/infermesh/events/v1/Alert.js';
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
  /** Ground truth for past predictions (at most 10000 items a call); one result per item. */
  submitFeedback(items: Feedback[]): Promise<SubmitFeedbackResponse__Output>;
  /** Drift, quality and history per version of a model (NOT_FOUND when the monitor has no records of it). */
  modelHealth(model: string, options?: { version?: string; points?: number }): Promise<GetModelHealthResponse__Output>;
  listAlerts(request?: ListAlertsRequest): Promise<Alert__Output[]>;
  /** Reference data for a version's input features; resolves with how many features the monitor took. */
  setReference(request: SetReferenceRequest): Promise<number>;
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
    submitFeedback: (items) => call(client.SubmitFeedback, { items }),
    modelHealth: async (model, o = {}) => call(client.GetModelHealth, { model, version: o.version ?? '', points: checkUint32(o.points ?? 0, 'points') }),
    setReference: async (request) => (await call<SetReferenceRequest, { features: number }>(client.SetReference, request)).features,
    listAlerts: async (request = {}) => (await call<ListAlertsRequest, { alerts: Alert__Output[] }>(client.ListAlerts, request)).alerts,
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
