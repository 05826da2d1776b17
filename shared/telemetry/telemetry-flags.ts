import { Option, type Command } from 'commander';
import { MAX_TIMER_MS, parsePort } from '../flags/flag-values.js';
import { parseSampling, type TelemetryOptions } from './telemetry.js';

/**
 * The telemetry flags every infermesh process takes, with their environment
 * mirrors, parsed in one place:
 *
 * | flag | env | default |
 * | --- | --- | --- |
 * | `--otlp-endpoint HOST:PORT` | `OTEL_EXPORTER_OTLP_ENDPOINT` | the local monitor, `127.0.0.1:4317` |
 * | `--trace-sampling off\|RATIO` | `INFERMESH_TRACE_SAMPLING` | `0.01` (1% of new traces, parent-based) |
 * | `--metrics-port N` | `INFERMESH_METRICS_PORT` | none (no `/metrics` endpoint); `0` = a free port |
 * | `--trace-export-delay-ms MS` | `OTEL_BSP_SCHEDULE_DELAY` | 500 |
 */
export interface TelemetryFlags {
  otlpEndpoint?: string;
  traceSampling?: string;
  metricsPort?: string;
  traceExportDelayMs?: string;
}

/** The part of {@link TelemetryOptions} that comes from flags and environment. */
export type TelemetryFlagOptions = Pick<TelemetryOptions, 'otlpEndpoint' | 'samplingRatio' | 'metricsPort' | 'scheduledDelayMs'>;

/** Adds the telemetry flags (see {@link TelemetryFlags}) to a process's command. */
export function addTelemetryOptions(command: Command): Command {
  return command
    .addOption(new Option('--otlp-endpoint <host:port>', 'where spans go (OTLP/gRPC; default the monitor on 127.0.0.1:4317)').env('OTEL_EXPORTER_OTLP_ENDPOINT'))
    .addOption(new Option('--trace-sampling <ratio>', 'share of new traces sampled, parent-based: off, or 0..1 (default 0.01)').env('INFERMESH_TRACE_SAMPLING'))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus GET /metrics on this port (0 = a free port, printed as metrics=HOST:PORT); default: none').env('INFERMESH_METRICS_PORT'))
    .addOption(new Option('--trace-export-delay-ms <ms>', 'delay between span exports (default 500)').env('OTEL_BSP_SCHEDULE_DELAY'));
}

/** Validates the telemetry flags; throws an Error naming the bad flag and what it expects. */
export function parseTelemetryFlags(flags: TelemetryFlags): TelemetryFlagOptions {
  const out: TelemetryFlagOptions = {};
  const endpoint = flags.otlpEndpoint?.trim();
  if (endpoint) {
    if (!/^([a-z][a-z0-9+.-]*:\/\/)?(\[[0-9a-fA-F:]+\]|[^\s:/[\]]+):\d{1,5}\/?$/i.test(endpoint)) {
      throw new Error(`--otlp-endpoint must be HOST:PORT or http://HOST:PORT (OTLP/gRPC), got '${flags.otlpEndpoint}'`);
    }
    out.otlpEndpoint = endpoint;
  }
  if (given(flags.traceSampling)) {
    try {
      out.samplingRatio = parseSampling(flags.traceSampling);
    } catch {
      throw new Error(`--trace-sampling must be "off" or a number from 0 to 1, got '${flags.traceSampling}'`);
    }
  }
  if (given(flags.metricsPort)) out.metricsPort = parsePort(flags.metricsPort, '--metrics-port');
  if (given(flags.traceExportDelayMs)) {
    // Its own wording (not parsePositiveInt's): scripts and tests match "must be a positive integer".
    const ms = Number(flags.traceExportDelayMs);
    if (!/^\s*\d+\s*$/.test(flags.traceExportDelayMs) || ms < 1 || ms > MAX_TIMER_MS) {
      throw new Error(`--trace-export-delay-ms must be a positive integer (at most ${MAX_TIMER_MS}), got '${flags.traceExportDelayMs}'`);
    }
    out.scheduledDelayMs = ms;
  }
  return out;
}

/** Whether a flag has a value (an empty environment variable counts as not set). */
function given(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}
