import * as ort from 'onnxruntime-node';
import { InfermeshError, Code } from '../../../shared/errors/index.js';
import type { ModelConfig } from '../models/model-config.js';

/** Where an ORT session's model comes from: a file path or the ONNX bytes. */
export type ModelSource = { modelPath: string } | { modelBytes: Uint8Array };

/** A session created for one device, with notes about how it was set up (e.g. a CPU fallback). */
export interface PinnedSession {
  session: ort.InferenceSession;
  device: string;
  notes: string[];
}

/**
 * Creates one ORT session pinned to `device` (`cpu` or `cuda:N`) with the
 * config's thread counts. When a CUDA session cannot be created it falls back to
 * CPU only if `config.allowCpuFallback`, and says so in `notes`; otherwise it
 * rejects UNAVAILABLE with the reason.
 */
export async function createPinnedSession(source: ModelSource, device: string, config: ModelConfig): Promise<PinnedSession> {
  const base: ort.InferenceSession.SessionOptions = {};
  if (config.intraOpThreads !== undefined) base.intraOpNumThreads = config.intraOpThreads;
  if (config.interOpThreads !== undefined) base.interOpNumThreads = config.interOpThreads;
  const create = (options: ort.InferenceSession.SessionOptions) =>
    'modelPath' in source ? ort.InferenceSession.create(source.modelPath, options) : ort.InferenceSession.create(source.modelBytes, options);
  const cuda = /^cuda:(\d+)$/.exec(device);
  if (device !== 'cpu' && !cuda) throw new InfermeshError(Code.INVALID_ARGUMENT, `device '${device}' is not 'cpu' or 'cuda:N'`);
  if (!cuda) return { session: await createOrUnavailable(() => create({ ...base, executionProviders: ['cpu'] })), device: 'cpu', notes: [] };
  try {
    const session = await create({ ...base, executionProviders: [{ name: 'cuda', deviceId: Number(cuda[1]) }] });
    return { session, device, notes: [] };
  } catch (err) {
    const reason = `${device} unavailable: ${(err as Error).message}`;
    if (!config.allowCpuFallback) throw new InfermeshError(Code.UNAVAILABLE, `${reason} (set allowCpuFallback to run on CPU)`, { cause: err });
    const session = await createOrUnavailable(() => create({ ...base, executionProviders: ['cpu'] }));
    return { session, device: 'cpu', notes: [`${reason}; fell back to cpu`] };
  }
}

async function createOrUnavailable(create: () => Promise<ort.InferenceSession>): Promise<ort.InferenceSession> {
  try {
    return await create();
  } catch (err) {
    throw new InfermeshError(Code.UNAVAILABLE, `ONNX Runtime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
}
