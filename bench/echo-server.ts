// The transport limit: a bare grpc-js server with the node's own proto whose
// ModelInfer / ModelStreamInfer answer at once with a response of the same
// size and shape as the served model's output (no decoding, no model run).
// Usage: node echo-server.js '{"name":"y","datatype":"FP32","shape":[1,4]}'
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { ModelInferRequest__Output } from '../shared/generated/inference/ModelInferRequest.js';
import type { ModelInferResponse } from '../shared/generated/inference/ModelInferResponse.js';
import type { ModelStreamInferResponse } from '../shared/generated/inference/ModelStreamInferResponse.js';
import { widenHttp2Windows } from '../shared/rpc/index.js';
import { announce } from '../shared/process/index.js';
import { BENCH_CHANNEL_OPTIONS, inferenceProto } from './inference-proto.js';
import { payloadBytes, type PayloadSpec } from './worker-protocol.js';

const output = JSON.parse(process.argv[2] ?? '') as PayloadSpec;
const raw = payloadBytes(output);
const respond = (req: ModelInferRequest__Output): ModelInferResponse => ({
  modelName: req.modelName,
  modelVersion: '1',
  id: req.id,
  outputs: [{ name: output.name, datatype: output.datatype, shape: output.shape }],
  rawOutputContents: [raw],
});

const server = new Server(BENCH_CHANNEL_OPTIONS);
server.addService(inferenceProto().inference.GRPCInferenceService.service, {
  ModelInfer: (call: ServerUnaryCall<ModelInferRequest__Output, ModelInferResponse>, callback: sendUnaryData<ModelInferResponse>) => {
    callback(null, respond(call.request));
  },
  ModelStreamInfer: (call: ServerDuplexStream<ModelInferRequest__Output, ModelStreamInferResponse>) => {
    call.on('data', (req: ModelInferRequest__Output) => call.write({ inferResponse: respond(req) }));
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bench echo server: ${err.message}\n`);
    process.exit(1);
  }
  // The same HTTP/2 windows as the inference node, so the limit is the same transport.
  widenHttp2Windows(server);
  announce('bench-echo', { grpc: `127.0.0.1:${port}` });
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
