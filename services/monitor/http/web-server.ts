import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Code, InfermeshError, invalidArgument, notFound } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { UINT32_MAX } from '../../../shared/numbers/index.js';
import type { SpanStore } from '../store/index.js';
import { modelStatsView, overviewMinutes, parseTraceId, traceQueryFrom, traceSpansView, traceSummaryView } from '../api/views.js';
import { loadWebAssets } from './web-assets.js';
import { verifyRequest, type TokenVerifier } from '../../../shared/auth/index.js';
import type { HealthEngine } from '../health/index.js';
import { healthApi } from './health-routes.js';

export interface WebServerOptions {
  store: SpanStore;
  /** Serves /api/health* and /api/alerts (the model-health view). */
  health?: HealthEngine;
  registry: Registry;
  logger: Logger;
  host: string;
  /** Serve over HTTPS with this certificate (and client CA: mTLS), e.g. shared/tls `httpsServerOptions`. Default: plain HTTP. */
  https?: HttpsServerOptions;
  /** 0 = a free port. */
  port: number;
  now?: () => number;
  /**
   * Host names (besides loopback names, IP literals and `host`) the page may be
   * reached by, e.g. a deployment's DNS name. Requests naming any other Host get
   * 421: a DNS-rebinding page cannot read the traces. Default: none.
   */
  allowedHosts?: readonly string[];
  /**
   * Require a token with `traces:read` (`authorization: Bearer`) on the JSON API and /metrics
   * (the page itself, static files, stays open: it asks the operator for a token on a 401).
   * Default: none (open, for local use).
   */
  auth?: { verifier: TokenVerifier };
}

export interface WebServer {
  /** `host:port` it listens on. */
  readonly address: string;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.INVALID_ARGUMENT]: 400,
  [Code.UNAUTHENTICATED]: 401,
  [Code.PERMISSION_DENIED]: 403,
  [Code.NOT_FOUND]: 404,
  [Code.UNAVAILABLE]: 503,
};

/**
 * Builds a SearchTraces request from the page's query string:
 * service, operation, model, version, status (ok|error), minDurationMs,
 * lookbackMinutes, attr=key=value (repeatable), order (newest|slowest), limit.
 */
function searchRequestFrom(params: URLSearchParams, nowMs: number) {
  const status = params.get('status') ?? '';
  if (!['', 'any', 'ok', 'error'].includes(status)) throw invalidArgument(`status must be ok or error, got "${status}"`);
  const order = params.get('order') ?? 'newest';
  if (!['newest', 'slowest'].includes(order)) throw invalidArgument(`order must be newest or slowest, got "${order}"`);
  const lookback = boundedNumber(params, 'lookbackMinutes', MAX_LOOKBACK_MINUTES);
  const minDurationMs = boundedNumber(params, 'minDurationMs', MAX_MIN_DURATION_MS);
  const attributes = params.getAll('attr').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidArgument(`attr must be key=value, got "${pair}"`);
    return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
  return traceQueryFrom({
    service: params.get('service') ?? '',
    operation: params.get('operation') ?? '',
    model: params.get('model') ?? '',
    version: params.get('version') ?? '',
    status: status === 'error' ? 'STATUS_FILTER_ERROR' : status === 'ok' ? 'STATUS_FILTER_OK' : 'STATUS_FILTER_ANY',
    minDurationMs,
    startTimeUnixNano: lookback > 0 ? (BigInt(Math.max(0, Math.floor(nowMs - lookback * 60_000))) * 1_000_000n).toString() : '0',
    endTimeUnixNano: '0',
    attributes,
    order: order === 'slowest' ? 'TRACE_ORDER_SLOWEST' : 'TRACE_ORDER_NEWEST',
    limit: boundedNumber(params, 'limit', UINT32_MAX, true),
  });
}

/** Ten years: a longer look back is everything anyway, and a bigger number would overflow the time arithmetic. */
const MAX_LOOKBACK_MINUTES = 10 * 366 * 24 * 60;
/** A day. */
const MAX_MIN_DURATION_MS = 24 * 3600 * 1000;

