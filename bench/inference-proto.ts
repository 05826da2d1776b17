import { credentials, type ChannelOptions } from '@grpc/grpc-js';
import { loadProtos } from '../shared/proto/index.js';
import type { ProtoGrpcType } from '../shared/generated/grpc_service.js';
import type { GRPCInferenceServiceClient } from '../shared/generated/inference/GRPCInferenceService.js';

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
export function createRawInferenceClient(address: string, extra: ChannelOptions = {}): GRPCInferenceServiceClient {
  const { GRPCInferenceService } = inferenceProto().inference;
  return new GRPCInferenceService(address, credentials.createInsecure(), { ...BENCH_CHANNEL_OPTIONS, ...extra });
}
