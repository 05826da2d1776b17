import { constants, type ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/**
 * Stops a grpc-js server gracefully: no new calls, calls in flight may finish
 * for `drainTimeoutMs`, then whatever is left is cut off (forceShutdown).
 * Resolves `'drained'` or `'forced'` so the caller can log which it was.
 *
 * The cut-off also destroys the server's HTTP/2 sessions itself: grpc-js's
 * forceShutdown destroys only the sessions channelz tracked, and infermesh
 * servers run with channelz off (see createRpcServer), so a call still running
 * would otherwise outlive the shutdown.
 */
export function shutdownGrpcServer(server: Server, drainTimeoutMs: number): Promise<'drained' | 'forced'> {
  // Taken before tryShutdown closes the listeners: no session is accepted after it.
  const sessions = openSessions(server);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      for (const session of sessions) if (!session.destroyed) cancelSession(session);
      resolve('forced');
    }, drainTimeoutMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve('drained');
    });
  });
}

/**
 * Destroys a session with RST/GOAWAY code CANCEL, as grpc-js's own
 * forceShutdown does, so the calls on it end CANCELLED. Node takes the code as
 * the first argument (`destroy(error, code)` would emit the error on a session
 * nobody listens to for errors, and `destroy(undefined, code)` falls back to
 * NO_ERROR, which clients report as UNAVAILABLE).
 */
function cancelSession(session: ServerHttp2Session): void {
  (session.destroy as unknown as (this: ServerHttp2Session, code: number) => void).call(session, constants.NGHTTP2_CANCEL);
}

/** A listener as grpc-js 1.14 keeps it: the sessions it accepted, tracked whether or not channelz is on. */
interface ListenerInfo {
  readonly sessions?: unknown;
}

/** The HTTP/2 sessions `server` holds now (none when grpc-js's internals are not the ones we know). */
function openSessions(server: Server): ServerHttp2Session[] {
  const listeners = (server as unknown as { http2Servers?: unknown }).http2Servers;
  const out: ServerHttp2Session[] = [];
  if (!(listeners instanceof Map)) return out;
  for (const info of (listeners as Map<unknown, ListenerInfo>).values()) {
    const sessions = info.sessions;
    if (sessions instanceof Set || sessions instanceof Map) for (const s of sessions.keys()) out.push(s as ServerHttp2Session);
  }
  return out;
}
