import { invalidArgument } from '../errors/index.js';
import { createRpcClient, type RpcCallOptions, type RpcClientOptions, type UnaryMethod } from '../rpc/index.js';
import { withClientToken, type ClientTokenOption } from '../auth/index.js';
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

/** Options of {@link createMonitorClient}: those of every infermesh client (see RpcClientOptions) but the deadline's name. */
export interface MonitorClientOptions extends Omit<RpcClientOptions, 'timeoutMs'>, ClientTokenOption {
  /** Deadline of each call that sets no `timeoutMs`, in ms. Default 10000. */
  callTimeoutMs?: number;
}

/** Per-call options (deadline, AbortSignal, metadata). */
export type MonitorCallOptions = RpcCallOptions;

/** A promise-based client of `infermesh.monitor.v1.Monitor`. Errors are InfermeshErrors with the call's status. */
export interface MonitorClient {
  searchTraces(request: SearchTracesRequest, options?: MonitorCallOptions): Promise<SearchTracesResponse__Output>;
  getTrace(traceId: string, options?: MonitorCallOptions): Promise<GetTraceResponse__Output>;
  listServices(options?: MonitorCallOptions): Promise<string[]>;
  listOperations(service?: string, options?: MonitorCallOptions): Promise<string[]>;
  modelOverview(windowMinutes?: number, options?: MonitorCallOptions): Promise<ModelOverviewResponse__Output>;
  /** Ground truth for past predictions (at most 10000 items a call); one result per item. */
  submitFeedback(items: Feedback[], options?: MonitorCallOptions): Promise<SubmitFeedbackResponse__Output>;
  /** Drift, quality and history per version of a model (NOT_FOUND when the monitor has no records of it). */
  modelHealth(model: string, options?: { version?: string; points?: number } & MonitorCallOptions): Promise<GetModelHealthResponse__Output>;
  listAlerts(request?: ListAlertsRequest, options?: MonitorCallOptions): Promise<Alert__Output[]>;
  /** Reference data for a version's input features; resolves with how many features the monitor took. */
  setReference(request: SetReferenceRequest, options?: MonitorCallOptions): Promise<number>;
  /** Closes the channel. Idempotent. */
  close(): void;
}

/** Connects to a monitor's gRPC port (`host:port`; insecure unless `credentials` say otherwise). */
export function createMonitorClient(address: string, options: MonitorClientOptions = {}): MonitorClient {
  const proto = loadProtos(['infermesh/monitor/v1/monitor.proto']) as unknown as ProtoGrpcType;
  const { callTimeoutMs, ...rest } = options;
  const rpc = createRpcClient<GrpcMonitorClient>(proto.infermesh.monitor.v1.Monitor, 'infermesh.monitor.v1.Monitor', address, { ...withClientToken(rest), timeoutMs: callTimeoutMs ?? 10_000 });
  const client = rpc.stub;
  /** Every Monitor call but SubmitFeedback and SetReference only reads. */
  const call = <Req, Res>(name: string, method: unknown, req: Req, o: MonitorCallOptions | undefined, idempotent = true) =>
    rpc.unary(name, method as UnaryMethod<Req, Res>, req, o, { idempotent });
  return {
    searchTraces: async (request, o) => call('SearchTraces', client.SearchTraces, checkSearch(request), o),
    getTrace: (traceId, o) => call('GetTrace', client.GetTrace, { traceId }, o),
    listServices: async (o) => (await call<object, { services: string[] }>('ListServices', client.ListServices, {}, o)).services,
    listOperations: async (service, o) => (await call<object, { operations: string[] }>('ListOperations', client.ListOperations, { service: service ?? '' }, o)).operations,
    modelOverview: async (windowMinutes, o) => call('ModelOverview', client.ModelOverview, { windowMinutes: checkUint32(windowMinutes ?? 0, 'windowMinutes') }, o),
    submitFeedback: (items, o) => call('SubmitFeedback', client.SubmitFeedback, { items }, o, false),
    modelHealth: async (model, o = {}) =>
      call('GetModelHealth', client.GetModelHealth, { model, version: o.version ?? '', points: checkUint32(o.points ?? 0, 'points') }, callOptionsOf(o)),
    setReference: async (request, o) => (await call<SetReferenceRequest, { features: number }>('SetReference', client.SetReference, request, o, false)).features,
    listAlerts: async (request = {}, o) => (await call<ListAlertsRequest, { alerts: Alert__Output[] }>('ListAlerts', client.ListAlerts, request, o)).alerts,
    close: rpc.close,
  };
}

/** The call options among modelHealth's options. */
function callOptionsOf(o: MonitorCallOptions): MonitorCallOptions {
  return { ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.signal ? { signal: o.signal } : {}), ...(o.metadata ? { metadata: o.metadata } : {}) };
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
