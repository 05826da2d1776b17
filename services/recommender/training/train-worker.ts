// The worker-thread side of runTraining: trains off the service's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import type { IalsParams } from '../learning/index.js';
import { trainAndEvaluate, type TrainingData } from './train-and-evaluate.js';

const { data, params, threads } = workerData as { data: TrainingData; params: Partial<IalsParams>; threads: number };
const outcome = await trainAndEvaluate(data, params, { threads, onEpoch: (r) => parentPort!.postMessage({ kind: 'epoch', report: r }) });
// Factors in SharedArrayBuffers (parallel training) are shared, not transferred.
const transfer = [outcome.model.userFactors.buffer, outcome.model.itemFactors.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
parentPort!.postMessage({ kind: 'done', outcome }, transfer);
