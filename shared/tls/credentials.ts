import { type ChannelCredentials, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { ClientTls, ServerTls } from './tls-files.js';

/**
 * grpc-js server credentials: TLS with the server's certificate, and mTLS
 * (`checkClientCertificate`) when a client CA was given.
 */
export function grpcServerCredentials(tls: ServerTls): ServerCredentials {
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

/** grpc-js channel credentials: trust `ca` (else the system roots) and present the client certificate when given. */
export function grpcChannelCredentials(tls: ClientTls): ChannelCredentials {
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/**
 * Options for `https.createServer` (the web pages and `/metrics`): the same
 * certificate, and with a client CA the same mTLS rule as the gRPC servers.
 */
export function httpsServerOptions(tls: ServerTls): HttpsServerOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/** Options for `tls.connect` / `https.request` and for nats.js's `tls` option. */
export function tlsConnectOptions(tls: ClientTls): ConnectionOptions {
  return { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) };
}
