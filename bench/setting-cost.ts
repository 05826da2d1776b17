// What one node setting costs: the same model, mode and concurrency served by
// one node per setting (tracing sampling, records sample rate), measured in
// rotating turns so drift in the machine's load hits every setting alike.
// tracing-cost.ts and records-cost.ts are the two comparisons built on it.
import type { Mode } from './options.js';
import { spawnAnnounced, type AnnouncedProcess } from './processes.js';
import type { Measured, TargetReport } from './report-rows.js';

/** What a setting comparison needs from the harness (tracing-cost.ts and records-cost.ts add their own). */
export interface SettingCostOptions {
  /** dist/cli/main.js. */
  cliMain: string;
  /** The bench's model repository and the model in it to serve. */
  repository: string;
  model: string;
  mode: Mode;
  concurrency: number;
  /** Measured windows per setting. */
  rounds: number;
  serverCpus: readonly number[];
  clientCpus: readonly number[];
  /** One warmed-up, measured load window against a node (the harness's load generator), on `model` (default: the option's). */
  load(node: AnnouncedProcess, model?: string): Promise<Measured>;
  progress(line: string): void;
}

/** One setting's load figures in a report (the comparisons add their counters). */
export interface SettingPoint {
  /** Mean over the windows, requests/s. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** A comparison in report.json: its load, one point per setting, the ratios to the baseline. */
export interface SettingCostReport<S extends string, P extends SettingPoint> {
  model: string;
  mode: Mode;
  concurrency: number;
  /** Measured windows per setting (taken in turns, each round starting one setting later). */
  rounds: number;
  points: P[];
  /** Throughput at each setting over throughput at the baseline (the first). */
  ratios: Partial<Record<S, number>>;
}

/** Starts `infermesh serve` on the server's CPUs with gRPC and /metrics on port 0, plus `args`. */
export function spawnNode(o: Pick<SettingCostOptions, 'cliMain' | 'serverCpus'>, repository: string, args: readonly string[]): Promise<AnnouncedProcess> {
  return spawnAnnounced(o.cliMain, ['serve', '--model-repository', repository, '--grpc-port', '0', '--metrics-port', '0', ...args], o.serverCpus, { timeoutMs: 120_000 });
}

/** One setting over all its windows. */
export interface SettingFigures extends SettingPoint {
  /** Seconds of measured load over all windows. */
  seconds: number;
  /** Each counter's growth over the windows (read before and after each one). */
  counters: Record<string, number>;
  /** Throughput of each measured round's window, in round order (to see drift over the run). */
  roundThroughputs: number[];
}

/** What {@link compareSettings} needs. */
export interface CompareSettingsOptions<S extends string> {
  /** The settings compared; the first is the baseline. */
  settings: readonly S[];
  /** Starts the node of one setting (all start at once); settings may share one node (its idempotent `stop` then runs once per setting). */
  start(setting: S): Promise<AnnouncedProcess>;
  /** Measured windows per setting (taken in turns, each round starting one setting later). */
  rounds: number;
  /** One warmed-up, measured load window against the node of `setting`. */
  load(node: AnnouncedProcess, setting: S): Promise<Measured>;
  /** The counters of `setting` on its node, read before and after each window. */
  counters(node: AnnouncedProcess, setting: S): Promise<Record<string, number>>;
  /** Called once every node is up, before the first window. */
  started?(): void;
}

/** Starts one node per setting, measures them in rotating turns and stops them all before it returns. */
export async function compareSettings<S extends string>(o: CompareSettingsOptions<S>): Promise<Map<S, SettingFigures>> {
  const started = await Promise.allSettled(o.settings.map(async (setting) => ({ setting, node: await o.start(setting) })));
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    o.started?.();
    // One unmeasured round first: the first windows after start run on cold caches, JIT and
    // connections, and would count against whichever setting happens to go first.
    for (const { setting, node } of nodes) await o.load(node, setting);
    const windows = new Map<S, { measured: Measured[]; counters: Record<string, number>; seconds: number }>();
    for (let round = 0; round < o.rounds; round++) {
      // Each round starts one setting later, so none is always measured first (or right after the heaviest).
      for (let k = 0; k < nodes.length; k++) {
        const { setting, node } = nodes[(round + k) % nodes.length]!;
        const before = await o.counters(node, setting);
        const m = await o.load(node, setting);
        // Work of the window still queued in the node counts in the next one; the totals even out.
        const after = await o.counters(node, setting);
        const w = windows.get(setting) ?? { measured: [], counters: {}, seconds: 0 };
        w.measured.push(m);
        for (const [name, value] of Object.entries(after)) w.counters[name] = (w.counters[name] ?? 0) + value - (before[name] ?? 0);
        w.seconds += m.throughput > 0 ? m.count / m.throughput : 0;
        windows.set(setting, w);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const out = new Map<S, SettingFigures>();
    for (const setting of o.settings) {
      const w = windows.get(setting) ?? { measured: [], counters: {}, seconds: 0 };
      out.set(setting, {
        throughput: mean(w.measured.map((m) => m.throughput)),
        p50Ms: mean(w.measured.map((m) => m.p50Ms)),
        p99Ms: mean(w.measured.map((m) => m.p99Ms)),
        errors: w.measured.reduce((n, m) => n + m.errors, 0),
        seconds: w.seconds,
        counters: w.counters,
        roundThroughputs: w.measured.map((m) => m.throughput),
      });
    }
    return out;
  } finally {
    for (const { node } of nodes.reverse()) await node.stop();
  }
}

/** Each setting's throughput over the first (baseline) setting's (each mean over the same rounds, taken in rotating turns). */
export function ratiosToBaseline<S extends string>(figures: ReadonlyMap<S, Pick<SettingFigures, 'throughput'>>): Partial<Record<S, number>> {
  const base = [...figures.values()][0]?.throughput ?? 0;
  const ratios: Partial<Record<S, number>> = {};
  if (base > 0) for (const [setting, f] of figures) ratios[setting] = f.throughput / base;
  return ratios;
}

/** A node's /metrics page, parsed: sample name with its labels as written (`name{a="b"}`) to value. */
export async function readMetrics(metricsAddress: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (cut > 0) samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

/** PASS/MISS: a setting's throughput loss against the baseline within `budget` (a fraction); SKIP when not measured. */
export function costTarget(o: { target: string; case: string; ratio: number | undefined; budget: number; skipDetail: string }): TargetReport {
  const threshold = 1 - o.budget;
  if (o.ratio === undefined) return { target: o.target, case: o.case, measured: null, threshold, verdict: 'SKIP', detail: o.skipDetail };
  const cost = 1 - o.ratio;
  const pass = cost <= o.budget;
  const costText = `costs ${(cost * 100).toFixed(1)}% (x off ${o.ratio.toFixed(3)})`;
  return {
    target: o.target,
    case: o.case,
    measured: o.ratio,
    threshold,
    verdict: pass ? 'PASS' : 'MISS',
    detail: pass ? `${costText} <= ${o.budget * 100}%` : `${costText} > ${o.budget * 100}%: missed by ${((cost - o.budget) * 100).toFixed(1)} points`,
  };
}
