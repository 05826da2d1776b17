export { createArtifactStore, type ArtifactStore, type ArtifactUpload } from './artifact-store.js';
export { inspectOnnxModel } from './validate-onnx.js';
