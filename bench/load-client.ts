// The load generator: a child process (pinned to its own cores) that drives
// ModelInfer / ModelStreamInfer at a fixed concurrency for a timed window and
// reports throughput and latency percentiles. It speaks raw grpc-js over the
// KServe proto, so the node and the bare echo server see the very same client.
import { credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ModelInferRequest } from '../shared/generated/inference/ModelInferRequest.js';
import type { ModelStreamInferResponse__Output } from '../shared/generated/inference/ModelStreamInferResponse.js';
import type { GRPCInferenceServiceClient } from '../shared/generated/inference/GRPCInferenceService.js';
import { createRawInferenceClient } from './inference-proto.js';
import { ClosedLoop } from './closed-loop.js';
import type { LatencySummary } from './latency.js';
import { payloadBytes, type LoadCommand, type WorkerReply } from './worker-protocol.js';

const clients = new Map<string, GRPCInferenceServiceClient[]>();

/** `count` clients of `address`, each on its own HTTP/2 connection (kept across windows), over TLS when `caPem` is given. */
function connections(address: string, count: number, caPem?: string): GRPCInferenceServiceClient[] {
  const key = `${address} ${caPem === undefined ? 'plaintext' : 'tls'}`;
  let list = clients.get(key);
  if (!list) clients.set(key, (list = []));
  const channelCredentials = caPem === undefined ? credentials.createInsecure() : credentials.createSsl(Buffer.from(caPem));
  while (list.length < count) list.push(createRawInferenceClient(address, { 'grpc.use_local_subchannel_pool': 1 }, channelCredentials));
  return list.slice(0, count);
}

async function runLoad(cmd: LoadCommand): Promise<{ summary: LatencySummary; firstError?: string }> {
  const pool = connections(cmd.address, Math.max(1, Math.min(cmd.connections, cmd.concurrency)), cmd.security?.caPem);
  // One Metadata for every call: the token costs the node a check, not the generator an allocation.
  const metadata = new Metadata();
  if (cmd.security?.token !== undefined) metadata.set('authorization', `Bearer ${cmd.security.token}`);
  const request: ModelInferRequest = {
    modelName: cmd.modelName,
    inputs: [{ name: cmd.input.name, datatype: cmd.input.datatype, shape: cmd.input.shape }],
    rawInputContents: [payloadBytes(cmd.input)],
  };
  const loop = new ClosedLoop();

  const streams: ClientDuplexStream<ModelInferRequest, ModelStreamInferResponse__Output>[] = [];
  if (cmd.mode === 'unary') {
    // Each in-flight slot keeps to one connection.
    const issue = (client: GRPCInferenceServiceClient) => {
      const startNs = loop.begin();
      client.ModelInfer(request, metadata, (err) => {
        if (loop.finish(startNs, err ? `${err.code} ${err.details}` : undefined)) issue(client);
      });
    };
    for (let i = 0; i < cmd.concurrency; i++) issue(pool[i % pool.length]!);
  } else {
    const streamCount = Math.ceil(cmd.concurrency / cmd.requestsPerStream);
    let nextId = 0;
    for (let s = 0; s < streamCount; s++) {
      const call = pool[s % pool.length]!.ModelStreamInfer(metadata);
      streams.push(call);
      const started = new Map<string, bigint>();
      const send = () => {
        const id = String(nextId++);
        started.set(id, loop.begin());
        call.write({ ...request, id });
      };
      call.on('data', (msg: ModelStreamInferResponse__Output) => {
        const id = msg.inferResponse?.id ?? '';
        const startNs = started.get(id);
        if (startNs === undefined) return;
        started.delete(id);
        if (loop.finish(startNs, msg.errorMessage || undefined)) send();
      });
      call.on('error', (err) => {
        for (const startNs of started.values()) loop.finish(startNs, `stream: ${err.message}`);
        started.clear();
      });
      const share = Math.min(cmd.requestsPerStream, cmd.concurrency - s * cmd.requestsPerStream);
      for (let i = 0; i < share; i++) send();
    }
  }
  const result = await loop.measure(cmd.warmupMs, cmd.windowMs);
  for (const s of streams) s.end();
  return result;
}

process.on('message', (cmd: LoadCommand) => {
  runLoad(cmd).then(
    (r) => process.send!({ kind: 'load', ...r } satisfies WorkerReply),
    (err: unknown) => process.send!({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => {
  for (const list of clients.values()) for (const c of list) c.close();
  process.exit(0);
});
