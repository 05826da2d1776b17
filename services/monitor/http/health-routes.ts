import { invalidArgument, notFound } from '../../../shared/errors/index.js';
import type { HealthEngine } from '../health/index.js';
import { healthPoints, versionHealthJson } from '../api/health-views.js';

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalidArgument(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return n;
}

function modelParam(params: URLSearchParams): string {
  const model = params.get('model') ?? '';
  if (!model) throw invalidArgument('model is required');
  return model;
}

/**
 * The model-health JSON API of the web page:
 * /api/health/models (models and versions with records),
 * /api/health?model=M[&version=V][&points=N] (figures and history per version),
 * /api/health/records?model=M&version=V[&limit=N] (newest sample records, with trace ids),
 * /api/alerts[?model=M][&firing=1][&limit=N].
 */
export function healthApi(health: HealthEngine, path: string, params: URLSearchParams): unknown {
  if (path === '/api/health/models') return { models: health.models() };
  if (path === '/api/health') {
    const model = modelParam(params);
    const versions = health.health(model, params.get('version') || undefined, healthPoints(intParam(params, 'points', 60, 1000)));
    if (versions.length === 0) throw notFound(`the monitor holds no prediction records of model '${model}'`);
    return { model, versions: versions.map(versionHealthJson) };
  }
  if (path === '/api/health/records') {
    const model = modelParam(params);
    const version = params.get('version') ?? '';
    if (!version) throw invalidArgument('version is required');
    return { records: health.records(model, version, intParam(params, 'limit', 20, 200)) };
  }
  if (path === '/api/alerts') {
    return { alerts: health.alerts({ model: params.get('model') || undefined, firingOnly: params.get('firing') === '1', limit: intParam(params, 'limit', 100, 1000) }) };
  }
  throw notFound(`no API at ${path}`);
}
