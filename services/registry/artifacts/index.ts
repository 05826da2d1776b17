export { createArtifactStore, type ArtifactStore, type ArtifactUpload } from './artifact-store.js';
export { DEFAULT_INSPECT_ONNX_FILE_OPTIONS, inspectOnnxFile, inspectOnnxModel, type InspectOnnxFileOptions } from './validate-onnx.js';
