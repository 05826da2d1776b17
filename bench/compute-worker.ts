// The compute limit: a child process pinned to the server's cores that runs
// the model in-process with onnxruntime-node (no network, no scheduler), at
// the same batch sizes and thread settings the node uses, back to back.
import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ORT_TYPE, isDatatype } from '../shared/onnx/index.js';
import { LatencyRecorder } from './latency.js';
import { payloadBytes, type ComputeCommand, type ComputePoint, type WorkerReply } from './worker-protocol.js';

const ARRAYS: Record<string, new (b: ArrayBuffer, o: number, n: number) => Tensor['data']> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array,
  uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

async function runCompute(cmd: ComputeCommand): Promise<ComputePoint[]> {
  if (!isDatatype(cmd.input.datatype) || cmd.input.datatype === 'BYTES') throw new Error(`compute limit: datatype ${cmd.input.datatype} is not supported`);
  const session = await InferenceSession.create(await readFile(cmd.modelPath), {
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    intraOpNumThreads: cmd.intraOpThreads,
    interOpNumThreads: cmd.interOpThreads,
    executionProviders: ['cpu'],
  });
  const type = ORT_TYPE[cmd.input.datatype];
  const points: ComputePoint[] = [];
  try {
    for (const b of cmd.batchSizes) {
      const shape = [b, ...cmd.input.shape.slice(1)];
      const bytes = payloadBytes({ ...cmd.input, shape });
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const elemSize = (ARRAYS[type] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const data = new ARRAYS[type]!(ab, 0, ab.byteLength / elemSize);
      const feeds = { [cmd.input.name]: new Tensor(type as 'float32', data as Float32Array, shape) };
      const until = (ms: number) => performance.now() + ms;
      for (const end = until(cmd.warmupMs); performance.now() < end; ) await session.run(feeds);
      const recorder = new LatencyRecorder();
      const t0 = performance.now();
      const end = t0 + cmd.windowMs;
      let runs = 0;
      while (performance.now() < end || runs < 3) {
        const s = performance.now();
        await session.run(feeds);
        recorder.add(performance.now() - s);
        runs++;
      }
      const windowMs = performance.now() - t0;
      points.push({ batchSize: b, ...recorder.summarize(windowMs, runs * b) });
    }
  } finally {
    await session.release();
  }
  return points;
}

process.on('message', (cmd: ComputeCommand) => {
  runCompute(cmd).then(
    (points) => process.send!({ kind: 'compute', points } satisfies WorkerReply),
    (err: unknown) => process.send!({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
