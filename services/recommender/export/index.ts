export { exportScorerOnnx, SCORER_TENSORS, MASK_EXCLUDED, type ScorerExportOptions } from './onnx-scorer.js';
