import * as ort from 'onnxruntime-node';
import { ORT_TYPE } from '../../../shared/onnx/index.js';
import { TYPED_ARRAY, elementCount, tensorDataFromValues } from '../../../shared/tensor/index.js';
import type { WarmupSample } from '../models/model-config.js';
import type { ModelExecutor } from './executor.js';

/** Runs each warm-up sample once through `executor` (all outputs, no deadline). */
export async function runWarmup(executor: ModelExecutor, samples: readonly WarmupSample[], outputNames: readonly string[]): Promise<void> {
  for (const sample of samples) {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(sample.inputs)) {
      const count = elementCount(t.shape);
      const data =
        t.data !== 'zeros' ? tensorDataFromValues(t.datatype, t.data, name)
        : t.datatype === 'BYTES' ? new Array<string>(count).fill('')
        : new TYPED_ARRAY[t.datatype](count);
      inputs[name] = new ort.Tensor(ORT_TYPE[t.datatype] as 'float32', data as Float32Array, t.shape);
    }
    await executor.execute({ inputs, outputNames, priority: 0, deadlineMs: Infinity });
  }
}
