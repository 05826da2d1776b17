import { context as contextApi, INVALID_SPANID, INVALID_TRACEID, trace, TraceFlags, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  SamplingDecision,
  type BufferConfig,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { invalidArgument } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { createMetricGroups, type MetricGroups } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { spanProcessorMeterProvider } from './span-processor-metrics.js';
import { WorkerSpanProcessor } from './worker-span-processor.js';
import { MAX_EXPORTED_ATTRIBUTE_CHARS } from './client-attributes.js';
import { RandomIds, SAMPLING_DECIDED_KEY } from './request-sampling.js';
import type { ExportTls } from './span-export-protocol.js';
import type { ServerOptions as HttpsServerOptions } from 'node:https';

/** Where spans go when neither the options nor the environment say: the monitor on this machine. */
export const DEFAULT_OTLP_ENDPOINT = 'http://127.0.0.1:4317';

/** Defaults of {@link TelemetryOptions}, resolved once in {@link createTelemetry}. */
export const DEFAULT_TELEMETRY_OPTIONS = {
  /** Production default: parent-based, 1% of new traces (OpenTelemetry's ratio sampler). */
  samplingRatio: 0.01,
  metricsHost: '127.0.0.1',
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMs: 500,
  exportTimeoutMs: 2000,
  defaultMetrics: true,
} as const;

export interface TelemetryOptions {
  /** `service.name` on every span (e.g. `inference`, `registry`). */
  serviceName: string;
  /**
   * OTLP/gRPC endpoint, `http://host:port` or `host:port`. Default: env
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`,
   * then the local monitor at {@link DEFAULT_OTLP_ENDPOINT}.
   */
  otlpEndpoint?: string;
  /**
   * Fraction of new traces to sample, 0..1, parent-based (a sampled or
   * unsampled parent decides for its children); `'off'` disables tracing
   * entirely (spans are non-recording, nothing is exported). Default: env
   * `INFERMESH_TRACE_SAMPLING` (`off` or a number), else 0.01 (1%).
   */
  samplingRatio?: number | 'off';
  /** Port of the Prometheus `GET /metrics` endpoint; 0 = a free port; undefined = no endpoint. */
  metricsPort?: number;
  /** Host the metrics endpoint binds. Default `127.0.0.1`. */
  metricsHost?: string;
  /** Serve `/metrics` over HTTPS with this certificate (and client CA: mTLS), e.g. shared/tls `httpsServerOptions`. Default: plain HTTP. */
  metricsHttps?: HttpsServerOptions;
  /** TLS of an `https://` OTLP endpoint: PEM CA to trust (else the system roots), client certificate and key (mTLS). Default: none. */
  exportTls?: ExportTls;
  /** The service's token (INFERMESH_TOKEN), sent on every span export: a monitor with --auth takes any valid token. Default: none. */
  exportToken?: string;
  /**
   * Span exporter to use instead of OTLP/gRPC (e.g. an InMemorySpanExporter in
   * tests); it runs on this thread behind the SDK's BatchSpanProcessor. Without
   * one, spans go to `otlpEndpoint` from a worker thread (WorkerSpanProcessor).
   */
  exporter?: SpanExporter;
  logger?: Logger;
  /** Extra resource attributes (e.g. `service.instance.id`). */
  resourceAttributes?: Attributes;
  /** Spans waiting for export at most; further spans are dropped and counted. Default 2048. */
  maxQueueSize?: number;
  /** Spans per export call at most. Default 512. */
  maxExportBatchSize?: number;
  /** Delay between exports, in ms. Default 500. */
  scheduledDelayMs?: number;
  /** How long one export may take before it is abandoned, in ms. Default 2000. */
  exportTimeoutMs?: number;
  /** While the OTLP endpoint is down (an export failed), how often it is probed, in ms; spans are dropped meanwhile. Default 5000. */
  exportProbeIntervalMs?: number;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop). Default true. */
  defaultMetrics?: boolean;
  /** Environment to read the defaults from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** One process's tracing and metrics. */
export interface Telemetry {
  readonly serviceName: string;
  /** The tracer every component of the process starts spans with. */
  readonly tracer: Tracer;
  readonly tracerProvider: BasicTracerProvider;
  /** This process's Prometheus registry (served on `metricsAddress`). */
  readonly registry: Registry;
  /** The project's metric instruments (see metrics.ts), created in `registry` on first use. */
  readonly metrics: MetricGroups;
  /** `host:port` of the `/metrics` endpoint, when one was asked for. */
  readonly metricsAddress: string | undefined;
  /** The resolved sampling: a ratio in 0..1, or `'off'`. */
  readonly sampling: number | 'off';
  /** The OTLP endpoint spans go to (undefined when an exporter was injected or tracing is off). */
  readonly otlpEndpoint: string | undefined;
  /** Exports every span ended so far (bounded by the export timeout). */
  forceFlush(): Promise<void>;
  /** Flushes, stops exporting and closes the metrics endpoint. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Parses a sampling setting (`off`, or a number in 0..1) as given in
 * `INFERMESH_TRACE_SAMPLING` or a `--trace-sampling` flag.
 */
export function parseSampling(value: string): number | 'off' {
  const text = value.trim().toLowerCase();
  if (text === 'off' || text === 'none' || text === 'false') return 'off';
  const ratio = Number(text);
  if (text === '' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw invalidArgument(`trace sampling must be "off" or a number from 0 to 1, got "${value}"`);
  }
  return ratio;
}

/** Normalizes an OTLP endpoint to the `http://host:port` form the gRPC exporter takes. */
export function normalizeOtlpEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

let contextManagerInstalled = false;

/**
 * Spans started with `tracer.startActiveSpan` or `context.with` need an async
 * context manager; it is process-wide by nature, so it is installed once, the
 * first time any telemetry is created (and kept when another one is present).
 */
function ensureContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = true;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!contextApi.setGlobalContextManager(manager)) manager.disable();
}

