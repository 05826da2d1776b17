export { NatsServerProcess, NatsServerMissingError, findNatsServer, type NatsServerOptions } from './nats-server-process.js';
export { connectNats, DEFAULT_CONNECT_NATS_OPTIONS, type ConnectNatsOptions } from './connect.js';
export { ensureStream, isStreamNotFound, type StreamSpec } from './jetstream-stream.js';
export { createEventCodec, type EventCodec } from './event-codec.js';
