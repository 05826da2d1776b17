// The cost of tracing: the same model, mode and concurrency served by three
// nodes that differ only in --trace-sampling (off, 0.01, 1), all exporting to
// one OTLP sink, measured in rotating turns so drift hits all three alike.
import { METRICS } from '../shared/telemetry/index.js';
import { spawnAnnounced, type AnnouncedProcess } from './processes.js';
import type { TargetReport } from './report-rows.js';
import { compareSettings, costTarget, ratiosToBaseline, readMetrics, spawnNode, type SettingCostOptions, type SettingCostReport, type SettingPoint } from './setting-cost.js';

/** The sampling settings compared, as `--trace-sampling` takes them; the first is the baseline. */
export const TRACING_SAMPLINGS = ['off', '0.01', '1'] as const;
export type TracingSampling = (typeof TRACING_SAMPLINGS)[number];

/** Targets: what each sampling may cost in throughput against tracing off, as a fraction. */
export const TRACING_COST_BUDGET: Readonly<Record<Exclude<TracingSampling, 'off'>, number>> = { '0.01': 0.03, '1': 0.15 };

/** One sampling setting, over all its windows. */
export interface TracingCostPoint extends SettingPoint {
  sampling: TracingSampling;
  /** Spans the node exported to the sink per second of load, and spans it dropped (export queue full). */
  spansExportedPerS: number;
  spansDropped: number;
}

export type TracingCostReport = SettingCostReport<TracingSampling, TracingCostPoint>;

/** What {@link measureTracingCost} needs from the harness. */
export interface TracingCostOptions extends SettingCostOptions {
  /** dist/bench/otlp-sink.js. */
  sinkScript: string;
}

const SPANS_EXPORTED = METRICS.telemetrySpansExportedTotal.name;
const SPANS_DROPPED = METRICS.telemetrySpansDroppedTotal.name;

/** The node's own span counters from its /metrics page. */
async function spanCounts(node: AnnouncedProcess): Promise<Record<string, number>> {
  const m = await readMetrics(node.endpoints.metrics!);
  return { exported: m.get(SPANS_EXPORTED) ?? 0, dropped: m.get(SPANS_DROPPED) ?? 0 };
}

/** Runs the comparison; every process it starts is stopped before it returns. */
export async function measureTracingCost(o: TracingCostOptions): Promise<TracingCostReport> {
  // The sink stands in for a monitor on another machine: it runs on the load generator's CPUs.
  const sink = await spawnAnnounced(o.sinkScript, [], o.clientCpus);
  try {
    const figures = await compareSettings({
      settings: TRACING_SAMPLINGS,
      start: (sampling) => spawnNode(o, o.repository, ['--trace-sampling', sampling, '--otlp-endpoint', sink.endpoints.grpc!]),
      started: () => o.progress(`tracing cost: ${o.model} ${o.mode} c=${o.concurrency}, sampling ${TRACING_SAMPLINGS.join(' / ')}, ${o.rounds} window(s) each, spans to an OTLP sink`),
      rounds: o.rounds,
      load: (node) => o.load(node),
      counters: spanCounts,
    });
    const points = TRACING_SAMPLINGS.map((sampling): TracingCostPoint => {
      const f = figures.get(sampling)!;
      return {
        sampling, throughput: f.throughput, p50Ms: f.p50Ms, p99Ms: f.p99Ms, errors: f.errors,
        spansExportedPerS: f.seconds > 0 ? f.counters.exported! / f.seconds : 0,
        spansDropped: f.counters.dropped ?? 0,
      };
    });
    const ratios = ratiosToBaseline(figures);
    for (const p of points) {
      o.progress(
        `  sampling ${p.sampling.padEnd(4)} ${p.throughput.toFixed(0)}/s (p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), ${p.spansExportedPerS.toFixed(0)} spans/s exported, ${p.spansDropped} dropped, x off ${ratios[p.sampling]?.toFixed(3) ?? '-'}`,
      );
    }
    return { model: o.model, mode: o.mode, concurrency: o.concurrency, rounds: o.rounds, points, ratios };
  } finally {
    await sink.stop();
  }
}

/** PASS/MISS per sampling: its throughput loss against tracing off within {@link TRACING_COST_BUDGET}. */
export function tracingCostTargets(report: TracingCostReport | undefined): TargetReport[] {
  return (Object.entries(TRACING_COST_BUDGET) as Array<[Exclude<TracingSampling, 'off'>, number]>).map(([sampling, budget]) =>
    costTarget({
      target: `tracing at sampling ${sampling} costs <= ${budget * 100}% of throughput (${report ? `${report.mode}, c=${report.concurrency}` : 'streaming, c=64'}), as x off >= ${1 - budget}`,
      case: report?.model ?? 'mlp',
      ratio: report?.ratios[sampling],
      budget,
      skipDetail: 'not measured in this run (needs case mlp; --no-tracing-cost turns it off)',
    }),
  );
}
