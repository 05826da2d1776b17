// The cost of prediction records: one node on one NATS server serves three
// copies of the same model that differ only in config.json `records.sampleRate`
// (0 = off, 0.01 = the default, 1 = every request), measured in rotating turns
// (setting-cost.ts). One process for all three: separate processes on this
// machine differ by 10-35% on identical work, far more than the 3% measured.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NatsServerProcess } from '../shared/nats/index.js';
import { METRICS } from '../shared/telemetry/index.js';
import { pinProcess, type AnnouncedProcess } from './processes.js';
import type { TargetReport } from './report-rows.js';
import { compareSettings, costTarget, ratiosToBaseline, readMetrics, spawnNode, type SettingCostOptions, type SettingCostReport, type SettingPoint } from './setting-cost.js';

/** The sample rates compared, as `records.sampleRate` takes them (written as text); the first is the baseline. */
export const RECORDS_SAMPLE_RATES = ['0', '0.01', '1'] as const;
export type RecordsSampleRate = (typeof RECORDS_SAMPLE_RATES)[number];

/** Target: what records at the default rate (DEFAULT_RECORDS_CONFIG.sampleRate) may cost in throughput against records off, as a fraction. Rate 1 is reported, with no target. */
export const RECORDS_COST_BUDGET: Readonly<Partial<Record<Exclude<RecordsSampleRate, '0'>, number>>> = { '0.01': 0.03 };

/** One sample rate, over all its windows. */
export interface RecordsCostPoint extends SettingPoint {
  sampleRate: RecordsSampleRate;
  /** Records the node published to NATS per second of load, and records it dropped (queue full or publish failed) per second. */
  recordsPublishedPerS: number;
  recordsDroppedPerS: number;
}

export type RecordsCostReport = SettingCostReport<RecordsSampleRate, RecordsCostPoint>;

/** What {@link measureRecordsCost} needs from the harness; the model's config.json is copied per node with records.sampleRate set. */
export interface RecordsCostOptions extends SettingCostOptions {
  /** Scratch directory: one repository per node and NATS's data directory go under it. */
  workDir: string;
}

const RECORDS_TOTAL = METRICS.predictionRecordsTotal.name;

const RATE_SUFFIX: Readonly<Record<RecordsSampleRate, string>> = { '0': 'off', '0.01': 'default', '1': 'all' };

/** The copy of the model that records at `rate`. */
function modelAt(o: RecordsCostOptions, rate: RecordsSampleRate): string {
  return `${o.model}-records-${RATE_SUFFIX[rate]}`;
}

/** Writes `<workDir>/records/<model>-records-<off|default|all>`: the model's files, its config.json with `records.sampleRate` set. */
async function repositoryOfRates(o: RecordsCostOptions): Promise<string> {
  const root = join(o.workDir, 'records');
  const config = JSON.parse(await readFile(join(o.repository, o.model, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const rate of RECORDS_SAMPLE_RATES) {
    const dir = join(root, modelAt(o, rate));
    await mkdir(join(dir, '1'), { recursive: true });
    await copyFile(join(o.repository, o.model, '1', 'model.onnx'), join(dir, '1', 'model.onnx'));
    const records = { ...((config.records as Record<string, unknown> | undefined) ?? {}), sampleRate: Number(rate) };
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, records }, null, 2));
  }
  return root;
}

/** The node's record counters for `model` from its /metrics page: published, and dropped (queue_full + publish_failed). */
async function recordCounts(node: AnnouncedProcess, model: string): Promise<Record<string, number>> {
  const m = await readMetrics(node.endpoints.metrics!);
  // Label order is the exporter's: match each label on its own.
  const read = (outcome: string) => {
    let n = 0;
    for (const [sample, value] of m) {
      if (sample.startsWith(`${RECORDS_TOTAL}{`) && sample.includes(`model="${model}"`) && sample.includes(`outcome="${outcome}"`)) n += value;
    }
    return n;
  };
  return { published: read('published'), dropped: read('queue_full') + read('publish_failed') };
}

/** Runs the comparison; every process it starts (NATS and the nodes) is stopped before it returns. */
export async function measureRecordsCost(o: RecordsCostOptions): Promise<RecordsCostReport> {
  const repository = await repositoryOfRates(o);
  const nats = new NatsServerProcess({ dataDir: join(o.workDir, 'records-nats') });
  await nats.start();
  try {
    // NATS stands in for a broker on another machine: it runs on the load generator's CPUs.
    pinProcess(nats.pid!, o.clientCpus);
    // One node for every rate (compareSettings starts one per setting: they share this one).
    const node = spawnNode(o, repository, ['--nats', nats.url, '--trace-sampling', 'off']);
    const figures = await compareSettings({
      settings: RECORDS_SAMPLE_RATES,
      start: () => node,
      started: () => o.progress(`records cost: ${o.model} ${o.mode} c=${o.concurrency}, records.sampleRate ${RECORDS_SAMPLE_RATES.join(' / ')} on three copies of the model in one node, ${o.rounds} window(s) each, records to NATS`),
      rounds: o.rounds,
      load: (server, rate) => o.load(server, modelAt(o, rate)),
      counters: (server, rate) => recordCounts(server, modelAt(o, rate)),
    });
    const perS = (n: number | undefined, s: number) => (s > 0 ? (n ?? 0) / s : 0);
    const points = RECORDS_SAMPLE_RATES.map((sampleRate): RecordsCostPoint => {
      const f = figures.get(sampleRate)!;
      return {
        sampleRate, throughput: f.throughput, p50Ms: f.p50Ms, p99Ms: f.p99Ms, errors: f.errors,
        recordsPublishedPerS: perS(f.counters.published, f.seconds),
        recordsDroppedPerS: perS(f.counters.dropped, f.seconds),
      };
    });
    const ratios = ratiosToBaseline(figures);
    for (const p of points) {
      o.progress(
        `  sampleRate ${p.sampleRate.padEnd(4)} ${p.throughput.toFixed(0)}/s (p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), ${p.recordsPublishedPerS.toFixed(1)} records/s published, ${p.recordsDroppedPerS.toFixed(1)}/s dropped, x off ${ratios[p.sampleRate]?.toFixed(3) ?? '-'}`,
      );
    }
    return { model: o.model, mode: o.mode, concurrency: o.concurrency, rounds: o.rounds, points, ratios };
  } finally {
    await nats.stop();
  }
}

/** PASS/MISS: records at the default rate lose at most {@link RECORDS_COST_BUDGET} of throughput against records off. */
export function recordsCostTargets(report: RecordsCostReport | undefined): TargetReport[] {
  return (Object.entries(RECORDS_COST_BUDGET) as Array<[Exclude<RecordsSampleRate, '0'>, number]>).map(([rate, budget]) =>
    costTarget({
      target: `prediction records at sampleRate ${rate} (the default) cost <= ${budget * 100}% of throughput (${report ? `${report.mode}, c=${report.concurrency}` : 'streaming, c=64'}), as x off >= ${1 - budget}`,
      case: report?.model ?? 'mlp',
      ratio: report?.ratios[rate],
      budget,
      skipDetail: 'not measured in this run (needs case mlp; --no-records-cost turns it off)',
    }),
  );
}
