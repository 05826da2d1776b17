import { Code, InfermeshError } from '../errors/index.js';
import type { CallOptions } from './inference-client.js';
import { isConnectionLoss, isNeverSent } from '../rpc/index.js';
import { createInferenceClient, type InferenceClient, type InferenceClientOptions } from './inference-client.js';

/**
 * A client of several inference nodes (any node of a mesh serves any model):
 * calls go to one node; when its connection is lost the client moves to the
 * next address for the calls that follow. A call that failed before it was
 * sent (the node unreachable) is sent to the next node at once, within its
 * deadline; a call that was on a connection when it was lost may have run
 * and is not sent again (it rejects UNAVAILABLE). Streams stay on the node
 * they opened on.
 */
export function createFailoverInferenceClient(addresses: readonly string[], options: InferenceClientOptions = {}): InferenceClient {
  if (addresses.length === 0) throw new InfermeshError(Code.INVALID_ARGUMENT, 'createFailoverInferenceClient: give at least one node address');
  const clients = addresses.map((a) => createInferenceClient(a, options));
  let current = 0;

  /** Runs `call` on the current node, moving on as described above. */
  const run = async <T>(call: (c: InferenceClient, callOptions: CallOptions | undefined) => Promise<T>, callOptions: CallOptions | undefined): Promise<T> => {
    const timeoutMs = callOptions?.timeoutMs ?? options.timeoutMs;
    const deadline = timeoutMs !== undefined ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    let lastError: unknown;
    for (let tries = 0; tries < clients.length; tries++) {
      const index = current;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await call(clients[index]!, Number.isFinite(remaining) ? { ...callOptions, timeoutMs: remaining } : callOptions);
      } catch (err) {
        lastError = err;
        if (!isConnectionLoss(err) || callOptions?.signal?.aborted) throw err;
        if (current === index) current = (index + 1) % clients.length; // later calls go to the next node
        if (!isNeverSent(err)) throw err; // it may have run: not sent again
      }
    }
    throw lastError ?? new InfermeshError(Code.DEADLINE_EXCEEDED, 'the deadline passed before any node could be tried');
  };

  return {
    get address() {
      return clients[current]!.address;
    },
    serverLive: (o) => run((c, x) => c.serverLive(x), o),
    serverReady: (o) => run((c, x) => c.serverReady(x), o),
    serverMetadata: (o) => run((c, x) => c.serverMetadata(x), o),
    modelReady: (name, version, o) => run((c, x) => c.modelReady(name, version, x), o),
    modelMetadata: (name, version, o) => run((c, x) => c.modelMetadata(name, version, x), o),
    modelConfig: (name, version, o) => run((c, x) => c.modelConfig(name, version, x), o),
    modelStatistics: (name, version, o) => run((c, x) => c.modelStatistics(name, version, x), o),
    repositoryIndex: (filter, o) => run((c, x) => c.repositoryIndex(filter, x), o),
    repositoryModelLoad: (name, load, o) => run((c, x) => c.repositoryModelLoad(name, load, x), o),
    repositoryModelUnload: (name, o) => run((c, x) => c.repositoryModelUnload(name, x), o),
    modelInfer: (request, o) => run((c, x) => c.modelInfer(request, x), o),
    infer: (spec, o) => run((c, x) => c.infer(spec, x), o),
    stream: (o) => clients[current]!.stream(o),
    waitForReady: (timeoutMs) => clients[current]!.waitForReady(timeoutMs),
    close() {
      for (const c of clients) c.close();
    },
  };
}
