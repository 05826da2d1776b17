import { describe, expect, it } from 'vitest';
import { type HttpError } from './http-status.js';
import { routeRequest } from './routes.js';

describe('routeRequest', () => {
  it('matches every protocol path, with the names in it decoded and the template for spans', () => {
    expect(routeRequest('GET', '/v2')).toMatchObject({ endpoint: 'server-metadata', template: '/v2' });
    expect(routeRequest('HEAD', '/v2/health/ready?x=1')).toMatchObject({ endpoint: 'ready' });
    expect(routeRequest('GET', '/v2/models/stats')).toMatchObject({ endpoint: 'model-stats', model: '' });
    expect(routeRequest('GET', '/v2/models/a%2Fb/versions/3/config')).toMatchObject({
      endpoint: 'model-config',
      model: 'a/b',
      version: '3',
      template: '/v2/models/{model_name}/versions/{model_version}/config',
    });
    expect(routeRequest('POST', '/v2/models/mlp/infer')).toMatchObject({ endpoint: 'infer', model: 'mlp', version: '', template: '/v2/models/{model_name}/infer' });
    expect(routeRequest('GET', '/v2/models/mlp/')).toMatchObject({ endpoint: 'model-metadata', model: 'mlp' });
    expect(routeRequest('POST', '/v2/repository/models/mlp/unload')).toMatchObject({ endpoint: 'repository-unload', model: 'mlp' });
  });

  it('answers 404 for other paths and 405 with allow for the wrong method', () => {
    const fail = (method: string, url: string) => {
      try {
        routeRequest(method, url);
      } catch (err) {
        return err as HttpError;
      }
      throw new Error(`${method} ${url} matched`);
    };
    expect(fail('GET', '/v1/models/mlp').status).toBe(404);
    expect(fail('GET', '/v2/models/mlp/toString').status).toBe(404);
    expect(fail('GET', '/v2/models/mlp/versions/1/infer/x').status).toBe(404);
    expect(fail('GET', '/v2/models/%E0%A4%A').status).toBe(400);
    const wrong = fail('GET', '/v2/models/mlp/infer');
    expect(wrong.status).toBe(405);
    expect(wrong.headers).toEqual({ allow: 'POST' });
  });
});
