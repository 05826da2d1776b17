import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { invalidArgument, unavailable } from '../../../shared/errors/index.js';

/** One ORT session, and how to run it. */
export interface SessionRunner {
  readonly outputNames: readonly string[];
  /**
   * Runs the session once. `owned` says the feeds' buffers belong to the caller
   * alone (a freshly assembled batch), so they may move to a worker without a copy.
   * Resolves with the outputs and the time the run itself took.
   * On the event-loop thread the run happens before this returns (the promise is
   * already settled): the event loop does nothing else meanwhile, as with any
   * session on that thread, but it takes no extra turn either.
   */
  run(feeds: Readonly<Record<string, Tensor>>, fetches: readonly string[], owned: boolean): Promise<{ outputs: Record<string, Tensor>; runNs: bigint }>;
  release(): Promise<void>;
}

/** Creates a session on `thread`; rejects with ORT's error when the session cannot be created. */
export function createSessionRunner(thread: 'worker' | 'main', modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  return thread === 'worker' ? createWorkerRunner(modelBytes, options) : createMainThreadRunner(modelBytes, options);
}

/**
 * onnxruntime-node's native session (its `dist/binding.js`), under the JS
 * layer that `InferenceSession` adds: that layer re-validates every call,
 * rebuilds the fetches object, and runs the native call in a setImmediate
 * callback, so each batch on the event-loop thread waited one more turn of the
 * loop (timers, a poll for I/O) before it started. Our callers validate feeds
 * against the model's signature already; the checks ORT's layer made that
 * ours do not (an input missing, an unknown fetch) are made here.
 */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: InferenceSession.SessionOptions): void;
  readonly inputMetadata: readonly { readonly name: string }[];
  readonly outputMetadata: readonly { readonly name: string }[];
  run(feeds: Readonly<Record<string, Tensor>>, fetches: Readonly<Record<string, null>>, options: object): Record<string, Tensor>;
  dispose(): void;
}

interface NativeBinding {
  readonly binding: { readonly InferenceSession: new () => NativeSession };
  /** Initialises ORT once per thread (log level from `env`, the Tensor class outputs are made with). */
  readonly initOrt: () => void;
}

/** The module path of onnxruntime-node's native binding wrapper (1.2x layout); undefined when it is not there. */
function nativeBindingPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('onnxruntime-node/dist/binding.js');
  } catch {
    return undefined;
  }
}

let native: NativeBinding | null | undefined;

/** The native binding, or undefined when this onnxruntime-node does not have the layout we know (the public API is used then). */
function nativeBinding(): NativeBinding | undefined {
  if (native === undefined) {
    native = null;
    const path = nativeBindingPath();
    try {
      const m = path ? (createRequire(import.meta.url)(path) as Partial<NativeBinding>) : undefined;
      if (m && typeof m.initOrt === 'function' && typeof m.binding?.InferenceSession === 'function') native = m as NativeBinding;
    } catch {
      // An unknown layout: fall back to InferenceSession.
    }
  }
  return native ?? undefined;
}

/** The fetches object the native run takes for a list of output names, built once per list and reused. */
class FetchCache {
  readonly #valid: ReadonlySet<string>;
  #last: readonly string[] | undefined;
  #lastObject: Readonly<Record<string, null>> = {};
  readonly #byKey = new Map<string, Readonly<Record<string, null>>>();

  constructor(outputNames: readonly string[]) {
    this.#valid = new Set(outputNames);
  }

