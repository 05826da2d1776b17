// An OTLP/gRPC trace sink for the tracing-cost measurement: it accepts
// opentelemetry.proto.collector.trace.v1.TraceService/Export and answers at
// once without decoding, so what is measured is the node's cost of tracing
// (recording, batching, encoding, sending spans), not a collector's storage.
// Usage: node otlp-sink.js   (announces `infermesh bench-otlp-sink ready grpc=HOST:PORT`)
import { Server, ServerCredentials, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { announce } from '../shared/process/index.js';

const passThrough = (b: Buffer) => b;
const definition: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    // An empty ExportTraceServiceResponse is zero bytes.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: passThrough,
  },
};

const server = new Server({ 'grpc.max_receive_message_length': 64 << 20 });
server.addService(definition, {
  Export: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)),
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bench OTLP sink: ${err.message}\n`);
    process.exit(1);
  }
  announce('bench-otlp-sink', { grpc: `127.0.0.1:${port}` });
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
