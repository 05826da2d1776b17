// The benchmark's REST rows: unary POST /v2/models/{name}/infer over HTTP/1.1
// keep-alive, with JSON and with binary (Triton's extension) bodies, against the
// node's HTTP port and against a bare node:http echo server (REST's transport
// limit), at each concurrency of the sweep. run-bench.ts calls it with the
// node it measures gRPC on, so the rows stand beside the gRPC unary rows.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchCase } from './cases.js';
import type { LatencySummary } from './latency.js';
import { forkWorker, spawnAnnounced } from './processes.js';
import { REST_ENCODINGS, restRequestBody, type RestEncoding } from './rest-payloads.js';
import type { RestLoadCommand } from './rest-load.js';

/** Options of {@link runRestBench}. */
export interface RestBenchOptions {
  /** `host:port` of the node's HTTP server (`infermesh serve --http-port`). */
  address: string;
  cases: readonly BenchCase[];
  concurrency: readonly number[];
  warmupMs: number;
  windowMs: number;
  /** CPUs of the echo server (the node's) and of the load generator; [] = unpinned. */
  serverCpus: readonly number[];
  clientCpus: readonly number[];
  progress: (line: string) => void;
}

/** One REST measurement: the node, the bare echo, and the share of the echo's throughput the node reaches. */
export interface RestPoint {
  encoding: RestEncoding;
  concurrency: number;
  served: LatencySummary & { firstError?: string };
  transport: LatencySummary & { firstError?: string };
  /** served / transport throughput. */
  servedOverTransport: number;
}

export interface RestCaseReport {
  name: string;
  requestBytes: Record<RestEncoding, number>;
  points: RestPoint[];
}

/** The REST section of the bench report. */
export interface RestBenchReport {
  transport: string;
  cases: RestCaseReport[];
}

/** The compiled file next to this one in dist/bench (children run compiled JavaScript). */
function distFile(rel: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const base = here.split(/[\\/]/).includes('dist') ? here : resolve(here, '..', 'dist', 'bench');
  const file = resolve(base, rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

/** Measures every case, encoding and concurrency; progress lines as it goes. */
export async function runRestBench(options: RestBenchOptions): Promise<RestBenchReport> {
  const loader = forkWorker(distFile('rest-load.js'), options.clientCpus);
  const report: RestBenchReport = { transport: 'HTTP/1.1 keep-alive, one connection per request in flight (node:http)', cases: [] };
  try {
    for (const c of options.cases) {
      const echo = await spawnAnnounced(distFile('rest-echo.js'), [JSON.stringify(c.output)], options.serverCpus);
      const caseReport: RestCaseReport = {
        name: c.name,
        requestBytes: { json: restRequestBody(c.input, 'json').body.byteLength, binary: restRequestBody(c.input, 'binary').body.byteLength },
        points: [],
      };
      try {
        const load = async (address: string, encoding: RestEncoding, concurrency: number) => {
          const cmd: RestLoadCommand = { kind: 'rest-load', address, modelName: c.name, encoding, concurrency, warmupMs: options.warmupMs, windowMs: options.windowMs, input: c.input };
          const reply = (await loader.call(cmd)) as unknown as { summary: LatencySummary; firstError?: string };
          return { ...reply.summary, ...(reply.firstError ? { firstError: reply.firstError } : {}) };
        };
        for (const encoding of REST_ENCODINGS) {
          for (const concurrency of options.concurrency) {
            const served = await load(options.address, encoding, concurrency);
            const transport = await load(echo.endpoints.http!, encoding, concurrency);
            const point: RestPoint = { encoding, concurrency, served, transport, servedOverTransport: transport.throughput > 0 ? served.throughput / transport.throughput : 0 };
            caseReport.points.push(point);
            options.progress(
              `  rest ${c.name.padEnd(8)} ${encoding.padEnd(6)} c=${String(concurrency).padEnd(4)} served ${rate(served)} transport ${rate(transport)} served/transport ${point.servedOverTransport.toFixed(2)}`,
            );
          }
        }
      } finally {
        await echo.stop();
      }
      report.cases.push(caseReport);
    }
  } finally {
    await loader.close();
  }
  return report;
}

/** A window with no completion has no percentiles (NaN, which IPC turns into null). */
const ms = (v: number | null, digits: number) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

function rate(m: LatencySummary & { firstError?: string }): string {
  return `${m.throughput.toFixed(0)}/s (p50 ${ms(m.p50Ms, 2)} p99 ${ms(m.p99Ms, 1)} ms${m.errors ? `, ${m.errors} errors: ${m.firstError}` : ''})`;
}
