import { Command, Option } from 'commander';
import type { SearchTracesRequest } from '../../../shared/generated/infermesh/monitor/v1/SearchTracesRequest.js';
import { createMonitorClient, DEFAULT_MONITOR_ADDRESS } from '../../../shared/monitor-client/index.js';
import { clientCredentialsOption, withTlsExplained } from '../../../shared/flags/index.js';
import { parseTraceId } from '../api/views.js';
import { parseIntFlag, runCliAction } from './flags.js';
import { renderTrace, renderTraceList } from './render.js';

interface ListFlags {
  service?: string;
  operation?: string;
  model?: string;
  modelVersion?: string;
  status?: string;
  minDurationMs?: string;
  lookbackMinutes?: string;
  attr: string[];
  limit: string;
  slowest?: boolean;
  json?: boolean;
  monitor: string;
}

/** Validates `infermesh traces list` flags into a SearchTraces request. */
export function parseListFlags(flags: ListFlags, nowMs = Date.now()): SearchTracesRequest {
  if (flags.status && flags.status !== 'ok' && flags.status !== 'error') throw new Error(`--status must be ok or error, got '${flags.status}'`);
  const minDurationMs = flags.minDurationMs === undefined ? 0 : Number(flags.minDurationMs);
  if (!Number.isFinite(minDurationMs) || minDurationMs < 0) throw new Error(`--min-duration-ms must be a number >= 0, got '${flags.minDurationMs}'`);
  const lookback = flags.lookbackMinutes === undefined ? 0 : parseIntFlag(flags.lookbackMinutes, '--lookback-minutes', 1);
  return {
    service: flags.service ?? '',
    operation: flags.operation ?? '',
    model: flags.model ?? '',
    version: flags.modelVersion ?? '',
    status: flags.status === 'error' ? 'STATUS_FILTER_ERROR' : flags.status === 'ok' ? 'STATUS_FILTER_OK' : 'STATUS_FILTER_ANY',
    minDurationMs,
    startTimeUnixNano: lookback ? (BigInt(nowMs - lookback * 60_000) * 1_000_000n).toString() : '0',
    attributes: flags.attr.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--attr must be key=value, got '${pair}'`);
      return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
    }),
    order: flags.slowest ? 'TRACE_ORDER_SLOWEST' : 'TRACE_ORDER_NEWEST',
    limit: parseIntFlag(flags.limit, '--limit', 1, 1000),
  };
}

const monitorOption = () =>
  new Option('--monitor <host:port>', "the monitor's gRPC address").env('INFERMESH_MONITOR').default(DEFAULT_MONITOR_ADDRESS);

/** `infermesh traces list|show`: search the monitor's traces and print one as a timeline. */
export function tracesCommand(): Command {
  const traces = new Command('traces').description('Search and show traces held by the monitor');
  traces
    .command('list')
    .description('List traces, newest first (or --slowest); every filter applies to one and the same span')
    .option('--service <name>', 'service.name of a span')
    .option('--operation <name>', 'span name, e.g. inference.GRPCInferenceService/ModelInfer')
    .option('--model <name>', 'infermesh.model.name')
    .option('--model-version <v>', 'infermesh.model.version (--version is the CLI\'s own flag)')
    .option('--status <ok|error>', 'span status')
    .option('--min-duration-ms <ms>', 'minimum span duration')
    .option('--lookback-minutes <n>', 'only traces that started in the last n minutes')
    .option('--attr <key=value>', 'attribute filter (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--limit <n>', 'traces at most', '20')
    .option('--slowest', 'longest traces first')
    .option('--json', 'print the API answer as JSON')
    .addOption(monitorOption())
    .action((flags: ListFlags) =>
      runCliAction('traces list', async () => {
        const request = parseListFlags(flags);
        const client = createMonitorClient(flags.monitor, await clientCredentialsOption(flags));
        try {
          const { traces: found } = await withTlsExplained(flags.monitor, () => client.searchTraces(request));
          process.stdout.write(flags.json ? JSON.stringify(found, null, 2) + '\n' : renderTraceList(found));
        } finally {
          client.close();
        }
      }),
    );
  traces
    .command('show')
    .description('Print every span of one trace as an indented timeline')
    .argument('<trace-id>', '32 hex digits')
    .option('--json', 'print the API answer as JSON')
    .addOption(monitorOption())
    .action((traceId: string, flags: { json?: boolean; monitor: string }) =>
      runCliAction('traces show', async () => {
        const id = parseTraceId(traceId);
        const client = createMonitorClient(flags.monitor, await clientCredentialsOption(flags));
        try {
          const { spans } = await withTlsExplained(flags.monitor, () => client.getTrace(id));
          process.stdout.write(flags.json ? JSON.stringify(spans, null, 2) + '\n' : renderTrace(id, spans));
        } finally {
          client.close();
        }
      }),
    );
  return traces;
}
