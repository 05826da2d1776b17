// The REST load generator: a child process (pinned to its own cores) that
// keeps `concurrency` unary POST /v2/models/{name}/infer requests in flight
// over HTTP/1.1 keep-alive connections (one per request in flight, as HTTP/1.1
// allows no more) for a timed window, with JSON or binary bodies, and reports
// throughput and latency percentiles. The node and the bare echo server see
// the very same client.
import { Agent, request } from 'node:http';
import { ClosedLoop } from './closed-loop.js';
import type { LatencySummary } from './latency.js';
import { restRequestBody, type RestEncoding } from './rest-payloads.js';
import type { PayloadSpec } from './worker-protocol.js';

/** What the orchestrator (rest-bench.ts) asks for, over IPC. */
export interface RestLoadCommand {
  kind: 'rest-load';
  /** `host:port` of the HTTP server. */
  address: string;
  modelName: string;
  encoding: RestEncoding;
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  input: PayloadSpec;
}

export type RestLoadReply = { kind: 'rest-load'; summary: LatencySummary; firstError?: string } | { kind: 'error'; message: string };

async function runLoad(cmd: RestLoadCommand): Promise<{ summary: LatencySummary; firstError?: string }> {
  const [host, port] = [cmd.address.slice(0, cmd.address.lastIndexOf(':')), Number(cmd.address.slice(cmd.address.lastIndexOf(':') + 1))];
  const agent = new Agent({ keepAlive: true, maxSockets: cmd.concurrency, maxFreeSockets: cmd.concurrency });
  const { body, headers } = restRequestBody(cmd.input, cmd.encoding);
  const path = `/v2/models/${encodeURIComponent(cmd.modelName)}/infer`;
  const loop = new ClosedLoop();
  const finish = (startNs: bigint, error: string | undefined) => {
    if (loop.finish(startNs, error)) issue();
  };
  const issue = () => {
    const startNs = loop.begin();
    const req = request({ agent, host, port, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        if (res.statusCode !== 200 && text.length < 500) text += d.toString();
      });
      res.on('end', () => finish(startNs, res.statusCode === 200 ? undefined : `${res.statusCode} ${text}`));
      res.on('error', (err) => finish(startNs, err.message));
    });
    req.on('error', (err) => finish(startNs, err.message));
    req.end(body);
  };
  for (let i = 0; i < cmd.concurrency; i++) issue();
  const result = await loop.measure(cmd.warmupMs, cmd.windowMs);
  agent.destroy();
  return result;
}

process.on('message', (cmd: RestLoadCommand) => {
  runLoad(cmd).then(
    (r) => process.send!({ kind: 'rest-load', ...r } satisfies RestLoadReply),
    (err: unknown) => process.send!({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies RestLoadReply),
  );
});
process.on('disconnect', () => process.exit(0));
