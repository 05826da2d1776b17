import { status as GrpcStatus, type Server, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';

/** The fully-qualified name of the standard gRPC health service. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** What a process tells its health checkers: ready for traffic, or not (starting, warming up, draining). */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Defaults of {@link HealthServiceOptions}. */
export const DEFAULT_HEALTH_SERVICE_OPTIONS = {
  initialStatus: 'NOT_SERVING' as ServingStatus,
  /** Open Watch streams at most; more get RESOURCE_EXHAUSTED (each one holds a write callback). */
  maxWatchers: 1000,
} as const;

/** Options of {@link addHealthService}. */
export interface HealthServiceOptions {
  /**
   * The fully-qualified names of the services the server hosts (e.g.
   * `inference.GRPCInferenceService`). Each answers Check with the process's
   * status, and so does the empty name (the whole server).
   */
  services: readonly string[];
  /** Status until the first set(). Default NOT_SERVING: readiness is earned, not assumed. */
  initialStatus?: ServingStatus;
  /** Default 1000. */
  maxWatchers?: number;
}

/** The process's side of `grpc.health.v1.Health`. */
export interface HealthService {
  readonly status: ServingStatus;
  /** Sets the status of the server and of every service it hosts; Watch streams hear of a change at once. */
  set(status: ServingStatus): void;
  /**
   * Turns NOT_SERVING, tells every watcher, then ends their streams (OK), so
   * that a graceful shutdown is not held up by Watch calls that never end by
   * themselves; later Watch calls get UNAVAILABLE. Idempotent.
   */
  close(): void;
}

type HealthStatusName = ServingStatus | 'SERVICE_UNKNOWN';

/**
 * Adds the standard gRPC health service (Check, Watch, List) to `server`, in
 * the shape Kubernetes' gRPC probes, grpc_health_probe and grpcurl expect.
 * The service definition is the one the grpc-node team ships in
 * grpc-health-check; the implementation is ours because theirs keeps an
 * unbounded set of watchers and cannot end them at shutdown.
 */
export function addHealthService(server: Pick<Server, 'addService'>, options: HealthServiceOptions): HealthService {
  const maxWatchers = options.maxWatchers ?? DEFAULT_HEALTH_SERVICE_OPTIONS.maxWatchers;
  const known = new Set(['', ...options.services]);
  const watchers = new Set<{ service: string; call: ServerWritableStream<{ service: string }, { status: HealthStatusName }> }>();
  let status: ServingStatus = options.initialStatus ?? DEFAULT_HEALTH_SERVICE_OPTIONS.initialStatus;
  let closed = false;

  const statusOf = (service: string): HealthStatusName | undefined => (known.has(service) ? status : undefined);

  server.addService(healthServiceDefinition, {
    check(call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<{ status: HealthStatusName }>) {
      const current = statusOf(call.request.service);
      if (current === undefined) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `health: unknown service '${call.request.service}' (known: ${[...known].filter(Boolean).join(', ')})` });
        return;
      }
      callback(null, { status: current });
    },
    watch(call: ServerWritableStream<{ service: string }, { status: HealthStatusName }>) {
      if (closed) {
        call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'health: the server is shutting down' });
        return;
      }
      if (watchers.size >= maxWatchers) {
        call.emit('error', { code: GrpcStatus.RESOURCE_EXHAUSTED, details: `health: more than ${maxWatchers} Watch streams are open` });
        return;
      }
      const watcher = { service: call.request.service, call };
      watchers.add(watcher);
      call.on('cancelled', () => watchers.delete(watcher));
      call.write({ status: statusOf(watcher.service) ?? 'SERVICE_UNKNOWN' });
    },
    list(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ statuses: Record<string, { status: ServingStatus }> }>) {
      callback(null, { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) });
    },
  });

  const set = (next: ServingStatus) => {
    if (closed || next === status) return;
    status = next;
    for (const { service, call } of watchers) if (known.has(service)) call.write({ status });
  };
  return {
    get status() {
      return status;
    },
    set,
    close() {
      if (closed) return;
      set('NOT_SERVING');
      closed = true;
      for (const { call } of watchers) call.end();
      watchers.clear();
    },
  };
}
