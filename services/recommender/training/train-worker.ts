// The worker-thread side of runTraining: trains off the service's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import type { IalsParams } from '../learning/index.js';
import { trainAndEvaluate, type TrainingData } from './train-and-evaluate.js';

const { data, params } = workerData as { data: TrainingData; params: Partial<IalsParams> };
const outcome = trainAndEvaluate(data, params, { onEpoch: (r) => parentPort!.postMessage({ kind: 'epoch', report: r }) });
const { userFactors, itemFactors } = outcome.model;
parentPort!.postMessage({ kind: 'done', outcome }, [userFactors.buffer as ArrayBuffer, itemFactors.buffer as ArrayBuffer]);
