export { exportScorerOnnx, SCORER_TENSORS, MASK_EXCLUDED } from './onnx-scorer.js';