const SAMPLE: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROP: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/**
 * The SDK's ParentBasedSampler around a TraceIdRatioBasedSampler, in one step
 * and without allocating: a valid parent (remote or local) decides by its
 * sampled flag; a root is sampled when the low 32 bits of its (random) trace
 * id fall under `ratio`, so every process decides alike for one trace id. A
 * root whose parent context says the decision was made already
 * (request-sampling.ts: the inference node decides at request entry, the
 * model's own rate included) is sampled. It runs for every span, so it is
 * kept cheap.
 */
class ParentBasedRatioSampler implements Sampler {
  readonly #ratio: number;
  readonly #bound: number;

  constructor(ratio: number) {
    this.#ratio = ratio;
    this.#bound = ratio * 0x1_0000_0000;
  }

  shouldSample(ctx: Context, traceId: string): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    // Valid unless it is the API's invalid context: every id in a context was made by an id
    // generator or checked by the propagator, so the regex checks of isSpanContextValid are skipped.
    if (parent && parent.traceId !== INVALID_TRACEID && parent.spanId !== INVALID_SPANID) return parent.traceFlags & TraceFlags.SAMPLED ? SAMPLE : DROP;
    if (this.#ratio >= 1 || ctx.getValue(SAMPLING_DECIDED_KEY) === true) return SAMPLE;
    if (this.#ratio <= 0) return DROP;
    return parseInt(traceId.slice(-8), 16) < this.#bound ? SAMPLE : DROP;
  }

  toString(): string {
    return `ParentBasedRatioSampler{${this.#ratio}}`;
  }
}

function samplerFor(sampling: number | 'off'): Sampler {
  return sampling === 'off' ? new AlwaysOffSampler() : new ParentBasedRatioSampler(sampling);
}

/**
 * Sets up one process's telemetry: a tracer provider whose sampled spans are
 * exported by OTLP/gRPC from a worker thread (WorkerSpanProcessor: bounded,
 * with a short timeout and no retries, so a monitor that is down never slows
 * or fails the program: spans are dropped and counted instead, and nothing is
 * sent until a probe finds the endpoint answering), a parent-based ratio
 * sampler (1% of new traces by default), and a
 * Prometheus registry with the project's instruments, optionally served on
 * `GET /metrics`. It does not register global tracer providers or propagators;
 * pass `tracer` to the components that trace.
 */
export async function createTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const logger = (options.logger ?? silentLogger).child({ component: 'telemetry' });
  const sampling =
    options.samplingRatio ??
    (env.INFERMESH_TRACE_SAMPLING ? parseSampling(env.INFERMESH_TRACE_SAMPLING) : DEFAULT_TELEMETRY_OPTIONS.samplingRatio);
  if (sampling !== 'off' && !(sampling >= 0 && sampling <= 1)) {
    throw invalidArgument(`samplingRatio must be "off" or a number from 0 to 1, got ${sampling}`);
  }
  const otlpEndpoint =
    options.exporter || sampling === 'off'
      ? undefined
      : normalizeOtlpEndpoint(options.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT);
  const exportTimeoutMs = options.exportTimeoutMs ?? DEFAULT_TELEMETRY_OPTIONS.exportTimeoutMs;

