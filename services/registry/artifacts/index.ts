export { createArtifactStore, type ArtifactStore, type ArtifactUpload } from './artifact-store.js';
export { inspectOnnxFile, type InspectOnnxFileOptions } from './validate-onnx.js';
