import { Option, type Command } from 'commander';
import { DEFAULT_HTTP_MAX_BODY_BYTES, DEFAULT_HTTP_REQUEST_TIMEOUT_MS } from '../http/index.js';
import { parsePort, parsePositiveInt } from '../../../shared/flags/index.js';

/** The REST flags of `infermesh serve` and `infermesh inference`, validated. */
export interface HttpFlags {
  /** undefined: no HTTP server. */
  httpPort: number | undefined;
  maxBodyBytes: number;
  /** undefined: 4 x maxBodyBytes. */
  maxInFlightBodyBytes: number | undefined;
  requestTimeoutMs: number;
}

/** Adds `--http-port`, `--http-max-body-bytes`, `--http-max-inflight-body-bytes` and `--http-request-timeout-ms` (with their environment variables). */
export function addHttpOptions(command: Command): Command {
  return command
    .addOption(new Option('--http-port <port>', 'also serve the Open Inference Protocol over HTTP/REST on this port (0 = a free port, printed on the ready line as http=; Triton uses 8000); default: no HTTP').env('INFERMESH_HTTP_PORT'))
    .addOption(new Option('--http-max-body-bytes <n>', 'largest REST request body; larger ones get 413 before they are read').env('INFERMESH_HTTP_MAX_BODY_BYTES').default(String(DEFAULT_HTTP_MAX_BODY_BYTES)))
    .addOption(new Option('--http-max-inflight-body-bytes <n>', 'REST request body bytes all requests in flight may hold together; beyond it 429 (default: 4 x --http-max-body-bytes)').env('INFERMESH_HTTP_MAX_INFLIGHT_BODY_BYTES'))
    .addOption(new Option('--http-request-timeout-ms <ms>', 'how long a REST client may take to send a whole request (headers and body) before 408 and a closed connection').env('INFERMESH_HTTP_REQUEST_TIMEOUT_MS').default(String(DEFAULT_HTTP_REQUEST_TIMEOUT_MS)));
}

/** Parses the flags {@link addHttpOptions} added (one message per bad value). */
export function parseHttpFlags(raw: Record<string, unknown>): HttpFlags {
  const port = raw.httpPort;
  return {
    httpPort: port === undefined || port === '' ? undefined : parsePort(port, '--http-port'),
    maxBodyBytes: parsePositiveInt(raw.httpMaxBodyBytes ?? DEFAULT_HTTP_MAX_BODY_BYTES, '--http-max-body-bytes'),
    maxInFlightBodyBytes: raw.httpMaxInflightBodyBytes === undefined ? undefined : parsePositiveInt(raw.httpMaxInflightBodyBytes, '--http-max-inflight-body-bytes'),
    requestTimeoutMs: parsePositiveInt(raw.httpRequestTimeoutMs ?? DEFAULT_HTTP_REQUEST_TIMEOUT_MS, '--http-request-timeout-ms'),
  };
}

/** The node options the flags give. */
export function httpNodeOptions(flags: HttpFlags) {
  if (flags.httpPort === undefined) return {};
  const inFlight = flags.maxInFlightBodyBytes !== undefined ? { maxInFlightBodyBytes: flags.maxInFlightBodyBytes } : {};
  return { httpPort: flags.httpPort, http: { maxBodyBytes: flags.maxBodyBytes, requestTimeoutMs: flags.requestTimeoutMs, ...inFlight } };
}
