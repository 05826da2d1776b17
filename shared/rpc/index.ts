/**
 * The one RPC layer of infermesh: the client factory every client is built
 * on, the server edge every service serves through (error mapping, bind,
 * authentication hook, graceful shutdown), the standard services every
 * server carries, and the one backoff every retry loop waits with.
 */
export { Backoff, sleep, type BackoffOptions } from './backoff.js';
export { createRpcClient, type RpcCallOptions, type RpcClientOptions, type UnaryMethod } from './client.js';
export { isConnectionLoss, isNeverSent } from './connection-failure.js';
export { answerUnaryError, bindServer, boundedError, callDeadlineMs, createRpcServer, hostPort, principalOf, setPrincipal, toGrpcStatus, unaryHandler, type Authenticate, type Principal } from './server.js';
export { widenHttp2Windows, DEFAULT_HTTP2_WINDOW_BYTES } from './http2-window.js';
export { addStandardServices } from './reflection.js';
