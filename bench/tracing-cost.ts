// The cost of tracing: ONE node serves three copies of the same model that
// differ only in config.json `tracing.sampleRate` (0 = never traced, the
// baseline; 0.01; 1), all exporting to one OTLP sink, measured in rotating
// turns (setting-cost.ts). One process for all three: separate processes on
// this machine differ by 10-35% on identical work, far more than the 3% measured.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { METRICS } from '../shared/telemetry/index.js';
import { spawnAnnounced, type AnnouncedProcess } from './processes.js';
import type { TargetReport } from './report-rows.js';
import { compareSettings, costTarget, ratiosToBaseline, readMetrics, spawnNode, type SettingCostOptions, type SettingCostReport, type SettingPoint } from './setting-cost.js';

/** The sampling settings compared (report names); the first is the baseline. Each is a model copy's `tracing.sampleRate` (see {@link TRACING_SAMPLE_RATES}). */
export const TRACING_SAMPLINGS = ['off', '0.01', '1'] as const;
export type TracingSampling = (typeof TRACING_SAMPLINGS)[number];

/** The model copy's config.json `tracing.sampleRate` of each setting: `off` is a model that is never traced on a node that traces. */
export const TRACING_SAMPLE_RATES: Readonly<Record<TracingSampling, number>> = { off: 0, '0.01': 0.01, '1': 1 };

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
  /** Scratch directory: the repository of the three model copies goes under it. */
  workDir: string;
}

const SPANS_EXPORTED = METRICS.telemetrySpansExportedTotal.name;
const SPANS_DROPPED = METRICS.telemetrySpansDroppedTotal.name;
/** Longer than the node's span export delay (500 ms): a window's spans are exported (or dropped) within it. */
const EXPORT_SETTLE_MS = 700;
const MAX_SETTLE_TRIES = 5;

const RATE_SUFFIX: Readonly<Record<TracingSampling, string>> = { off: 'off', '0.01': 'default', '1': 'all' };

/** The copy of the model traced at `sampling`. */
function modelAt(o: TracingCostOptions, sampling: TracingSampling): string {
  return `${o.model}-tracing-${RATE_SUFFIX[sampling]}`;
}

/** Writes `<workDir>/tracing/<model>-tracing-<off|default|all>`: the model's files, its config.json with `tracing.sampleRate` set. */
async function repositoryOfRates(o: TracingCostOptions): Promise<string> {
  const root = join(o.workDir, 'tracing');
  const config = JSON.parse(await readFile(join(o.repository, o.model, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const sampling of TRACING_SAMPLINGS) {
    const dir = join(root, modelAt(o, sampling));
    await mkdir(join(dir, '1'), { recursive: true });
    await copyFile(join(o.repository, o.model, '1', 'model.onnx'), join(dir, '1', 'model.onnx'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, tracing: { sampleRate: TRACING_SAMPLE_RATES[sampling] } }, null, 2));
  }
  return root;
}

/**
 * The node's own span counters from its /metrics page (node-wide: only one
 * copy is under load at a time), read once they stop moving, so that a
 * window's spans are counted (and their export done) in that window, not in
 * the next setting's.
 */
async function settledSpanCounts(node: AnnouncedProcess): Promise<Record<string, number>> {
  const read = async () => {
    const m = await readMetrics(node.endpoints.metrics!);
    return { exported: m.get(SPANS_EXPORTED) ?? 0, dropped: m.get(SPANS_DROPPED) ?? 0 };
  };
  let last = await read();
  for (let i = 0; i < MAX_SETTLE_TRIES; i++) {
    await delay(EXPORT_SETTLE_MS);
    const now = await read();
    if (now.exported === last.exported && now.dropped === last.dropped) break;
    last = now;
  }
  return last;
}

/** Runs the comparison; every process it starts is stopped before it returns. */
export async function measureTracingCost(o: TracingCostOptions): Promise<TracingCostReport> {
  const repository = await repositoryOfRates(o);
  // The sink stands in for a monitor on another machine: it runs on the load generator's CPUs.
  const sink = await spawnAnnounced(o.sinkScript, [], o.clientCpus);
  try {
    // One node for every rate (compareSettings starts one per setting: they share this one). Its own ratio (1)
    // only matters to requests without a model rate: every copy has one.
    const node = spawnNode(o, repository, ['--trace-sampling', '1', '--otlp-endpoint', sink.endpoints.grpc!]);
    const figures = await compareSettings({
      settings: TRACING_SAMPLINGS,
      start: () => node,
      started: () =>
        o.progress(`tracing cost: ${o.model} ${o.mode} c=${o.concurrency}, tracing.sampleRate ${TRACING_SAMPLINGS.map((s) => TRACING_SAMPLE_RATES[s]).join(' / ')} on three copies of the model in one node, ${o.rounds} window(s) each, spans to an OTLP sink`),
      rounds: o.rounds,
      load: (server, sampling) => o.load(server, modelAt(o, sampling)),
      counters: (server) => settledSpanCounts(server),
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
      // Each round's window too: on a busy machine their spread says how far a ratio can be trusted.
      const rounds = figures.get(p.sampling)!.roundThroughputs.map((t) => t.toFixed(0)).join(' / ');
      o.progress(
        `  sampling ${p.sampling.padEnd(4)} ${p.throughput.toFixed(0)}/s (p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), ${p.spansExportedPerS.toFixed(0)} spans/s exported, ${p.spansDropped} dropped, x off ${ratios[p.sampling]?.toFixed(3) ?? '-'} (rounds ${rounds}/s)`,
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
