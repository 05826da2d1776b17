import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/**
 * Default HTTP/2 flow-control window for infermesh's gRPC servers: 8 MiB.
 * With HTTP/2's default of 64 KiB, a client sending a 110 KB tensor has to wait
 * for a WINDOW_UPDATE round trip through the server's event loop once or twice
 * per request; on a busy node that wait, not the network, bounds throughput.
 */
export const DEFAULT_HTTP2_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Widens the HTTP/2 receive windows (per stream and per connection) of every
 * session a grpc-js server accepts from now on. grpc-js 1.14 has no server
 * option for this (only clients take `grpc-node.flow_control_window`), so this
 * reaches into the server's listening HTTP/2 servers; call it after
 * `bindAsync` has completed. Returns how many listeners were found (0 means the
 * grpc-js internals changed and nothing was widened).
 */
export function widenHttp2Windows(server: Server, windowBytes: number = DEFAULT_HTTP2_WINDOW_BYTES): number {
  const listeners = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(listeners instanceof Map)) return 0;
  for (const http2Server of listeners.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: windowBytes });
        session.setLocalWindowSize(windowBytes);
      } catch {
        // A session that closed before its settings went out needs no window.
      }
    });
  }
  return listeners.size;
}
