import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CsrMatrix, Interactions } from './csr.js';
import { gramian } from './dense.js';
import { createIalsTrainer, epochFlops, ialsLoss, type EpochReport } from './ials.js';
import type { FactorModel } from './factor-model.js';
import type { IalsParams } from './params.js';

/** An iALS run whose half-steps are split over worker threads. */
export interface ParallelIalsTrainer {
  readonly params: IalsParams;
  readonly model: FactorModel;
  readonly userItems: CsrMatrix;
  readonly itemUsers: CsrMatrix;
  /** Threads actually used (1 when the compiled worker is not available). */
  readonly threads: number;
  epoch(signal?: AbortSignal, now?: () => number): Promise<EpochReport>;
  loss(): number;
  /** Ends the workers. Idempotent. */
  close(): Promise<void>;
}

export interface ParallelOptions {
  /** Worker threads. Default: the machine's available parallelism. 1 runs on the calling thread. */
  threads?: number;
  /** The compiled half-step worker; default `half-step-worker.js` beside this module. */
  workerUrl?: URL;
}

/**
 * The trainer of {@link createIalsTrainer} with each half-step's rows split
 * over worker threads by their cost (rows × d³/3 + nnz × d²): the CSR
 * matrices and factors live in SharedArrayBuffers, the calling thread computes
 * the Gramian once per half-step and the workers solve disjoint rows. Row
 * solves are independent, so the result is identical to the sequential trainer's.
 */
export function createParallelIalsTrainer(data: Interactions | CsrMatrix, options: Partial<IalsParams> = {}, parallel: ParallelOptions = {}): ParallelIalsTrainer {
  const base = createIalsTrainer(data, options);
  const workerFile = fileURLToPath(parallel.workerUrl ?? new URL('./half-step-worker.js', import.meta.url));
  const wanted = Math.max(1, Math.floor(parallel.threads ?? availableParallelism()));
  const threads = existsSync(workerFile) ? Math.min(wanted, Math.max(1, base.userItems.rows)) : 1;
  const { params } = base;
  if (threads === 1) {
    return { ...base, threads, epoch: async (signal, now) => base.epoch(signal, now), loss: base.loss, close: async () => undefined };
  }
  const shareCsr = (m: CsrMatrix): CsrMatrix => ({ ...m, indptr: share(m.indptr), indices: share(m.indices), values: share(m.values) });
  const userItems = shareCsr(base.userItems);
  const itemUsers = shareCsr(base.itemUsers);
  const model: FactorModel = { ...base.model, userFactors: share(base.model.userFactors), itemFactors: share(base.model.itemFactors) };
  const workers = Array.from(
    { length: threads },
    () => new Worker(workerFile, { workerData: { userItems, itemUsers, userFactors: model.userFactors, itemFactors: model.itemFactors, params } }),
  );
  const d = params.dim;
  const halfStep = async (side: 'users' | 'items', signal?: AbortSignal) => {
    signal?.throwIfAborted();
    const csr = side === 'users' ? userItems : itemUsers;
    const fixed = side === 'users' ? model.itemFactors : model.userFactors;
    const G = new Float64Array(new SharedArrayBuffer(d * d * 8));
    gramian(fixed, csr.cols, d, G);
    const ranges = splitByCost(csr, d, threads);
    await Promise.all(
      ranges.map(
        ([start, end], w) =>
          new Promise<void>((resolve, reject) => {
            const worker = workers[w]!;
            const onError = (err: Error) => reject(err);
            worker.once('error', onError);
            worker.once('message', () => {
              worker.off('error', onError);
              resolve();
            });
            worker.postMessage({ side, gramian: G, start, end });
          }),
      ),
    );
  };
  let epochs = 0;
  let closed: Promise<void> | undefined;
  return {
    params,
    model,
    userItems,
    itemUsers,
    threads,
    async epoch(signal, now = () => performance.now()) {
      const start = now();
      await halfStep('users', signal);
      await halfStep('items', signal);
      const seconds = (now() - start) / 1000;
      epochs++;
      return { epoch: epochs, loss: ialsLoss(model, userItems, itemUsers), seconds, flops: epochFlops(userItems, d) };
    },
    loss: () => ialsLoss(model, userItems, itemUsers),
    close: () => (closed ??= Promise.all(workers.map((w) => w.terminate())).then(() => undefined)),
  };
}

/** Consecutive row ranges of about equal solve cost, one per thread. */
function splitByCost(csr: CsrMatrix, d: number, parts: number): [number, number][] {
  const rowCost = (d * d) / 3; // the Cholesky's d³/3 over the d² of one observed entry
  const total = csr.rows * rowCost + csr.indices.length;
  const ranges: [number, number][] = [];
  let start = 0;
  for (let p = 1; p <= parts; p++) {
    const target = (total * p) / parts;
    let end = start;
    while (end < csr.rows && (p === parts || end * rowCost + csr.indptr[end]! < target)) end++;
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

function share<T extends Float32Array | Int32Array>(a: T): T {
  const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

/**
 * Runs every epoch of `trainer.params.epochs`, reporting each to `onEpoch`, then
 * closes the trainer (also when an epoch fails or `signal` aborts). The trained
 * factors stay readable on `trainer.model`.
 */
export async function trainAllEpochs(
  trainer: ParallelIalsTrainer,
  options: { onEpoch?: (report: EpochReport) => void; signal?: AbortSignal } = {},
): Promise<EpochReport[]> {
  const epochs: EpochReport[] = [];
  try {
    for (let e = 0; e < trainer.params.epochs; e++) {
      const report = await trainer.epoch(options.signal);
      epochs.push(report);
      options.onEpoch?.(report);
    }
  } finally {
    await trainer.close();
  }
  return epochs;
}
