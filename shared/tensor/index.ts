/**
 * The tensor codec shared by the inference node and its clients: KServe v2 raw
 * bytes (views when aligned) and typed `contents`, BYTES framing, FP16 bits.
 */
export { TYPED_ARRAY, elementCount, type TensorData } from './tensor-data.js';
export { decodeRawTensor, encodeRawTensor } from './raw-codec.js';
export { decodeTensorContents, encodeTensorContents, contentsLength, CONTENTS_FIELD } from './contents-codec.js';
export { encodeBytesElements, countBytesElements } from './bytes-framing.js';
export { fromFloat16Bits } from './float16.js';
export { tensorDataFromValues, type TensorValues } from './from-values.js';
