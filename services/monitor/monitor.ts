import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { ProtoGrpcType } from '../../shared/generated/monitor.js';
import { silentLogger, type Logger } from '../../shared/logging/index.js';
import { loadProtos } from '../../shared/proto/index.js';
import { createTelemetry, type MonitorMetrics } from '../../shared/telemetry/index.js';
import type { Registry } from 'prom-client';
import { createMonitorHandlers } from './api/monitor-service.js';
import { startWebServer, type WebServer } from './http/web-server.js';
import { createTraceReceiver } from './receiver/trace-receiver.js';
import { createSpanStore, type SpanStore, type SpanStoreOptions } from './store/index.js';
import { addStandardServices, createRpcServer, type Authenticate } from '../../shared/rpc/index.js';
import { createRpcAuthenticate, followRevocations, type TokenVerifier } from '../../shared/auth/index.js';
import { MONITOR_SCOPE_TABLES } from './monitor-scopes.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { createHealthEngine, createHealthStore, createRegistryReferenceFetcher, type HealthEngine, type HealthEngineOptions, type HealthStore, type HealthStoreOptions } from './health/index.js';

/** Defaults of {@link MonitorOptions}. */
export const DEFAULT_MONITOR_OPTIONS = {
  host: '127.0.0.1',
  /** The OTLP/gRPC port every OpenTelemetry exporter sends to by default. */
  grpcPort: 4317,
  /** The web page's port (Jaeger's UI port, familiar to operators). */
  httpPort: 16686,
  maxExportBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 5000,
} as const;

export interface MonitorOptions {
  /** Interface both servers bind. Default 127.0.0.1 (0.0.0.0 in a deployment). */
  host?: string;
  /** OTLP receiver and Monitor API port; 0 = a free port. Default 4317. */
  grpcPort?: number;
  /** Web page and JSON API port; 0 = a free port. Default 16686. */
  httpPort?: number;
  /** Host names the web page may be reached by besides IP literals, loopback names and `host` (DNS rebinding protection). Default none. */
  allowedHosts?: readonly string[];
  /** Folder of the span database; undefined keeps spans in memory. */
  dataDir?: string;
  /** Retention and store options (maxAgeMs, maxSpans, maxBytes, pruneIntervalMs). */
  retention?: Omit<SpanStoreOptions, 'dataDir' | 'logger' | 'metrics' | 'now'>;
  /** OTLP exports larger than this are rejected with INVALID_ARGUMENT. Default 8 MiB. */
  maxExportBytes?: number;
  /** Wall clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  /**
   * NATS with JetStream (the caller's connection; the monitor does not close
   * it): the model-health engine consumes PREDICTIONS and FEEDBACK and
   * publishes ALERTS there. Without it the engine answers from its store and
   * SubmitFeedback only.
   */
  nc?: NatsConnection;
  /** Model-health engine options (windows, reference size, rules, evaluation period). */
  health?: Omit<HealthEngineOptions, 'store' | 'spans' | 'nc' | 'registry' | 'logger' | 'now'>;
  /**
   * The registry (`host:port`): a version's reference profile given at
   * registration is asked from it (GetReference) when the version's first
   * record arrives. Default: none (references from SetReference or first records).
   */
  registryAddress?: string;
  /** Retention of the health store (records, feedback, history). */
  healthRetention?: Omit<HealthStoreOptions, 'dataDir' | 'now'>;
  /** gRPC server credentials. Default: insecure. */
  credentials?: ServerCredentials;
  /** The web page over HTTPS (shared/tls `httpsServerOptions`). Default: plain HTTP. */
  https?: HttpsServerOptions;
  /** Channel credentials of the calls to the registry (TLS, mTLS). Default: insecure. */
  registryCredentials?: ChannelCredentials;
  /** Runs before every OTLP export and Monitor call (not health or reflection). Default: none (or the hook `auth` makes). */
  authenticate?: Authenticate;
  /**
   * Enforce tokens on the gRPC port (`--auth`): `verifier` holds the
   * registry's public key; scopes as MONITOR_METHOD_SCOPES say (OTLP Export:
   * any valid token). Revocations are followed on `nc`. `token` is the
   * monitor's own, for its registry calls (INFERMESH_TOKEN). Default: off.
   */
  auth?: { verifier: TokenVerifier; token?: string };
}

