// h2load (nghttp2's HTTP/2 load generator, in C) as a second load generator for
// unary ModelInfer: it posts one pre-encoded gRPC body (5-byte header +
// ModelInferRequest) with `content-type: application/grpc` and `te: trailers`,
// `-c` connections with `-m` streams each, for a timed window after a warm-up,
// so the figure is the server's and not a JavaScript client's. h2load counts
// HTTP 200s: gRPC errors (HTTP 200 with a non-zero grpc-status trailer) are
// found by the caller from the node's ModelStatistics.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuSecondsOfStat } from './cpu-usage.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** Where Debian's nghttp2-client installs h2load. */
const H2LOAD_PATHS = ['/usr/bin/h2load', '/usr/local/bin/h2load'];

/** The h2load binary, or undefined when it is not installed. */
export function findH2load(): string | undefined {
  return H2LOAD_PATHS.find((p) => existsSync(p));
}

export interface H2loadRun {
  binary: string;
  /** `host:port` of a plaintext HTTP/2 (h2c) server. */
  address: string;
  /** The HTTP/2 path, e.g. /inference.GRPCInferenceService/ModelInfer. */
  path: string;
  /** The request body file (already gRPC-framed). */
  bodyFile: string;
  connections: number;
  streamsPerConnection: number;
  warmupMs: number;
  windowMs: number;
  /** CPUs to pin h2load to (taskset); empty = unpinned. */
  cpus: readonly number[];
  /** Scratch directory for the per-request log. */
  workDir: string;
}

export interface H2loadResult {
  /** Over the measured window: throughput counts the requests h2load saw succeed (HTTP level); latencies from its per-request log. */
  summary: LatencySummary;
  /** Requests h2load finished in the window (2xx or not), and those that failed at the HTTP level. */
  done: number;
  failed: number;
  /** CPU seconds h2load used and its wall time (warm-up included), for its CPU share. */
  cpuSeconds: number;
  wallSeconds: number;
}

let runs = 0;

/** Runs h2load once; rejects with its output when it fails. */
export async function runH2load(o: H2loadRun): Promise<H2loadResult> {
  const log = join(o.workDir, `h2load-${process.pid}-${runs++}.log`);
  const args = [
    '-c', String(o.connections), '-m', String(o.streamsPerConnection), '-t', '1',
    '-D', `${Math.max(1, o.windowMs)}ms`, `--warm-up-time=${Math.max(0, o.warmupMs)}ms`,
    '-d', o.bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
    `--log-file=${log}`, `http://${o.address}${o.path}`,
  ];
  // A shell waits for h2load, then prints its own /proc stat: cutime + cstime there are h2load's CPU time.
  const script = `"$0" "$@"; code=$?; echo; cat /proc/$$/stat; exit $code`;
  const argv = ['-c', script, o.binary, ...args];
  const [cmd, cmdArgs] = o.cpus.length ? ['taskset', ['-c', o.cpus.join(','), 'sh', ...argv]] : ['sh', argv];
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-50_000)));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-10_000)));
    child.once('error', reject);
    child.once('exit', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  try {
    if (code !== 0) throw new Error(`h2load exited with ${code}: ${stderr.trim() || stdout.trim().slice(-2000)}`);
    const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    if (!requests) throw new Error(`cannot read h2load's summary:\n${stdout.slice(-2000)}`);
    const statLine = stdout.trim().split('\n').pop() ?? '';
    const cpuSeconds = cpuSecondsOfStat(statLine).children;
    const recorder = new LatencyRecorder();
    const text = existsSync(log) ? await readFile(log, 'utf8') : '';
    for (const line of text.split('\n')) {
      const us = Number(line.split('\t')[2]);
      if (line && Number.isFinite(us)) recorder.add(us / 1000);
    }
    const done = Number(requests[3]);
    const succeeded = Number(requests[4]);
    // `errored` requests are among the `failed` ones.
    const failed = Number(requests[5]) + Number(requests[7]);
    const summary = recorder.summarize(o.windowMs, succeeded, failed);
    return { summary, done, failed, cpuSeconds, wallSeconds };
  } finally {
    await rm(log, { force: true });
  }
}
