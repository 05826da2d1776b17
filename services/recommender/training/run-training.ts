import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Code, InfermeshError } from '../../../shared/errors/index.js';
import type { EpochReport, IalsParams } from '../learning/index.js';
import { trainAndEvaluate, type TrainingData, type TrainOutcome } from './train-and-evaluate.js';

/**
 * Runs {@link trainAndEvaluate} in a worker thread when the compiled worker is
 * there (dist/), so that serving goes on while a model trains; in-process
 * otherwise (sources run by the test runner). `threads` > 1 splits each
 * half-step further over that many threads. Aborting terminates the worker.
 */
export async function runTraining(data: TrainingData, params: Partial<IalsParams>, options: { onEpoch?: (r: EpochReport) => void; signal?: AbortSignal; inWorker?: boolean; threads?: number } = {}): Promise<TrainOutcome> {
  const workerFile = fileURLToPath(new URL('./train-worker.js', import.meta.url));
  if (options.inWorker === false || !existsSync(workerFile)) {
    return trainAndEvaluate(data, params, options);
  }
  options.signal?.throwIfAborted();
  const worker = new Worker(workerFile, { workerData: { data, params, threads: options.threads ?? 1 } });
  return new Promise<TrainOutcome>((resolve, reject) => {
    const abort = () => {
      void worker.terminate();
      reject(new InfermeshError(Code.CANCELLED, 'training was cancelled'));
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (m: { kind: 'epoch'; report: EpochReport } | { kind: 'done'; outcome: TrainOutcome }) => {
      if (m.kind === 'epoch') options.onEpoch?.(m.report);
      else {
        options.signal?.removeEventListener('abort', abort);
        resolve(m.outcome);
        void worker.terminate();
      }
    });
    worker.on('error', (err) => {
      options.signal?.removeEventListener('abort', abort);
      reject(InfermeshError.from(err, Code.INTERNAL));
    });
    worker.on('exit', (code) => {
      if (code !== 0) reject(new InfermeshError(Code.INTERNAL, `the training worker exited with code ${code}`));
    });
  });
}