  const registry = new Registry();
  if (options.defaultMetrics ?? DEFAULT_TELEMETRY_OPTIONS.defaultMetrics) collectDefaultMetrics({ register: registry });
  const metrics = createMetricGroups(registry);

  ensureContextManager();
  const spanProcessors: SpanProcessor[] = [];
  const maxQueueSize = options.maxQueueSize ?? DEFAULT_TELEMETRY_OPTIONS.maxQueueSize;
  const maxExportBatchSize = options.maxExportBatchSize ?? DEFAULT_TELEMETRY_OPTIONS.maxExportBatchSize;
  const scheduledDelayMs = options.scheduledDelayMs ?? DEFAULT_TELEMETRY_OPTIONS.scheduledDelayMs;
  if (sampling !== 'off' && options.exporter) {
    const config: BufferConfig & { selfObsMeterProvider: ReturnType<typeof spanProcessorMeterProvider> } = {
      maxQueueSize,
      maxExportBatchSize,
      scheduledDelayMillis: scheduledDelayMs,
      exportTimeoutMillis: exportTimeoutMs,
      // The SDK's self-observability hook (sdk-trace's BatchSpanProcessorOptions):
      // how dropped, exported and failed spans reach our Prometheus counters.
      selfObsMeterProvider: spanProcessorMeterProvider(metrics.telemetry, logger),
    };
    spanProcessors.push(new BatchSpanProcessor(options.exporter, config));
  } else if (sampling !== 'off') {
    spanProcessors.push(
      new WorkerSpanProcessor({
        endpoint: otlpEndpoint!,
        metrics: metrics.telemetry,
        logger,
        maxQueueSize,
        maxExportBatchSize,
        scheduledDelayMs,
        exportTimeoutMs,
        ...(options.exportTls ? { tls: options.exportTls } : {}),
        ...(options.exportToken ? { token: options.exportToken } : {}),
        ...(options.exportProbeIntervalMs !== undefined ? { probeIntervalMs: options.exportProbeIntervalMs } : {}),
      }),
    );
  }
  const tracerProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'process.pid': process.pid, ...options.resourceAttributes }),
    sampler: samplerFor(sampling),
    // Ids from a pool of random bytes (request-sampling.ts): cheaper per span than the SDK's own generator.
    idGenerator: new RandomIds(),
    spanProcessors,
    // The backstop: no exported string attribute (events' included) is longer, whoever set it.
    spanLimits: { attributeValueLengthLimit: MAX_EXPORTED_ATTRIBUTE_CHARS },
  });
  const tracer = tracerProvider.getTracer('infermesh');

  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort !== undefined) {
    metricsServer = await startMetricsServer(registry, options.metricsPort, options.metricsHost ?? DEFAULT_TELEMETRY_OPTIONS.metricsHost, logger, options.metricsHttps);
  }
  logger.debug('telemetry ready', { sampling, otlpEndpoint, metrics: metricsServer?.address });

  let shutdownPromise: Promise<void> | undefined;
  return {
    serviceName: options.serviceName,
    tracer,
    tracerProvider,
    registry,
    metrics,
    metricsAddress: metricsServer?.address,
    sampling,
    otlpEndpoint,
    async forceFlush() {
      // A failed flush (collector down) is already counted; it must not fail the caller.
      await tracerProvider.forceFlush().catch((err: unknown) => logger.debug('span flush failed', { err }));
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        await tracerProvider.shutdown().catch((err: unknown) => logger.debug('tracer shutdown failed', { err }));
        await metricsServer?.close();
      })();
      return shutdownPromise;
    },
  };
}
