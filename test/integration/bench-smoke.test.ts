import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/index.js';

// The compiled harness, as `npm run bench` runs it (`npm test` builds first).
const BENCH = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { timeout: 120_000, env: { ...process.env, LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
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
    const r = await runBench(['--case', 'mlp', '--concurrency', '1,4', '--window-ms', '200', '--warmup-ms', '50', '--compute-window-ms', '100', '--max-batch-size', '8', '--out-dir', out]);
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
    }
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
