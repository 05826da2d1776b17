export { NatsServerProcess, NatsServerMissingError, findNatsServer, type NatsServerOptions } from './nats-server-process.js';
