import {
  Server, ServerCredentials, type ChannelOptions, type Metadata, type ServerUnaryCall, type ServiceDefinition, type ServiceError,
  type UntypedServiceImplementation, type sendUnaryData,
} from '@grpc/grpc-js';
import { Code, InfermeshError } from '../errors/index.js';
import { clipText, silentLogger, type Logger } from '../logging/index.js';
import { shutdownGrpcServer } from './shutdown.js';

/** The longest status message (or stream error_message) a client is sent, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 4096;

/** `error` with its message cut to {@link MAX_ERROR_MESSAGE_CHARS}: a message may quote what a client sent. */
export function boundedError(error: InfermeshError): InfermeshError {
  if (error.message.length <= MAX_ERROR_MESSAGE_CHARS) return error;
  return new InfermeshError(error.code, clipText(error.message, MAX_ERROR_MESSAGE_CHARS), {
    cause: error.cause,
    ...(error.logMessage !== undefined ? { logMessage: clipText(error.logMessage, MAX_ERROR_MESSAGE_CHARS) } : {}),
  });
}

/**
 * The one mapping of whatever a handler threw to the gRPC status its client
 * gets: an InfermeshError keeps its code, anything else is UNKNOWN (and logged
 * as unexpected), the message cut to {@link MAX_ERROR_MESSAGE_CHARS}.
 */
export function toGrpcStatus(err: unknown, rpc: string, logger: Logger): Partial<ServiceError> {
  const error = boundedError(InfermeshError.from(err));
  if (err instanceof InfermeshError) logger.debug('call failed', { rpc, code: error.code, err: error });
  else logger.error('unexpected failure', { rpc, err });
  return error.toServiceError();
}

/** Answers a unary call with the status `err` maps to (see {@link toGrpcStatus}). */
export function answerUnaryError<Res>(rpc: string, logger: Logger, callback: sendUnaryData<Res>, err: unknown): void {
  callback(toGrpcStatus(err, rpc, logger));
}

/**
 * Wraps a unary handler: whatever it throws or rejects with is mapped to a gRPC
 * status here, at the edge, and nothing escapes to crash the process.
 */
export function unaryHandler<Req, Res>(rpc: string, logger: Logger, handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    logger.debug('call started', { rpc });
    let result: Promise<Res>;
    try {
      result = Promise.resolve(handle(call.request, call));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => callback(null, response),
      (err: unknown) => answerUnaryError(rpc, logger, callback, err),
    );
  };
}

/** The absolute deadline of a call in ms since the epoch (Infinity for none). */
export function callDeadlineMs(call: { getDeadline(): Date | number }): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** Who a call comes from, as the authentication hook established it. */
export interface Principal {
  /** The caller's identity (e.g. a service name or a token's subject). */
  readonly subject: string;
}

/** What the authentication hook sees of a call before its handler runs. */
export interface CallCredentials {
  readonly metadata: Metadata;
  /** The client's address, as grpc-js reports it. */
  readonly peer: string;
  /** Full method name, `/package.Service/Method`. */
  readonly method: string;
}

/**
 * Per-call authentication: resolves with the caller's principal (or nothing,
 * for a call it lets through anonymously) or rejects, and the call is refused
 * with the status the error maps to (UNAUTHENTICATED, PERMISSION_DENIED, ...)
 * before its handler runs.
 */
export type Authenticate = (call: CallCredentials) => Promise<Principal | void> | Principal | void;

/** Options of {@link createRpcServer}. */
export interface RpcServerOptions {
  /** Server credentials. Default: insecure (plaintext). */
  credentials?: ServerCredentials;
  /**
   * grpc-js server options (message size limits, ...). channelz is off unless
   * these set `grpc.enable_channelz` to 1: nothing in infermesh reads it, and
   * it costs a tracker object and four closures per call (about 7% of a
   * node's allocations under unary load).
   */
  channelOptions?: ChannelOptions;
  /** Runs before every handler of a service added with {@link RpcServer.addService}. Default: none (every call is served). */
  authenticate?: Authenticate;
  /** Logs refused calls. Default: silent. */
  logger?: Logger;
}

