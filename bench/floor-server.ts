// The floors a served node is measured against, for unary ModelInfer: each
// answers every call with one fixed, pre-encoded ModelInferResponse of the
// case's output size, and never decodes the request.
//   grpc-js: a grpc-js Server with pass-through (Buffer) serializers: the cost
//            of grpc-js itself (HTTP/2 framing, metadata, deadlines, status);
//   http2:   node:http2 alone, answering with the gRPC framing by hand: the
//            cost of Node's HTTP/2 (nghttp2) and nothing above it.
// Usage: node floor-server.js grpc-js|http2 '{"name":"y","datatype":"FP32","shape":[1,4]}'
import { createServer, constants, type ServerHttp2Stream } from 'node:http2';
import { Server, ServerCredentials, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { widenHttp2Windows } from '../shared/rpc/index.js';
import { announce } from '../shared/process/index.js';
import { BENCH_CHANNEL_OPTIONS, encodeInferResponse, grpcFrame, MODEL_INFER_PATH } from './inference-proto.js';
import type { PayloadSpec } from './worker-protocol.js';

const kind = process.argv[2];
const output = JSON.parse(process.argv[3] ?? '') as PayloadSpec;
const response = encodeInferResponse(output);

function startGrpcJsFloor(): void {
  const passThrough = (b: Buffer) => b;
  const definition: ServiceDefinition = {
    ModelInfer: {
      path: MODEL_INFER_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      requestDeserialize: passThrough,
      responseSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  };
  const server = new Server(BENCH_CHANNEL_OPTIONS);
  server.addService(definition, {
    ModelInfer: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, response),
  });
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
    if (err) fail(err);
    widenHttp2Windows(server);
    announce('bench-floor-grpc-js', { grpc: `127.0.0.1:${port}` });
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function startHttp2Floor(): void {
  const framed = grpcFrame(response);
  const headers = { [constants.HTTP2_HEADER_STATUS]: 200, [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc' };
  const trailers = { 'grpc-status': '0' };
  const server = createServer({ settings: { initialWindowSize: 4 << 20 } });
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.on('data', () => {
      // The request is read (flow control) and ignored.
    });
    stream.on('error', () => {});
    stream.on('end', () => {
      if (stream.destroyed) return;
      stream.respond(headers, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end(framed);
    });
  });
  server.on('sessionError', () => {});
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    announce('bench-floor-http2', { grpc: `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function fail(err: Error): never {
  process.stderr.write(`bench floor server (${kind}): ${err.message}\n`);
  process.exit(1);
}

if (kind === 'grpc-js') startGrpcJsFloor();
else if (kind === 'http2') startHttp2Floor();
else fail(new Error(`unknown floor '${kind}': expected grpc-js or http2`));
