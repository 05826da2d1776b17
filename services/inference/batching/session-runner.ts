import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { unavailable } from '../../../shared/errors/index.js';

/** One ORT session, and how to run it. */
export interface SessionRunner {
  readonly outputNames: readonly string[];
  /**
   * Runs the session once. `owned` says the feeds' buffers belong to the caller
   * alone (a freshly assembled batch), so they may move to a worker without a copy.
   * Resolves with the outputs and the time the run itself took.
   */
  run(feeds: Readonly<Record<string, Tensor>>, fetches: readonly string[], owned: boolean): Promise<{ outputs: Record<string, Tensor>; runNs: bigint }>;
  release(): Promise<void>;
}

/** Creates a session on `thread`; rejects with ORT's error when the session cannot be created. */
export function createSessionRunner(thread: 'worker' | 'main', modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  return thread === 'worker' ? createWorkerRunner(modelBytes, options) : createMainThreadRunner(modelBytes, options);
}

async function createMainThreadRunner(modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const session = await InferenceSession.create(modelBytes, options);
  return {
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      // onnxruntime-node runs the session in a setImmediate callback; this one,
      // queued just before it, marks when the run really starts, so the
      // event-loop turn in between (other requests being read) is not counted.
      let startNs = process.hrtime.bigint();
      setImmediate(() => (startNs = process.hrtime.bigint()));
      const outputs = (await session.run(feeds, fetches)) as Record<string, Tensor>;
      return { outputs, runNs: process.hrtime.bigint() - startNs };
    },
    release: () => session.release(),
  };
}

/** A tensor as it crosses to and from a worker. */
interface WireTensor {
  type: Tensor['type'];
  data: Tensor['data'];
  dims: readonly number[];
}

type Reply = { id: number; ok: true; outputNames?: string[]; outputs?: Record<string, WireTensor>; runNs?: string } | { id: number; ok: false; message: string };

// The worker's code, plain CommonJS (eval'd: it needs no build step and runs the
// same from source and from dist/). It owns one session for its whole life.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'create') {
      session = await ort.InferenceSession.create(msg.modelBytes, msg.options);
      parentPort.postMessage({ id: msg.id, ok: true, outputNames: session.outputNames });
    } else if (msg.kind === 'run') {
      const feeds = {};
      for (const name of Object.keys(msg.feeds)) { const t = msg.feeds[name]; feeds[name] = new ort.Tensor(t.type, t.data, t.dims); }
      const start = process.hrtime.bigint();
      const out = await session.run(feeds, msg.fetches);
      const runNs = String(process.hrtime.bigint() - start);
      const outputs = {};
      const transfer = [];
      for (const name of Object.keys(out)) {
        const t = out[name];
        outputs[name] = { type: t.type, data: t.data, dims: t.dims };
        if (t.type !== 'string' && !transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
      parentPort.postMessage({ id: msg.id, ok: true, outputs, runNs }, transfer);
    } else if (msg.kind === 'release') {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, message: err && err.message ? err.message : String(err) });
  }
});
`;

async function createWorkerRunner(modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } });
  const pending = new Map<number, { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | undefined;
  const failAll = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    // An idle worker must not keep the process alive; a busy one must.
    if (pending.size === 0) worker.unref();
    if (reply.ok) p.resolve(reply);
    else p.reject(new Error(reply.message));
  });
  worker.on('error', (err) => failAll(unavailable(`the session worker failed: ${err.message}`, err)));
  worker.on('exit', (code) => failAll(unavailable(`the session worker exited (code ${code})`)));
  const call = (message: Record<string, unknown>, transfer: ArrayBuffer[] = []) =>
    new Promise<Reply & { ok: true }>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...message, id }, transfer);
    });
  let created: Reply & { ok: true };
  try {
    created = await call({ kind: 'create', modelBytes, options });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    outputNames: created.outputNames ?? [],
    async run(feeds, fetches, owned) {
      const wire: Record<string, WireTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, t] of Object.entries(feeds)) {
        let data = t.data;
        if (t.type !== 'string') {
          // A caller's tensor is usually a view into a larger received buffer:
          // copy exactly its bytes rather than clone or detach that buffer.
          const typed = data as Float32Array;
          if (!owned || typed.byteOffset !== 0 || typed.byteLength !== typed.buffer.byteLength) data = typed.slice();
          transfer.push((data as Float32Array).buffer as ArrayBuffer);
        }
        wire[name] = { type: t.type, data, dims: t.dims };
      }
      const reply = await call({ kind: 'run', feeds: wire, fetches }, transfer);
      const outputs: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(reply.outputs ?? {})) outputs[name] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      return { outputs, runNs: BigInt(reply.runNs ?? '0') };
    },
    release: () =>
      (released ??= (async () => {
        await call({ kind: 'release' }).catch(() => {});
        await worker.terminate();
      })()),
  };
}
