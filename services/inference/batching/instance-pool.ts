import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { unavailable } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { Device } from './devices.js';
import { createSessionRunner, type SessionRunner } from './session-runner.js';
import { NO_SPINNING, allowSpinning, defaultIntraOpThreads } from './thread-placement.js';

/** One ORT session, created for one device and pinned to it (and to its thread) for its life. */
export interface Instance {
  readonly index: number;
  /** Where the session runs (after any CPU fallback): `cpu` or `cuda:N`. */
  readonly device: string;
  readonly runner: SessionRunner;
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /** Whether ORT's intra-op threads may spin-wait between runs (see allowSpinning). */
  readonly spinning: boolean;
}

export interface InstancePoolOptions {
  readonly modelBytes: Uint8Array;
  /** One entry per instance (see resolveInstanceDevices). */
  readonly devices: readonly Device[];
  /** Run a `cuda:N` instance on the CPU when the CUDA provider cannot be used. Default false. */
  readonly allowCpuFallback?: boolean;
  /** ORT intra-op threads per instance. Default: see defaultIntraOpThreads (the event-loop thread counted). */
  readonly intraOpThreads?: number;
  /** ORT inter-op threads per instance. Default 1 (execution is sequential). */
  readonly interOpThreads?: number;
  /** Where the sessions run. */
  readonly thread: 'worker' | 'main';
  /** Cores this process may use. Default os.availableParallelism() (which honours taskset). */
  readonly cpuCount?: number;
  readonly logger: Logger;
}

export interface InstancePool {
  readonly instances: readonly Instance[];
  /** The thread the sessions run on. */
  readonly sessionThread: 'worker' | 'main';
  /** How the pool was set up, e.g. a CUDA provider that could not load. */
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/**
 * Creates one ORT session per requested instance. A `cuda:N` instance uses the
 * CUDA execution provider with `deviceId: N`; when the provider cannot be
 * loaded, the pool says why (notes and a warning) and either puts that instance
 * on the CPU (allowCpuFallback) or fails with UNAVAILABLE naming the reason.
 * Sessions run sequentially (executionMode 'sequential'); threads default so
 * that the CPU instances and the event-loop thread together use each core
 * once, and intra-op spin-waiting is off where it would take the event loop's core.
 */
export async function createInstancePool(options: InstancePoolOptions): Promise<InstancePool> {
  const { logger } = options;
  const notes: string[] = [];
  const sessions: { device: string; runner: SessionRunner; intra: number; inter: number; spinning: boolean }[] = [];
  const closeAll = async () => {
    await Promise.all(sessions.map((s) => s.runner.release().catch(() => {})));
  };
  const { thread } = options;
  const inter = options.interOpThreads ?? 1;
  const base: InferenceSession.SessionOptions = { executionMode: 'sequential', graphOptimizationLevel: 'all', interOpNumThreads: inter };
  const cores = options.cpuCount ?? availableParallelism();
  // Spinning is decided over every CPU-side thread count, known once the CUDA
  // instances are placed; a CUDA session spins like the CPU ones would.
  let spinning = true;
  const withSpinning = (o: InferenceSession.SessionOptions): InferenceSession.SessionOptions => (spinning ? o : { ...o, extra: { ...NO_SPINNING } });

  // CUDA instances first: which of them fall back decides how many share the CPU.
  const placement: (string | undefined)[] = options.devices.map(() => undefined);
  const cudaFailure = new Map<number, string>();
  try {
    for (let i = 0; i < options.devices.length; i++) {
      const device = options.devices[i]!;
      if (device.kind !== 'cuda') continue;
      let reason = cudaFailure.get(device.deviceId) ?? missingCudaProvider();
      if (reason === undefined) {
        try {
          const intra = options.intraOpThreads ?? 1;
          spinning = allowSpinning(thread, cores, [intra]);
          const runner = await createSessionRunner(thread, options.modelBytes, withSpinning({
            ...base,
            intraOpNumThreads: intra,
            executionProviders: [{ name: 'cuda', deviceId: device.deviceId }],
          }));
          sessions.push({ device: device.name, runner, intra, inter, spinning });
          placement[i] = device.name;
          continue;
        } catch (err) {
          reason = err instanceof Error ? err.message : String(err);
        }
      }
      if (!cudaFailure.has(device.deviceId)) {
        cudaFailure.set(device.deviceId, reason);
        const note = `${device.name}: the CUDA execution provider cannot be used: ${reason}`;
        notes.push(options.allowCpuFallback ? `${note}; its instances run on the CPU (allowCpuFallback)` : note);
        logger.warn('CUDA execution provider unavailable', { device: device.name, reason, allowCpuFallback: options.allowCpuFallback === true });
      }
      if (!options.allowCpuFallback) {
        throw unavailable(`instance on ${device.name} cannot start: the CUDA execution provider cannot be used (${reason}); set allowCpuFallback to run it on the CPU`);
      }
      placement[i] = 'cpu';
    }
    const cpuInstances = options.devices.filter((d, i) => d.kind === 'cpu' || placement[i] === 'cpu').length;
    const intras = options.intraOpThreads ? Array.from({ length: cpuInstances }, () => options.intraOpThreads!) : defaultIntraOpThreads(thread, cores, cpuInstances);
    spinning = allowSpinning(thread, cores, intras);
    let cpuIndex = 0;
    for (let i = 0; i < options.devices.length; i++) {
      if (placement[i] !== undefined && placement[i] !== 'cpu') continue;
      const intra = intras[cpuIndex++]!;
      let runner: SessionRunner;
      try {
        runner = await createSessionRunner(thread, options.modelBytes, withSpinning({ ...base, intraOpNumThreads: intra, executionProviders: ['cpu'] }));
      } catch (err) {
        throw unavailable(`ONNX Runtime cannot load the model: ${err instanceof Error ? err.message : String(err)}`, err);
      }
      sessions.push({ device: 'cpu', runner, intra, inter, spinning });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    instances: sessions.map((s, index) => ({ index, device: s.device, runner: s.runner, intraOpThreads: s.intra, interOpThreads: s.inter, spinning: s.spinning })),
    sessionThread: thread,
    notes,
    close: () => (closed ??= closeAll()),
  };
}

/**
 * Why the CUDA provider cannot load, when its library is plainly not installed
 * beside onnxruntime-node's binding (trying would only print ORT's native error);
 * undefined when it is there (or the layout is unknown) and creating a session
 * will tell.
 */
function missingCudaProvider(): string | undefined {
  try {
    const binding = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    if (!existsSync(binding)) return undefined;
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(join(binding, lib)) ? undefined : `${lib} is not installed with onnxruntime-node (its CUDA download was skipped)`;
  } catch {
    return undefined;
  }
}
