import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { loadProtos } from '../shared/proto/index.js';
import type { ProtoGrpcType } from '../shared/generated/grpc_service.js';
import type { GRPCInferenceServiceClient } from '../shared/generated/inference/GRPCInferenceService.js';
import { payloadBytes, type PayloadSpec } from './worker-protocol.js';

/** The KServe v2 package object, loaded once per process. */
let cached: ProtoGrpcType | undefined;
export function inferenceProto(): ProtoGrpcType {
  return (cached ??= loadProtos(['inference/grpc_service.proto']) as unknown as ProtoGrpcType);
}

/** Channel options for benchmark traffic: no message size cap (the OCR payload is ~110 KB per row). */
export const BENCH_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

/** A raw grpc-js client of GRPCInferenceService, the same one for the node and the echo server. */
export function createRawInferenceClient(address: string, extra: ChannelOptions = {}, channelCredentials: ChannelCredentials = credentials.createInsecure()): GRPCInferenceServiceClient {
  const { GRPCInferenceService } = inferenceProto().inference;
  return new GRPCInferenceService(address, channelCredentials, { ...BENCH_CHANNEL_OPTIONS, ...extra });
}

/** The HTTP/2 path of unary ModelInfer. */
export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

/** A one-tensor ModelInferRequest for `modelName`, protobuf-encoded (what h2load posts, after the gRPC header). */
export function encodeInferRequest(modelName: string, input: PayloadSpec): Buffer {
  return inferenceProto().inference.GRPCInferenceService.service.ModelInfer.requestSerialize({
    modelName,
    inputs: [{ name: input.name, datatype: input.datatype, shape: input.shape }],
    rawInputContents: [payloadBytes(input)],
  });
}

/** A ModelInferResponse carrying `output` (the floors' fixed answer), protobuf-encoded. */
export function encodeInferResponse(output: PayloadSpec): Buffer {
  return inferenceProto().inference.GRPCInferenceService.service.ModelInfer.responseSerialize({
    modelName: 'floor',
    modelVersion: '1',
    outputs: [{ name: output.name, datatype: output.datatype, shape: output.shape }],
    rawOutputContents: [payloadBytes(output)],
  });
}

/** A message in the gRPC length-prefixed framing: 1 byte uncompressed flag, 4 bytes big-endian length, the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const framed = Buffer.alloc(5 + message.byteLength);
  framed.writeUInt32BE(message.byteLength, 1);
  message.copy(framed, 5);
  return framed;
}