export interface Monitor {
  /** `host:port` of the OTLP receiver and the Monitor API. */
  readonly grpcAddress: string;
  /** `host:port` of the web page. */
  readonly httpAddress: string;
  readonly store: SpanStore;
  /** The monitor's own Prometheus registry (served on the web port's /metrics). */
  readonly registry: Registry;
  readonly metrics: MonitorMetrics;
  /** Drift, quality and alerts per model version. */
  readonly health: HealthEngine;
  readonly healthStore: HealthStore;
  /** Stops receiving (calls in flight get `drainTimeoutMs`), then closes the web server and the store. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * Starts the monitor: the OTLP/gRPC trace receiver and the
 * `infermesh.monitor.v1.Monitor` API on one gRPC port, the span store, and
 * the operators' web page on an HTTP port. The monitor does not trace itself
 * (its spans would loop back into it); it has metrics only.
 */
export async function startMonitor(options: MonitorOptions = {}): Promise<Monitor> {
  const host = options.host ?? DEFAULT_MONITOR_OPTIONS.host;
  const maxExportBytes = options.maxExportBytes ?? DEFAULT_MONITOR_OPTIONS.maxExportBytes;
  const logger = (options.logger ?? silentLogger).child({ component: 'monitor' });
  const telemetry = await createTelemetry({ serviceName: 'monitor', samplingRatio: 'off', logger });
  const metrics = telemetry.metrics.monitor;
  const store = createSpanStore({ ...options.retention, dataDir: options.dataDir, logger, metrics, now: options.now });
  const healthStore = createHealthStore({ ...options.healthRetention, dataDir: options.dataDir, ...(options.now ? { now: options.now } : {}) });
  const registryClient = options.registryAddress
    ? createRegistryClient(options.registryAddress, {
        ...(options.registryCredentials ? { credentials: options.registryCredentials } : {}),
        ...(options.auth?.token ? { token: options.auth.token } : {}),
      })
    : undefined;
  const revocations = options.auth && options.nc ? followRevocations({ nc: options.nc, verifier: options.auth.verifier, logger: logger.child({ component: 'auth' }) }) : undefined;
  const authenticate = options.authenticate ?? (options.auth ? createRpcAuthenticate({ verifier: options.auth.verifier, tables: MONITOR_SCOPE_TABLES }) : undefined);
  const health = createHealthEngine({
    ...(registryClient ? { referenceFetcher: createRegistryReferenceFetcher(registryClient) } : {}),
    ...options.health,
    store: healthStore,
    spans: store,
    registry: telemetry.registry,
    logger: logger.child({ component: 'health' }),
    ...(options.nc ? { nc: options.nc } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  // Above maxExportBytes the receiver answers INVALID_ARGUMENT itself; grpc-js's
  // own cap (RESOURCE_EXHAUSTED) only stops messages far beyond it.
  const rpc = createRpcServer({
    channelOptions: { 'grpc.max_receive_message_length': Math.max(maxExportBytes * 4, 64 * 1024 * 1024) },
    logger,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(authenticate ? { authenticate } : {}),
  });
  const receiver = createTraceReceiver({ store, metrics, logger, maxExportBytes });
  rpc.addService(receiver.definition, receiver.handlers);
  const proto = loadProtos(['infermesh/monitor/v1/monitor.proto']) as unknown as ProtoGrpcType;
  rpc.addService(proto.infermesh.monitor.v1.Monitor.service, createMonitorHandlers(store, logger, health));
  // grpc.health.v1 (service readiness), not to be confused with `health`, the model-health engine.
  const grpcHealth = addStandardServices(rpc.server, {
    protoFiles: ['infermesh/monitor/v1/monitor.proto', 'opentelemetry/proto/collector/trace/v1/trace_service.proto'],
    services: ['infermesh.monitor.v1.Monitor', 'opentelemetry.proto.collector.trace.v1.TraceService'],
  });

  let web: WebServer | undefined;
  let grpcPort: number;
  try {
    grpcPort = await rpc.bind(host, options.grpcPort ?? DEFAULT_MONITOR_OPTIONS.grpcPort);
    web = await startWebServer({ store, health, registry: telemetry.registry, logger, host, port: options.httpPort ?? DEFAULT_MONITOR_OPTIONS.httpPort, now: options.now, ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}), ...(options.https ? { https: options.https } : {}), ...(options.auth ? { auth: { verifier: options.auth.verifier } } : {}) });
    await health.start();
  } catch (err) {
    rpc.server.forceShutdown();
    await revocations?.close();
    await web?.close();
    await health.close();
    registryClient?.close();
    healthStore.close();
    store.close();
    await telemetry.shutdown();
    throw err;
  }
  const webServer = web;
  grpcHealth.set('SERVING');

  let closing: Promise<void> | undefined;
  return {
    grpcAddress: `${host}:${grpcPort}`,
    httpAddress: webServer.address,
    store,
    registry: telemetry.registry,
    metrics,
    health,
    healthStore,
    close({ drainTimeoutMs = DEFAULT_MONITOR_OPTIONS.drainTimeoutMs } = {}) {
      closing ??= (async () => {
        grpcHealth.close();
        await rpc.shutdown(drainTimeoutMs);
        await revocations?.close();
        await webServer.close();
        await health.close();
        registryClient?.close();
        healthStore.close();
        store.close();
        await telemetry.shutdown();
      })();
      return closing;
    },
  };
}
