/**
 * The one RPC layer of infermesh: the client factory every client is built
 * on, the server edge every service serves through (error mapping, bind,
 * authentication hook, graceful shutdown), the standard services every
 * server carries, and the one backoff every retry loop waits with.
 */
export { Backoff, DEFAULT_BACKOFF, resolveBackoffOptions, sleep, type BackoffOptions } from './backoff.js';
export {
  createRpcClient, type RpcCallOptions, type RpcClient, type RpcClientOptions, type RpcRetryOptions, type StubConstructor, type UnaryMethod,
} from './client.js';
export { isConnectionLoss, isNeverSent } from './connection-failure.js';
export {
  answerUnaryError, bindServer, boundedError, callDeadlineMs, createRpcServer, hostPort, MAX_ERROR_MESSAGE_CHARS, principalOf, toGrpcStatus, unaryHandler,
  type Authenticate, type CallCredentials, type Principal, type RpcServer, type RpcServerOptions,
} from './server.js';
export { shutdownGrpcServer } from './shutdown.js';
export { widenHttp2Windows, DEFAULT_HTTP2_WINDOW_BYTES } from './http2-window.js';
export { addHealthService, DEFAULT_HEALTH_SERVICE_OPTIONS, HEALTH_SERVICE_NAME, type HealthService, type HealthServiceOptions, type ServingStatus } from './health.js';
export { addReflectionService, addStandardServices, type StandardServicesOptions } from './reflection.js';
