// The h2load rows: unary ModelInfer driven by h2load against the node and
// against the two floors (grpc-js with pass-through serializers, node:http2
// alone; floor-server.ts), each row with both sides' CPU shares.
//   mlp:      64 in flight (node, grpc-js floor, http2 floor); 1 in flight
//             (node, grpc-js floor); a connections sweep with one request in
//             flight per connection (node);
//   ocr-cls:  32 in flight (node), against in-process ORT's best batch size;
//   any other case: 64 in flight (node and both floors).
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { BenchCase } from './cases.js';
import { cpuShare, treeCpuSeconds } from './cpu-usage.js';
import type { ExtraRunner, ExtraRunnerContext } from './extra-runner.js';
import { findH2load, runH2load } from './h2load.js';
import { encodeInferRequest, grpcFrame, MODEL_INFER_PATH } from './inference-proto.js';
import type { AnnouncedProcess } from './processes.js';
import type { LoadRow, Measured } from './report-rows.js';
import { ROW_GROUPS, ROW_SERVERS } from './row-names.js';
import { readStats } from './server-stats.js';

type Server = (typeof ROW_SERVERS)[keyof typeof ROW_SERVERS];

interface Planned {
  group: string;
  server: Server;
  connections: number;
  streamsPerConnection: number;
}

function plan(c: BenchCase, connections: number, sweep: readonly number[]): Planned[] {
  const at = (group: string, server: Server, inFlight: number, conns = Math.min(connections, inFlight)): Planned => ({
    group, server, connections: conns, streamsPerConnection: Math.ceil(inFlight / conns),
  });
  const all: Server[] = [ROW_SERVERS.node, ROW_SERVERS.grpcJsFloor, ROW_SERVERS.http2Floor];
  if (c.name === 'mlp') {
    return [
      ...all.map((s) => at(ROW_GROUPS.unary64, s, 64)),
      at(ROW_GROUPS.unary1, ROW_SERVERS.node, 1),
      at(ROW_GROUPS.unary1, ROW_SERVERS.grpcJsFloor, 1),
      ...sweep.map((n) => at(ROW_GROUPS.connections, ROW_SERVERS.node, n, n)),
    ];
  }
  if (c.name === 'ocr-cls') return [at(ROW_GROUPS.ocrUnary, ROW_SERVERS.node, 32)];
  return all.map((s) => at(ROW_GROUPS.unary64, s, 64));
}

export const h2loadRunner: ExtraRunner = {
  name: 'h2load',
  unavailable: (options) =>
    !options.h2load ? 'turned off (--no-h2load)' : findH2load() ? undefined : 'h2load is not installed (Debian: apt-get install nghttp2-client)',

  async run(ctx: ExtraRunnerContext): Promise<LoadRow[]> {
    const binary = findH2load()!;
    const o = ctx.options;
    const rows: LoadRow[] = [];
    for (const c of ctx.cases) {
      const items = plan(c, o.connections, o.connectionSweep);
      const bodyFile = join(ctx.workDir, `${c.name}.grpc-body`);
      await writeFile(bodyFile, grpcFrame(encodeInferRequest(c.name, c.input)));
      const floors = new Map<Server, AnnouncedProcess>();
      try {
        ctx.progress(`  h2load: ${c.name}, unary, ${items.length} row(s)`);
        for (const item of items) {
          let server = ctx.node;
          if (item.server !== ROW_SERVERS.node) {
            let floor = floors.get(item.server);
            if (!floor) {
              floor = await ctx.spawnServer('floor-server.js', [item.server === ROW_SERVERS.grpcJsFloor ? 'grpc-js' : 'http2', JSON.stringify(c.output)]);
              floors.set(item.server, floor);
            }
            server = floor;
          }
          const isNode = item.server === ROW_SERVERS.node;
          const before = isNode ? await readStats(ctx.stats, c.name) : undefined;
          // The node's failure count is read just before the window ends: h2load cancels what is
          // still in flight when it stops, and the node counts those cancellations as failures.
          const beforeEnd = isNode ? sleep(o.warmupMs + o.h2loadWindowMs - Math.min(200, o.h2loadWindowMs / 10)).then(() => readStats(ctx.stats, c.name)) : undefined;
          const s0 = treeCpuSeconds(server.pid);
          const t0 = performance.now();
          const r = await runH2load({
            binary, address: server.endpoints.grpc!, path: MODEL_INFER_PATH, bodyFile,
            connections: item.connections, streamsPerConnection: item.streamsPerConnection,
            warmupMs: o.warmupMs, windowMs: o.h2loadWindowMs, cpus: ctx.cores.client, workDir: ctx.workDir,
          });
          const wall = (performance.now() - t0) / 1000;
          const serverSeconds = treeCpuSeconds(server.pid) - s0;
          const measured: Measured = { ...r.summary };
          if (isNode) {
            // h2load sees HTTP 200 for gRPC errors too: the node's own count of failures says.
            const after = await beforeEnd;
            const grpcErrors = before && after ? after.fail - before.fail : 0;
            if (grpcErrors > 0) {
              measured.errors += grpcErrors;
              measured.firstError = `${grpcErrors} gRPC error(s) counted by the node's ModelStatistics during the window (h2load counts HTTP status only)`;
            }
          }
          measured.cpu = cpuShare(serverSeconds, ctx.serverCpuCount, r.cpuSeconds, ctx.clientCpuCount, wall);
          const inFlight = item.connections * item.streamsPerConnection;
          rows.push({ group: item.group, case: c.name, server: item.server, generator: 'h2load', mode: 'unary', connections: item.connections, streamsPerConnection: item.streamsPerConnection, inFlight, measured });
          ctx.progress(
            `    ${item.group.padEnd(11)} ${item.server.padEnd(13)} c=${String(item.connections).padEnd(3)} m=${String(item.streamsPerConnection).padEnd(3)} ` +
              `${measured.throughput.toFixed(0)}/s p50 ${measured.p50Ms.toFixed(2)} ms p99 ${measured.p99Ms.toFixed(2)} ms` +
              `${measured.errors ? ` ${measured.errors} errors` : ''} cpu server ${(measured.cpu.server * 100).toFixed(0)}% client ${(measured.cpu.client * 100).toFixed(0)}% (${measured.cpu.bound} bound)`,
          );
        }
      } finally {
        for (const f of floors.values()) await f.stop();
      }
    }
    return rows;
  },
};
