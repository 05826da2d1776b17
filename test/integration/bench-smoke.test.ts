import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/index.js';
import { findH2load } from '../../bench/h2load.js';

// The compiled harness, as `npm run bench` runs it (`npm test` builds first).
const BENCH = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { timeout: 120_000, env: { ...process.env, LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function expectCpuShare(cpu: { server: number; client: number; bound: string } | undefined): void {
  expect(cpu).toBeDefined();
  for (const share of [cpu!.server, cpu!.client]) {
    expect(Number.isFinite(share)).toBe(true);
    expect(share).toBeGreaterThanOrEqual(0);
  }
  expect(['server', 'client', 'both', 'neither']).toContain(cpu!.bound);
}

describe('npm run bench (smoke: seconds, tiny counts)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('runs every part against a real node and writes a well-formed report and chart', async () => {
    expect(existsSync(BENCH), `${BENCH} is missing: run npm run build`).toBe(true);
    const out = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    dirs.push(out);
    expect(findH2load(), 'h2load is missing: apt-get install nghttp2-client (.ci/run does)').toBeDefined();
    // h2load counts only requests started inside its window: a longer one than the sweep's, for a loaded machine.
    const r = await runBench([
      '--case', 'mlp', '--concurrency', '1,4', '--window-ms', '200', '--warmup-ms', '50', '--compute-window-ms', '100', '--max-batch-size', '8', '--connection-sweep', '1,2', '--h2load-window-ms', '1000', '--out-dir', out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/== mlp: tiny MLP/);
    expect(r.stdout).toMatch(/targets:/);

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as BenchReport;
    expect(report.version).toBe(1);
    expect(report.cores.server.length + report.cores.client.length === 0 || report.cores.pinned).toBe(true);
    expect(report.cases).toHaveLength(1);
    const c = report.cases[0]!;
    expect(c.batching.maxBatchSize).toBe(8);
    expect(c.compute.map((p) => p.batchSize)).toEqual([1, 2, 4]);
    expect(c.points.map((p) => `${p.mode}@${p.concurrency}`)).toEqual(['unary@1', 'unary@4', 'streaming@1', 'streaming@4']);
    for (const p of c.points) {
      for (const m of [p.served!, p.nobatch!, p.transport!]) {
        expect(m.count).toBeGreaterThan(0);
        expect(m.errors).toBe(0);
        expect(m.throughput).toBeGreaterThan(0);
        expect(m.p50Ms).toBeGreaterThan(0);
        expect(m.p99Ms).toBeGreaterThanOrEqual(m.p50Ms);
      }
      expect(p.compute!.batchSize).toBeLessThanOrEqual(p.concurrency);
      expect(p.ratios.vsTransport).toBeCloseTo(p.served!.throughput / p.transport!.throughput, 6);
      expect(p.ratios.vsNoBatch).toBeCloseTo(p.served!.throughput / p.nobatch!.throughput, 6);
      // The node's own breakdown of the window, from ModelStatistics.
      expect(p.served!.server!.requests).toBeGreaterThan(0);
      expect(p.served!.server!.avgBatch).toBeGreaterThanOrEqual(1);
      expect(p.served!.server!.avgBatch).toBeLessThanOrEqual(8);
      // Both sides' CPU shares over the window, and which one ran out (/proc counts in clock ticks: a short, light window may read 0).
      for (const m of [p.served!, p.transport!]) expectCpuShare(m.cpu);
    }

    // h2load rows: the node and both floors at 64 in flight, the node and the grpc-js floor at 1, the connections sweep.
    expect(report.rows.map((row) => `${row.group}/${row.server}/c=${row.connections}x${row.streamsPerConnection}`)).toEqual([
      'unary-64/node/c=4x16', 'unary-64/grpc-js floor/c=4x16', 'unary-64/http2 floor/c=4x16',
      'unary-1/node/c=1x1', 'unary-1/grpc-js floor/c=1x1',
      'connections/node/c=1x1', 'connections/node/c=2x1',
    ]);
    for (const row of report.rows) {
      expect(row.generator).toBe('h2load');
      expect(row.inFlight).toBe(row.connections * row.streamsPerConnection);
      expect(row.measured.count, `${row.group} ${row.server}`).toBeGreaterThan(0);
      expect(row.measured.errors, `${row.group} ${row.server}: ${row.measured.firstError}`).toBe(0);
      expect(row.measured.p99Ms).toBeGreaterThanOrEqual(row.measured.p50Ms);
      expectCpuShare(row.measured.cpu);
    }
    expect(report.rows.reduce((sum, row) => sum + row.measured.cpu!.server, 0), 'the servers used CPU').toBeGreaterThan(0);
    expect(r.stdout).toMatch(/== h2load rows/);
    // Every target of the issue has its row in the report; those this short run measured have a verdict.
    const verdict = (re: RegExp) => report.targets.find((t) => re.test(t.target))?.verdict;
    for (const re of [/node \/ grpc-js pass-through floor >= 0\.8/, /node \/ node:http2 floor >= 0\.5/, /1 in flight \(h2load\): p50/, /never falls as connections rise 1 -> 2/]) {
      expect(['PASS', 'MISS'], String(re)).toContain(verdict(re));
    }
    for (const re of [/tracing at sampling 1 costs/, /tracing at sampling 0\.01 costs/, /records at sampleRate 0\.01 \(the default\) cost <= 3%/, /p99 <= 2 x p50/]) {
      expect(['PASS', 'MISS'], String(re)).toContain(verdict(re));
    }
    // The tracing and records comparisons: one row per setting, each loaded, the ratios to the baseline.
    expect(report.tracingCost!.points.map((p) => p.sampling)).toEqual(['off', '0.01', '1']);
    const rc = report.recordsCost!;
    expect(rc.points.map((p) => p.sampleRate)).toEqual(['0', '0.01', '1']);
    for (const p of rc.points) {
      expect(p.throughput, `sampleRate ${p.sampleRate}`).toBeGreaterThan(0);
      expect(p.errors, `sampleRate ${p.sampleRate}`).toBe(0);
      expect(rc.ratios[p.sampleRate]).toBeCloseTo(p.throughput / rc.points[0]!.throughput, 6);
    }
    // Records off publishes none; every request sampled publishes (records reach NATS through the node's recorder).
    expect(rc.points[0]!.recordsPublishedPerS).toBe(0);
    expect(rc.points[2]!.recordsPublishedPerS).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/== prediction records cost: mlp, streaming, c=64/);
    // The security comparison: plaintext, TLS and TLS with token checks each served every call (the load generator
    // connected over TLS with the bench's CA and sent a token the third node verified), and its target was judged.
    const sc = report.securityCost!;
    expect(sc.points.map((p) => p.setting)).toEqual(['plaintext', 'tls', 'tls+tokens']);
    for (const p of sc.points) {
      expect(p.throughput, p.setting).toBeGreaterThan(0);
      expect(p.errors, p.setting).toBe(0);
    }
    expect(sc.tokensOverTls).toBeCloseTo(sc.points[2]!.throughput / sc.points[1]!.throughput, 6);
    expect(['PASS', 'MISS']).toContain(verdict(/token checks cost <= 3%/));
    expect(r.stdout).toMatch(/== security cost: mlp, streaming, c=64/);
    expect(verdict(/batching on \/ off >= 3/)).toBe('SKIP');
    for (const t of report.targets) expect(['PASS', 'MISS', 'SKIP']).toContain(t.verdict);
    // Targets that need concurrency 256 or the OCR case were not measured here.
    expect(report.targets.find((t) => t.case === 'ocr-cls')!.verdict).toBe('SKIP');
    const svg = await readFile(join(out, 'mlp.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/transport limit/);
    expect(svg).toMatch(/compute limit/);
  });

  it('rejects bad flags with a clear message and a non-zero exit', async () => {
    const bad = await runBench(['--case', 'resnet']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--case: unknown case 'resnet'; built-in cases: mlp, ocr-cls/);
    const conc = await runBench(['--concurrency', '0']);
    expect(conc.code).not.toBe(0);
    expect(conc.stderr).toMatch(/--concurrency: expected an integer >= 1, got '0'/);
  });
});
