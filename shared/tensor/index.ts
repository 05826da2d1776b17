/**
 * The tensor codec shared by the inference node and its clients: KServe v2 raw
 * bytes (views when aligned) and typed `contents`, BYTES framing, FP16 bits.
 */
export { TYPED_ARRAY, elementCount, elementSize, type TensorData, type TypedArrayConstructor } from './tensor-data.js';
export { decodeRawTensor, encodeRawTensor } from './raw-codec.js';
export { decodeTensorContents, encodeTensorContents, contentsLength, CONTENTS_FIELD } from './contents-codec.js';
export { encodeBytesElements, decodeBytesElements, countBytesElements, decodeUtf8Elements } from './bytes-framing.js';
export { toFloat16Bits, fromFloat16Bits } from './float16.js';
export { tensorDataFromValues, type TensorValues } from './from-values.js';
