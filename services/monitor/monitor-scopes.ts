import { scopeTable, type MethodScopes } from '../../shared/auth/index.js';

/**
 * What each infermesh.monitor.v1.Monitor method requires when the monitor
 * enforces tokens: reads of traces and model health `traces:read`, ground
 * truth `feedback:write`, reference data `models:write`.
 */
export const MONITOR_METHOD_SCOPES: MethodScopes = {
  SearchTraces: 'traces:read',
  GetTrace: 'traces:read',
  ListServices: 'traces:read',
  ListOperations: 'traces:read',
  ModelOverview: 'traces:read',
  GetModelHealth: 'traces:read',
  ListAlerts: 'traces:read',
  SubmitFeedback: 'feedback:write',
  SetReference: 'models:write',
};

/** OTLP trace export: any valid token (every service exports its own spans with its own token). */
export const OTLP_METHOD_SCOPES: MethodScopes = { Export: 'authenticated' };

/** The scope tables of the monitor's gRPC port: the Monitor API and the OTLP receiver. */
export const MONITOR_SCOPE_TABLES = [
  scopeTable('infermesh.monitor.v1.Monitor', MONITOR_METHOD_SCOPES),
  scopeTable('opentelemetry.proto.collector.trace.v1.TraceService', OTLP_METHOD_SCOPES),
] as const;