/** A query parameter that is a number from 0 to `max` (an integer when `integer`); INVALID_ARGUMENT naming it otherwise. */
function boundedNumber(params: URLSearchParams, name: string, max: number, integer = false): number {
  const text = params.get(name) ?? '0';
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > max || (integer && !Number.isInteger(n))) {
    throw invalidArgument(`${name} must be ${integer ? 'an integer' : 'a number'} from 0 to ${max}, got "${text}"`);
  }
  return n;
}

/**
 * Whether a request's Host header names this server in a way a DNS-rebinding
 * page cannot: an IP literal, a loopback name (`localhost`, `*.localhost`),
 * the configured host, or an allowed name. A rebinding attack reaches the
 * server through the attacker's own DNS name, which is none of these.
 */
export function isAllowedHost(hostHeader: string | undefined, host: string, allowedHosts: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  const name = (hostHeader.startsWith('[') ? hostHeader.slice(1, hostHeader.indexOf(']')) : hostHeader.replace(/:\d*$/, '')).toLowerCase();
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return name === host.toLowerCase() || allowedHosts.some((h) => h.toLowerCase() === name);
}

/**
 * The monitor's HTTP side: the operators' web page (static files from
 * services/monitor/web), the JSON API behind it (/api/traces,
 * /api/traces/:id, /api/services, /api/operations, /api/overview), and the
 * monitor's own Prometheus metrics on /metrics.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { store, registry, logger } = options;
  const now = options.now ?? Date.now;
  const assets = loadWebAssets();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };

  // Span reads run on the store's query worker (store.queries), off this loop.
  const api = async (path: string, params: URLSearchParams): Promise<unknown> => {
    if (path === '/api/traces') return { traces: (await store.queries.search(searchRequestFrom(params, now()))).map(traceSummaryView) };
    if (path.startsWith('/api/traces/')) {
      const id = parseTraceId(decodeURIComponent(path.slice('/api/traces/'.length)));
      const detail = await store.queries.getTrace(id);
      if (!detail) throw notFound(`trace ${id} is not in the monitor (never received, or pruned by retention)`);
      return { spans: traceSpansView(detail) };
    }
    if (options.health && (path.startsWith('/api/health') || path === '/api/alerts')) return healthApi(options.health, path, params);
    if (path === '/api/services') return { services: await store.queries.listServices() };
    if (path === '/api/operations') return { operations: await store.queries.listOperations(params.get('service') || undefined) };
    if (path === '/api/overview') {
      const minutes = overviewMinutes(Number(params.get('minutes') ?? 0) || undefined);
      return { windowMinutes: minutes, models: (await store.queries.modelOverview(minutes)).map(modelStatsView) };
    }
    throw notFound(`no API at ${path}`);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (!isAllowedHost(req.headers.host, options.host, options.allowedHosts)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end(`the monitor is not served under the host name '${req.headers.host ?? ''}' (DNS rebinding protection); use its address or localhost\n`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://monitor');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'only GET is served' });
      return;
    }
    const fail = (err: unknown) => {
      const error = InfermeshError.from(err);
      if (!(err instanceof InfermeshError)) logger.error('web API request failed', { path: url.pathname, err });
      if (error.code === Code.UNAUTHENTICATED) res.setHeader('www-authenticate', 'Bearer');
      json(res, HTTP_STATUS[error.code] ?? 500, { error: error.message, code: Code[error.code] });
    };
    // With auth on, the API and /metrics read traces and the mesh's figures: `traces:read`.
    const authorized = () => (options.auth ? verifyRequest(options.auth.verifier, req.headers, 'traces:read') : Promise.resolve(undefined));
    if (url.pathname.startsWith('/api/')) {
      authorized().then(() => api(url.pathname, url.searchParams)).then((body) => json(res, 200, body), fail);
      return;
    }
    if (url.pathname === '/metrics') {
      authorized().then(() => registry.metrics(), (err: unknown) => {
        fail(err);
        return undefined;
      }).then((text) => {
        if (text !== undefined) res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      }, (err: unknown) => {
        logger.error('metrics collection failed', { err });
        res.writeHead(500).end();
      });
      return;
    }
    const asset = assets.get(url.pathname);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': asset.contentType, 'cache-control': 'no-cache' }).end(asset.body);
  };

  const server = options.https ? createHttpsServer(options.https, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    address: `${options.host}:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