/** A grpc-js server with infermesh's edge: one bind, one authentication hook, one graceful shutdown. */
export interface RpcServer {
  /** The grpc-js server (the standard services are added to it directly, unauthenticated: probes carry no credentials). */
  readonly server: Server;
  /** Adds a service whose every call goes through the authentication hook first. */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void;
  /** Binds `host:port` (0 = a free port; IPv6 hosts as they are, e.g. `::1`); resolves with the bound port. */
  bind(host: string, port: number): Promise<number>;
  /** No new calls; calls in flight get `drainTimeoutMs`, then are cut off. Resolves how it ended. */
  shutdown(drainTimeoutMs: number): Promise<'drained' | 'forced'>;
}

/** Creates a gRPC server with the edge described in {@link RpcServer}. */
export function createRpcServer(options: RpcServerOptions = {}): RpcServer {
  const server = new Server({ 'grpc.enable_channelz': 0, ...options.channelOptions });
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const logger = options.logger ?? silentLogger;
  const authenticate = options.authenticate;
  return {
    server,
    addService: (definition, implementation) =>
      server.addService(definition, authenticate ? withAuthentication(definition, implementation, authenticate, logger) : implementation),
    bind: (host, port) => bindServer(server, host, port, credentials),
    shutdown: (drainTimeoutMs) => shutdownGrpcServer(server, drainTimeoutMs),
  };
}

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds `server` on `host:port` (0 = a free port) and resolves with the bound port. */
export function bindServer(server: Server, host: string, port: number, credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(hostPort(host, port), credentials, (err, bound) =>
      err ? reject(new InfermeshError(Code.UNAVAILABLE, `cannot listen on ${hostPort(host, port)}: ${err.message}`, { cause: err })) : resolve(bound),
    ),
  );
}

const principals = new WeakMap<object, Principal>();

/**
 * Records the principal the authentication hook gave `call`, for a server path
 * that runs the hook itself (the inference node's HTTP/2 fast path) rather
 * than through {@link RpcServer.addService}.
 */
export function setPrincipal(call: object, principal: Principal): void {
  principals.set(call, principal);
}

/** The principal the authentication hook gave `call`, if any. */
export function principalOf(call: object): Principal | undefined {
  return principals.get(call);
}

interface AnyServerCall {
  readonly metadata: Metadata;
  getPeer(): string;
  emit(event: 'error', error: Partial<ServiceError>): boolean;
}

/** Every handler of `implementation` behind `authenticate`: a refused call is answered with its status and never reaches the handler. */
function withAuthentication(definition: ServiceDefinition, implementation: UntypedServiceImplementation, authenticate: Authenticate, logger: Logger): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const method = definition[name];
    if (!method) {
      wrapped[name] = handler;
      continue;
    }
    // Unary and client-streaming calls answer through a callback; the others through the stream.
    const answersByCallback = !method.responseStream;
    wrapped[name] = (call: AnyServerCall, callback?: sendUnaryData<unknown>) => {
      let verdict: Promise<Principal | void>;
      try {
        verdict = Promise.resolve(authenticate({ metadata: call.metadata, peer: call.getPeer(), method: method.path }));
      } catch (err) {
        verdict = Promise.reject(err);
      }
      verdict.then(
        (principal) => {
          if (principal) principals.set(call, principal);
          (handler as (call: AnyServerCall, callback?: sendUnaryData<unknown>) => void)(call, callback);
        },
        (err: unknown) => {
          const status = toGrpcStatus(InfermeshError.from(err, Code.UNAUTHENTICATED), method.path, logger);
          if (answersByCallback) callback?.(status);
          else call.emit('error', status);
        },
      );
    };
  }
  return wrapped;
}
