import type { MethodRequirement } from '../../../shared/auth/index.js';
import { HttpError } from './http-status.js';

/** The endpoints of the Open Inference Protocol over REST that the node serves. */
export type Endpoint =
  | 'server-metadata' | 'live' | 'ready'
  | 'model-metadata' | 'model-ready' | 'model-config' | 'model-stats' | 'infer'
  | 'repository-index' | 'repository-load' | 'repository-unload';

/**
 * What each endpoint requires when the node enforces tokens: the same as its
 * gRPC twin (INFERENCE_METHOD_SCOPES); `infer` also checks the model.
 */
export const ENDPOINT_SCOPES: Readonly<Record<Endpoint, MethodRequirement>> = {
  'server-metadata': 'public',
  live: 'public',
  ready: 'public',
  'model-metadata': 'models:read',
  'model-ready': 'models:read',
  'model-config': 'models:read',
  'model-stats': 'models:read',
  infer: 'infer',
  'repository-index': 'models:read',
  'repository-load': 'admin',
  'repository-unload': 'admin',
};

/** A request path matched to its endpoint, with the route template (for spans) and the names in it. */
export interface Route {
  endpoint: Endpoint;
  /** The route template, e.g. `/v2/models/{model_name}/versions/{model_version}/infer`. */
  template: string;
  method: 'GET' | 'POST';
  /** The model named in the path; '' for all models (`/v2/models/stats`). */
  model: string;
  /** The version named in the path; '' for the routed one. */
  version: string;
}

const MODEL_ACTIONS: Record<string, { endpoint: Endpoint; method: 'GET' | 'POST' }> = {
  '': { endpoint: 'model-metadata', method: 'GET' },
  ready: { endpoint: 'model-ready', method: 'GET' },
  config: { endpoint: 'model-config', method: 'GET' },
  stats: { endpoint: 'model-stats', method: 'GET' },
  infer: { endpoint: 'infer', method: 'POST' },
};

function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `the path segment '${s}' is not valid percent-encoding`);
  }
}

/** Matches a path (no query) to a route; undefined when no route has that path. */
function match(path: string): Route | undefined {
  const parts = path.split('/');
  if (parts[0] !== '' || parts[1] !== 'v2') return undefined;
  const p = parts.slice(2);
  if (p.length > 0 && p[p.length - 1] === '') p.pop();
  const route = (endpoint: Endpoint, template: string, method: Route['method'], model = '', version = ''): Route => ({ endpoint, template, method, model, version });
  if (p.length === 0) return route('server-metadata', '/v2', 'GET');
  if (p[0] === 'health' && p.length === 2 && (p[1] === 'live' || p[1] === 'ready')) return route(p[1], `/v2/health/${p[1]}`, 'GET');
  if (p[0] === 'models') {
    if (p.length === 2 && p[1] === 'stats') return route('model-stats', '/v2/models/stats', 'GET');
    if (p.length < 2 || p[1] === '') return undefined;
    const model = segment(p[1]!);
    let rest = p.slice(2);
    let version = '';
    let template = '/v2/models/{model_name}';
    if (rest[0] === 'versions') {
      if (rest.length < 2 || rest[1] === '') return undefined;
      version = segment(rest[1]!);
      rest = rest.slice(2);
      template += '/versions/{model_version}';
    }
    if (rest.length > 1) return undefined;
    const key = rest[0] ?? '';
    if (!Object.hasOwn(MODEL_ACTIONS, key)) return undefined;
    const action = MODEL_ACTIONS[key]!;
    return route(action.endpoint, key ? `${template}/${key}` : template, action.method, model, version);
  }
  if (p[0] === 'repository') {
    if (p.length === 2 && p[1] === 'index') return route('repository-index', '/v2/repository/index', 'POST');
    if (p.length === 4 && p[1] === 'models' && p[2] !== '' && (p[3] === 'load' || p[3] === 'unload')) {
      return route(p[3] === 'load' ? 'repository-load' : 'repository-unload', `/v2/repository/models/{model_name}/${p[3]}`, 'POST', segment(p[2]!));
    }
  }
  return undefined;
}

/**
 * The route of a request: throws 404 for a path the protocol does not have,
 * 405 (with `allow`) for a known path with the wrong method. HEAD is GET.
 */
export function routeRequest(method: string, url: string): Route {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const found = match(path);
  if (!found) throw new HttpError(404, `no endpoint at ${path}: the Open Inference Protocol paths are /v2, /v2/health/{live,ready}, /v2/models/{name}[/versions/{v}][/ready|/config|/stats|/infer] and /v2/repository/...`);
  const m = method === 'HEAD' ? 'GET' : method;
  if (m !== found.method) throw new HttpError(405, `${path} takes ${found.method}, not ${method}`, { headers: { allow: found.method === 'GET' ? 'GET, HEAD' : 'POST' } });
  return found;
}
