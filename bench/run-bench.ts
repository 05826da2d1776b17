import { cpus as osCpus } from 'node:os';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/logging/index.js';
import { builtInCase, repositoryCase, type BenchCase } from './cases.js';
import { renderCaseChart } from './chart.js';
import { createRawInferenceClient } from './inference-proto.js';
import type { BenchOptions, Mode } from './options.js';
import { allowedCpus, forkWorker, hasTaskset, spawnAnnounced, type AnnouncedProcess, type Worker } from './processes.js';
import type { LatencySummary } from './latency.js';
import { summarizeCpuProfile } from './profile-summary.js';
import { bestCompute, evaluateTargets, withRatios, type BenchReport, type CaseReport, type PointReport } from './report.js';
import type { Measured } from './report-rows.js';
import { withCpuShare } from './cpu-usage.js';
import { EXTRA_RUNNERS } from './extra-runners.js';
import { breakdown, readStats } from './server-stats.js';
import { measureTracingCost, tracingCostTargets } from './tracing-cost.js';
import { measureRecordsCost, recordsCostTargets } from './records-cost.js';
import { measureSecurityCost, securityCostTargets } from './security-cost.js';
import { runRecommenderBench } from './recommender.js';
import { runRestBench } from './rest-bench.js';
import { payloadBytes, type ComputePoint, type LoadCommand, type LoadSecurity, type WorkerReply } from './worker-protocol.js';

