// The cost of tracing: the same model, mode and concurrency served by three
// nodes that differ only in --trace-sampling (off, 0.01, 1), all exporting to
// one OTLP sink, measured in rotating turns so drift hits all three alike.
import type { Mode } from './options.js';
import { spawnAnnounced, type AnnouncedProcess } from './processes.js';
import type { Measured, TargetReport } from './report.js';

/** The sampling settings compared, as `--trace-sampling` takes them; the first is the baseline. */
export const TRACING_SAMPLINGS = ['off', '0.01', '1'] as const;
export type TracingSampling = (typeof TRACING_SAMPLINGS)[number];

/** Targets: what each sampling may cost in throughput against tracing off, as a fraction. */
export const TRACING_COST_BUDGET: Readonly<Record<Exclude<TracingSampling, 'off'>, number>> = { '0.01': 0.03, '1': 0.15 };

/** One sampling setting, over all its windows. */
export interface TracingCostPoint {
  sampling: TracingSampling;
  /** Mean over the windows, requests/s. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Spans the node exported to the sink per second of load, and spans it dropped (export queue full). */
  spansExportedPerS: number;
  spansDropped: number;
}

export interface TracingCostReport {
  model: string;
  mode: Mode;
  concurrency: number;
  /** Measured windows per sampling (taken in turns, each round starting one setting later). */
  rounds: number;
  points: TracingCostPoint[];
  /** Throughput at each sampling over throughput with tracing off. */
  ratios: Partial<Record<TracingSampling, number>>;
}

/** What {@link measureTracingCost} needs from the harness. */
export interface TracingCostOptions {
  /** dist/cli/main.js and dist/bench/otlp-sink.js. */
  cliMain: string;
  sinkScript: string;
  /** The bench's model repository and the model in it to serve. */
  repository: string;
  model: string;
  mode: Mode;
  concurrency: number;
  rounds: number;
  serverCpus: readonly number[];
  clientCpus: readonly number[];
  /** One warmed-up, measured load window against a node (the harness's load generator). */
  load(node: AnnouncedProcess): Promise<Measured>;
  progress(line: string): void;
}

interface SpanCounts {
  exported: number;
  dropped: number;
}

/** The node's own span counters from its /metrics page. */
async function spanCounts(metricsAddress: string): Promise<SpanCounts> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const read = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  };
  return { exported: read('infermesh_telemetry_spans_exported_total'), dropped: read('infermesh_telemetry_spans_dropped_total') };
}

/** Runs the comparison; every process it starts is stopped before it returns. */
export async function measureTracingCost(o: TracingCostOptions): Promise<TracingCostReport> {
  const stops: Array<() => Promise<void>> = [];
  try {
    // The sink stands in for a monitor on another machine: it runs on the load generator's CPUs.
    const sink = await spawnAnnounced(o.sinkScript, [], o.clientCpus);
    stops.push(() => sink.stop());
    const started = await Promise.allSettled(
      TRACING_SAMPLINGS.map(async (sampling) => {
        const args = ['serve', '--model-repository', o.repository, '--grpc-port', '0', '--trace-sampling', sampling, '--otlp-endpoint', sink.endpoints.grpc!, '--metrics-port', '0'];
        return { sampling, node: await spawnAnnounced(o.cliMain, args, o.serverCpus, { timeoutMs: 120_000 }) };
      }),
    );
    const nodes: Array<{ sampling: TracingSampling; node: AnnouncedProcess }> = [];
    for (const s of started) {
      if (s.status === 'fulfilled') {
        nodes.push(s.value);
        stops.push(() => s.value.node.stop());
      }
    }
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    o.progress(`tracing cost: ${o.model} ${o.mode} c=${o.concurrency}, sampling ${TRACING_SAMPLINGS.join(' / ')}, ${o.rounds} window(s) each, spans to an OTLP sink`);
    const windows = new Map<TracingSampling, { measured: Measured[]; exported: number; dropped: number; seconds: number }>();
    for (let round = 0; round < o.rounds; round++) {
      // Each round starts one setting later, so none is always measured first (or right after the heaviest).
      for (let k = 0; k < nodes.length; k++) {
        const { sampling, node } = nodes[(round + k) % nodes.length]!;
        const before = await spanCounts(node.endpoints.metrics!);
        const m = await o.load(node);
        // Spans of the window still in the export queue count in the next one; the totals even out.
        const after = await spanCounts(node.endpoints.metrics!);
        const w = windows.get(sampling) ?? { measured: [], exported: 0, dropped: 0, seconds: 0 };
        w.measured.push(m);
        w.exported += after.exported - before.exported;
        w.dropped += after.dropped - before.dropped;
        w.seconds += m.throughput > 0 ? m.count / m.throughput : 0;
        windows.set(sampling, w);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const points = TRACING_SAMPLINGS.map((sampling): TracingCostPoint => {
      const w = windows.get(sampling)!;
      return {
        sampling,
        throughput: mean(w.measured.map((m) => m.throughput)),
        p50Ms: mean(w.measured.map((m) => m.p50Ms)),
        p99Ms: mean(w.measured.map((m) => m.p99Ms)),
        errors: w.measured.reduce((n, m) => n + m.errors, 0),
        spansExportedPerS: w.seconds > 0 ? w.exported / w.seconds : 0,
        spansDropped: w.dropped,
      };
    });
    const base = points[0]!.throughput;
    const ratios: TracingCostReport['ratios'] = {};
    for (const p of points) if (base > 0) ratios[p.sampling] = p.throughput / base;
    for (const p of points) {
      o.progress(
        `  sampling ${p.sampling.padEnd(4)} ${p.throughput.toFixed(0)}/s (p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), ${p.spansExportedPerS.toFixed(0)} spans/s exported, ${p.spansDropped} dropped, x off ${ratios[p.sampling]?.toFixed(3) ?? '-'}`,
      );
    }
    return { model: o.model, mode: o.mode, concurrency: o.concurrency, rounds: o.rounds, points, ratios };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

/** PASS/MISS per sampling: its throughput loss against tracing off within {@link TRACING_COST_BUDGET}. */
export function tracingCostTargets(report: TracingCostReport | undefined): TargetReport[] {
  return (Object.entries(TRACING_COST_BUDGET) as Array<[Exclude<TracingSampling, 'off'>, number]>).map(([sampling, budget]) => {
    const name = `tracing at sampling ${sampling} costs <= ${budget * 100}% of throughput (${report ? `${report.mode}, c=${report.concurrency}` : 'streaming, c=64'}), as x off >= ${1 - budget}`;
    const ratio = report?.ratios[sampling];
    if (ratio === undefined) return { target: name, case: report?.model ?? 'mlp', measured: null, threshold: 1 - budget, verdict: 'SKIP', detail: 'not measured in this run (needs case mlp; --no-tracing-cost turns it off)' };
    const cost = 1 - ratio;
    const pass = cost <= budget;
    const costText = `costs ${(cost * 100).toFixed(1)}% (x off ${ratio.toFixed(3)})`;
    return {
      target: name,
      case: report!.model,
      measured: ratio,
      threshold: 1 - budget,
      verdict: pass ? 'PASS' : 'MISS',
      detail: pass ? `${costText} <= ${budget * 100}%` : `${costText} > ${budget * 100}%: missed by ${((cost - budget) * 100).toFixed(1)} points`,
    };
  });
}
