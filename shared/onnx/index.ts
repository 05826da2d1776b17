export { DATATYPES, ELEMENT_SIZE, ORT_TYPE, datatypeFromOrt, isDatatype, type Datatype } from './datatypes.js';
export { buildOnnxModel, type NodeSpec, type ValueSpec, type InitializerSpec } from './builder.js';
export { readOnnxSignature, type ModelSignature, type TensorSignature } from './signature.js';
export { PACKAGED_MODELS, packagedModelPath } from './packaged-models.js';