/** The compiled file next to this one in dist/ (children run compiled JavaScript, also when this module runs from source). */
function distFile(rel: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const base = here.split(/[\\/]/).includes('dist') ? here : resolve(here, '..', 'dist', 'bench');
  const file = resolve(base, rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

/** Splits the CPUs between the server side and the load generator. */
export function assignCores(options: BenchOptions): BenchReport['cores'] {
  const allowed = allowedCpus();
  if (!options.pin) return { server: [], client: [], pinned: false, note: 'pinning off (--no-pin)' };
  if (!hasTaskset()) return { server: [], client: [], pinned: false, note: 'taskset not found: unpinned' };
  if (options.serverCpus || options.clientCpus) {
    const server = options.serverCpus ?? allowed.filter((c) => !options.clientCpus!.includes(c));
    const client = options.clientCpus ?? allowed.filter((c) => !server.includes(c));
    return { server, client, pinned: true, note: 'pinned with taskset as given' };
  }
  if (allowed.length < 2) return { server: [], client: [], pinned: false, note: `only ${allowed.length} CPU: server and load generator share it` };
  const half = Math.ceil(allowed.length / 2);
  return { server: allowed.slice(0, half), client: allowed.slice(half), pinned: true, note: 'pinned with taskset, CPUs split in two' };
}

/** Runs the benchmark: the sweep, the report (JSON, SVG charts) and the targets. Progress goes to `progress`. */
export async function runBench(options: BenchOptions, logger: Logger, progress: (line: string) => void): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const cores = assignCores(options);
  const serverCoreCount = cores.server.length || osCpus().length;
  const intraOp = serverCoreCount;
  const work = await mkdtemp(join(tmpdir(), 'infermesh-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const report: BenchReport = {
    version: 1,
    startedAt,
    finishedAt: '',
    host: { cpus: osCpus().length, cpuModel: osCpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform },
    cores,
    settings: {
      concurrency: options.concurrency,
      modes: options.modes,
      warmupMs: options.warmupMs,
      windowMs: options.windowMs,
      computeWindowMs: options.computeWindowMs,
      requestsPerStream: options.requestsPerStream,
      connections: options.connections,
    },
    cases: [],
    rows: [],
    targets: [],
  };
  const serverCpuCount = cores.server.length || osCpus().length;
  const clientCpuCount = cores.client.length || osCpus().length;
  try {
    const overrides = {
      ...(options.maxBatchSize !== undefined ? { maxBatchSize: options.maxBatchSize } : {}),
      ...(options.maxQueueDelayUs !== undefined ? { maxQueueDelayUs: options.maxQueueDelayUs } : {}),
    };
    const cases: BenchCase[] = [];
    for (const name of options.cases) cases.push(await builtInCase(name, work, overrides));
    if (options.repository) cases.push(await repositoryCase(options.repository.dir, options.repository.model, options.repository.inputShape, overrides));
    if (cases.length === 0) throw new Error('nothing to run: give --case or --model-repository/--model');

    // One repository for the node: each case, and its batching-off twin.
    const repo = join(work, 'models');
    const maxConc = Math.max(...options.concurrency);
    for (const c of cases) {
      for (const [name, batching] of [[c.name, c.batching], [`${c.name}_nobatch`, { maxBatchSize: 0, maxQueueDelayUs: 0 }]] as const) {
        await mkdir(join(repo, name, '1'), { recursive: true });
        await copyFile(c.modelPath, join(repo, name, '1', 'model.onnx'));
        const config = {
          ...batching,
          maxQueueSize: Math.max(1024, maxConc * 2),
          intraOpThreads: intraOp,
          interOpThreads: 1,
          warmup: [{ inputs: { [c.input.name]: { datatype: c.input.datatype, shape: c.input.shape, data: 'zeros' } } }],
        };
        await writeFile(join(repo, name, 'config.json'), JSON.stringify(config, null, 2));
      }
    }

    const needNode = options.measure.has('served') || options.measure.has('nobatch');
    let node: AnnouncedProcess | undefined;
    const profileDir = join(options.outDir, 'profile');
    if (needNode) {
      if (options.profileServer) {
        await rm(profileDir, { recursive: true, force: true });
        await mkdir(profileDir, { recursive: true });
      }
      progress(`starting the node (infermesh serve) on CPU(s) ${cores.server.join(',') || 'any'}`);
      node = await spawnAnnounced(
        resolve(distFile('.'), '..', 'cli', 'main.js'),
        // The sweep measures the node untraced; the tracing-cost part below measures what tracing adds.
        ['serve', '--model-repository', repo, '--grpc-port', '0', '--http-port', '0', '--trace-sampling', 'off'],
        cores.server,
        options.profileServer ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir], timeoutMs: 120_000 } : { timeoutMs: 120_000 },
      );
      cleanups.push(() => node!.stop());
    }
    const nodeAddress = node?.endpoints.grpc;
    const statsClient = nodeAddress ? createRawInferenceClient(nodeAddress) : undefined;
    if (statsClient) cleanups.push(async () => statsClient.close());

    const loader: Worker = forkWorker(distFile('load-client.js'), cores.client);
    cleanups.push(() => loader.close());
    /** One window of the grpc-js load generator against `server`, with both sides' CPU shares. */
    const load = async (server: AnnouncedProcess, modelName: string, mode: Mode, concurrency: number, c: BenchCase, windowMs = options.windowMs, security?: LoadSecurity): Promise<Measured> => {
      const cmd: LoadCommand = {
        kind: 'load', address: server.endpoints.grpc!, modelName, mode, concurrency, requestsPerStream: options.requestsPerStream, connections: options.connections,
        warmupMs: options.warmupMs, windowMs, input: c.input, ...(security ? { security } : {}),
      };
      const { result: reply, cpu } = await withCpuShare(server.pid, serverCpuCount, loader.pid, clientCpuCount, async () => (await loader.call(cmd)) as Extract<WorkerReply, { kind: 'load' }>);
      return { ...fromIpc(reply.summary), ...(reply.firstError ? { firstError: reply.firstError } : {}), ...(cpu ? { cpu } : {}) };
    };
    const served = async (modelName: string, mode: Mode, concurrency: number, c: BenchCase): Promise<Measured> => {
      const before = await readStats(statsClient!, modelName);
      const m = await load(node!, modelName, mode, concurrency, c);
      const server = breakdown(before, await readStats(statsClient!, modelName));
      return server ? { ...m, server } : m;
    };

    for (const c of cases) {
      progress(`case ${c.name}: ${c.description}`);
      let compute: ComputePoint[] = [];
      if (options.measure.has('compute')) {
        const limit = Math.max(1, Math.min(c.batching.maxBatchSize || 1, maxConc));
        const sizes = [...new Set([...Array.from({ length: 16 }, (_, i) => 2 ** i).filter((b) => b <= limit), limit])].sort((a, b) => a - b);
        progress(`  compute limit: in-process ORT, batch sizes ${sizes.join(',')}`);
        const worker = forkWorker(distFile('compute-worker.js'), cores.server);
        try {
          const reply = (await worker.call({
            kind: 'compute', modelPath: c.modelPath, input: c.input, batchSizes: sizes, intraOpThreads: intraOp, interOpThreads: 1,
            warmupMs: Math.min(300, options.warmupMs), windowMs: options.computeWindowMs,
          })) as Extract<WorkerReply, { kind: 'compute' }>;
          compute = reply.points;
        } finally {
          await worker.close();
        }
      }
      let echo: AnnouncedProcess | undefined;
      if (options.measure.has('transport')) {
        echo = await spawnAnnounced(distFile('echo-server.js'), [JSON.stringify(c.output)], cores.server);
      }
      const points: PointReport[] = [];
      try {
        for (const mode of options.modes) {
          for (const concurrency of options.concurrency) {
            const p: Omit<PointReport, 'ratios'> = { mode, concurrency };
            if (options.measure.has('served')) p.served = await served(c.name, mode, concurrency, c);
            if (options.measure.has('nobatch')) p.nobatch = await served(`${c.name}_nobatch`, mode, concurrency, c);
            if (echo) p.transport = await load(echo, c.name, mode, concurrency, c);
            const best = bestCompute(compute, c.batching.maxBatchSize > 0 ? Math.min(concurrency, c.batching.maxBatchSize) : 1);
            if (best) p.compute = best;
            const point = withRatios(p);
            points.push(point);
            progress(
              `  ${mode.padEnd(9)} c=${String(concurrency).padEnd(4)} served ${rate(point.served)} nobatch ${rate(point.nobatch)} transport ${rate(point.transport)} compute ${point.compute ? point.compute.throughput.toFixed(0) : '-'}/s`,
            );
          }
        }
      } finally {
        await echo?.stop();
      }
      report.cases.push({
        name: c.name,
        description: c.description,
        modelPath: c.modelPath,
        input: c.input,
        output: c.output,
        requestBytes: payloadBytes(c.input).byteLength,
        responseBytes: payloadBytes(c.output).byteLength,
        batching: c.batching,
        threads: { intraOp, interOp: 1 },
        compute,
        points,
      } satisfies CaseReport);
    }
    if (node && statsClient) {
      for (const runner of EXTRA_RUNNERS) {
        const reason = runner.unavailable(options);
        if (reason) {
          (report.skippedRunners ??= []).push({ runner: runner.name, reason });
          progress(`== ${runner.name} rows skipped: ${reason}`);
          continue;
        }
        progress(`== ${runner.name} rows`);
        report.rows.push(
          ...(await runner.run({
            options, cases, cores, serverCpuCount, clientCpuCount, node, stats: statsClient, workDir: work, progress,
            spawnServer: (script, args) => spawnAnnounced(distFile(script), args, cores.server),
          })),
        );
      }
    }
    // --- REST rows (bench/rest-bench.ts): unary JSON and binary bodies over HTTP/1.1 against the same node, and a bare node:http echo.
    if (node?.endpoints.http && options.modes.includes('unary') && options.measure.has('served')) {
      progress('== REST (Open Inference Protocol over HTTP/1.1 keep-alive): unary, JSON and binary bodies');
      const rest = await runRestBench({ address: node.endpoints.http, cases, concurrency: options.concurrency, warmupMs: options.warmupMs, windowMs: options.windowMs, serverCpus: cores.server, clientCpus: cores.client, progress });
      Object.assign(report, { rest });
    }
    // --- end of the REST rows
    const mlp = cases.find((c) => c.name === 'mlp');
    // The tracing and records comparisons: mlp, streaming, c=64, --cost-rounds rounds (3) of nodes differing in one setting.
    const costRun = mlp && {
      cliMain: resolve(distFile('.'), '..', 'cli', 'main.js'),
      repository: repo,
      model: mlp.name,
      mode: 'streaming' as const,
      concurrency: 64,
      rounds: options.costRounds,
      serverCpus: cores.server,
      clientCpus: cores.client,
      // Differences of a few % need longer windows than the sweep's (3 s by default).
      load: (server: AnnouncedProcess, modelName = mlp.name) => load(server, modelName, 'streaming', 64, mlp, options.windowMs * 2),
      progress,
    };
    if (options.tracingCost && costRun) report.tracingCost = await measureTracingCost({ ...costRun, sinkScript: distFile('otlp-sink.js'), workDir: work });
    if (options.recordsCost && costRun) report.recordsCost = await measureRecordsCost({ ...costRun, workDir: work });
    if (options.securityCost && costRun) {
      report.securityCost = await measureSecurityCost({
        ...costRun,
        workDir: work,
        load: (server, security, modelName) => load(server, modelName, 'streaming', 64, mlp, options.windowMs * 2, security),
      });
    }
    if (options.recommender) {
      progress('== recommender (training per epoch, then Recommend through NATS, registry, a mesh node and the recommender in this process)');
      report.recommender = await runRecommenderBench({ logger });
    }
    report.targets = [...evaluateTargets(report.cases, report.rows), ...tracingCostTargets(report.tracingCost), ...recordsCostTargets(report.recordsCost), ...securityCostTargets(report.securityCost)];
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    if (options.profileServer && existsSync(profileDir)) {
      const files = await readdir(profileDir);
      const newest = (await Promise.all(files.filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f, t: (await stat(join(profileDir, f))).mtimeMs })))).sort((a, b) => b.t - a.t)[0];
      if (newest) report.profile = { file: join(profileDir, newest.f), top: await summarizeCpuProfile(join(profileDir, newest.f)) };
      else logger.warn('the node wrote no CPU profile', { profileDir });
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => logger.warn('cleanup failed', { err }));
    await rm(work, { recursive: true, force: true });
  }
  report.finishedAt = new Date().toISOString();
  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  for (const c of report.cases) await writeFile(join(options.outDir, `${c.name}.svg`), renderCaseChart(c));
  return report;
}

function rate(m: Measured | undefined): string {
  if (!m) return '-';
  return `${m.throughput.toFixed(0)}/s (p99 ${m.p99Ms.toFixed(1)} ms${m.errors ? `, ${m.errors} errors` : ''})`;
}

/** A summary as it crossed the IPC channel (JSON): a window without a completion has NaN percentiles, which arrive as null. */
function fromIpc(summary: LatencySummary): LatencySummary {
  const n = (v: number | null) => (typeof v === 'number' ? v : NaN);
  return { ...summary, throughput: n(summary.throughput), p50Ms: n(summary.p50Ms), p90Ms: n(summary.p90Ms), p99Ms: n(summary.p99Ms), meanMs: n(summary.meanMs) };
}