  get(fetches: readonly string[]): Readonly<Record<string, null>> {
    // The run loop passes the same array for every batch that wants every output.
    if (fetches === this.#last) return this.#lastObject;
    const key = fetches.join('\0');
    let object = this.#byKey.get(key);
    if (!object) {
      if (fetches.length === 0) throw invalidArgument('no output requested');
      const built: Record<string, null> = {};
      for (const name of fetches) {
        if (!this.#valid.has(name)) throw invalidArgument(`unknown output '${name}'; the model has ${[...this.#valid].join(', ')}`);
        built[name] = null;
      }
      object = Object.freeze(built);
      // Bounded: a model has few outputs, and callers name few subsets of them.
      if (this.#byKey.size < 64) this.#byKey.set(key, object);
    }
    this.#last = fetches;
    this.#lastObject = object;
    return object;
  }
}

const NO_RUN_OPTIONS = Object.freeze({});

async function createMainThreadRunner(modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const binding = nativeBinding();
  if (!binding) return createPublicApiRunner(modelBytes, options);
  // Created in a later turn, as InferenceSession.create does (loading blocks the thread).
  await new Promise<void>((resolve) => setImmediate(resolve));
  binding.initOrt();
  const session = new binding.binding.InferenceSession();
  session.loadModel(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength, options);
  const inputNames = session.inputMetadata.map((m) => m.name);
  const outputNames = session.outputMetadata.map((m) => m.name);
  const fetchCache = new FetchCache(outputNames);
  let released = false;
  return {
    outputNames,
    run(feeds, fetches) {
      try {
        if (released) throw unavailable('the session was released');
        for (const name of inputNames) if (feeds[name] === undefined) throw invalidArgument(`input '${name}' is missing`);
        const fetchObject = fetchCache.get(fetches);
        const startNs = process.hrtime.bigint();
        const outputs = session.run(feeds, fetchObject, NO_RUN_OPTIONS);
        return Promise.resolve({ outputs, runNs: process.hrtime.bigint() - startNs });
      } catch (err) {
        return Promise.reject(err);
      }
    },
    release: () => {
      if (!released) session.dispose();
      released = true;
      return Promise.resolve();
    },
  };
}

/** The same through onnxruntime's public API (an onnxruntime-node whose layout we do not know). */
async function createPublicApiRunner(modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
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

type Reply = { id: number; ok: true; inputNames?: string[]; outputNames?: string[]; outputs?: Record<string, WireTensor>; runNs?: string } | { id: number; ok: false; message: string };

// The worker's code, plain CommonJS (eval'd: it needs no build step and runs the
// same from source and from dist/). It owns one session for its whole life:
// the native one (see NativeSession) when the binding's layout is known, else
// through InferenceSession. Feeds and fetches come checked by the parent.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const native = workerData.bindingPath ? require(workerData.bindingPath) : undefined;
let session;
let runNative;
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'create') {
      let inputNames, outputNames;
      if (native) {
        native.initOrt();
        const s = new native.binding.InferenceSession();
        const b = msg.modelBytes;
        s.loadModel(b.buffer, b.byteOffset, b.byteLength, msg.options);
        session = { release: async () => s.dispose() };
        runNative = (feeds, fetches) => s.run(feeds, fetches, {});
        inputNames = s.inputMetadata.map((m) => m.name);
        outputNames = s.outputMetadata.map((m) => m.name);
      } else {
        session = await ort.InferenceSession.create(msg.modelBytes, msg.options);
        inputNames = session.inputNames;
        outputNames = session.outputNames;
      }
      parentPort.postMessage({ id: msg.id, ok: true, inputNames, outputNames });
    } else if (msg.kind === 'run') {
      const feeds = {};
      for (const name of Object.keys(msg.feeds)) { const t = msg.feeds[name]; feeds[name] = new ort.Tensor(t.type, t.data, t.dims); }
      const start = process.hrtime.bigint();
      const out = runNative ? runNative(feeds, msg.fetches) : await session.run(feeds, Object.keys(msg.fetches));
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
      runNative = undefined;
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, message: err && err.message ? err.message : String(err) });
  }
});
`;

async function createWorkerRunner(modelBytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<SessionRunner> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const bindingPath = nativeBinding() ? nativeBindingPath() : undefined;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, bindingPath } });
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
  const inputNames = created.inputNames ?? [];
  const outputNames = created.outputNames ?? [];
  const fetchCache = new FetchCache(outputNames);
  return {
    outputNames,
    async run(feeds, fetches, owned) {
      for (const name of inputNames) if (feeds[name] === undefined) throw invalidArgument(`input '${name}' is missing`);
      const fetchObject = fetchCache.get(fetches);
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
      const reply = await call({ kind: 'run', feeds: wire, fetches: fetchObject }, transfer);
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
