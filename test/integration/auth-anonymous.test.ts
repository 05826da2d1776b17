// Anonymous access (`--auth-anonymous-models`) through a real `infermesh serve` process: a node
// enforcing tokens serves the models matching the patterns to calls without a token (gRPC unary,
// streaming, REST) and still asks for a token everywhere else, and checks tokens sent anyway.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyId, signToken, type Scope } from '../../shared/auth/index.js';
import { buildInferRequest, createInferenceClient, type InferenceClient } from '../../shared/client/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { writeTestRepository } from '../fixtures/models.js';
import { endpointOf, spawnService, type ServiceProcess } from '../helpers/service-process.js';
import { ask, constantModel, tempDirs } from './mesh-fixtures.js';

const dirs = tempDirs();
const clients: InferenceClient[] = [];
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let node: ServiceProcess;
let grpc = '';
let http = '';
let keyFile = '';
let repo = '';

const tokenFor = (models: string[], scopes: Scope[] = ['infer']) =>
  signToken({ subject: 'ci', scopes, models, tokenId: randomUUID(), issuedAtMs: Date.now(), expiresAtMs: Date.now() + 600_000 }, privateKey, publicKeyId(publicKey));

function client(token?: string): InferenceClient {
  const c = createInferenceClient(grpc, { timeoutMs: 10_000, ...(token !== undefined ? { token } : {}) });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<InfermeshError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InfermeshError);
  return err as InfermeshError;
}

const input = (model: string) => buildInferRequest({ modelName: model, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

const restInfer = (model: string, token?: string) =>
  fetch(`http://${http}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
  });

beforeAll(async () => {
  const dir = dirs.make('auth-anonymous-');
  keyFile = join(dir, 'token-public-key.pem');
  await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  repo = await writeTestRepository({ 'open-7': { versions: { '1': constantModel(7) } }, 'closed-9': { versions: { '1': constantModel(9) } } }, join(dir, 'models'));
  node = await spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--http-port', '0', '--auth', '--auth-public-key', keyFile, '--auth-anonymous-models', 'open-*'], { timeoutMs: 60_000 });
  grpc = endpointOf(node, 'grpc');
  http = endpointOf(node, 'http');
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await node?.stop();
  dirs.cleanup();
});

describe('infermesh serve --auth --auth-anonymous-models', () => {
  it('serves an anonymous model without a token, unary and streamed, and asks for a token for any other model', async () => {
    expect(await ask(client(), 'open-7')).toBe(7);
    const refused = await failure(ask(client(), 'closed-9'));
    expect(refused.code).toBe(Code.UNAUTHENTICATED);
    expect(refused.message).toMatch(/missing bearer token: model closed-9 requires one/);
    // One stream without a token: each message's model is checked; the refused one does not end the stream.
    const stream = client().stream();
    const open = await stream.infer(input('open-7'));
    expect(open.modelName).toBe('open-7');
    const closed = await failure(stream.infer(input('closed-9')));
    expect(closed.code).toBe(Code.UNAUTHENTICATED);
    expect(closed.message).toMatch(/model closed-9 requires one/);
    expect((await stream.infer(input('open-7'))).modelName).toBe('open-7');
    stream.end();
    await stream.closed;
  });

  it('checks a token sent anyway: a valid one on its own models, a bad one refused even on an anonymous model', async () => {
    const token = await tokenFor(['closed-*']);
    expect(await ask(client(token), 'closed-9')).toBe(9);
    // The token's patterns, not the anonymous ones, apply to a call that sent it.
    expect((await failure(ask(client(token), 'open-7'))).code).toBe(Code.PERMISSION_DENIED);
    const { privateKey: otherKey, publicKey: otherPublic } = generateKeyPairSync('ed25519');
    const forged = await signToken({ subject: 'mallory', scopes: ['admin'], models: [], tokenId: 'forged', issuedAtMs: Date.now(), expiresAtMs: Date.now() + 60_000 }, otherKey, publicKeyId(otherPublic));
    const bad = await failure(ask(client(forged), 'open-7'));
    expect(bad.code).toBe(Code.UNAUTHENTICATED);
    expect(bad.message).toMatch(/signature does not verify/);
  });

  it('every other method still needs a token: metadata, repository index, load and unload', async () => {
    const anonymous = client();
    for (const [what, call] of [
      ['ModelMetadata', () => anonymous.modelMetadata('open-7')],
      ['RepositoryIndex', () => anonymous.repositoryIndex()],
      ['RepositoryModelLoad', () => anonymous.repositoryModelLoad('open-7')],
      ['RepositoryModelUnload', () => anonymous.repositoryModelUnload('open-7')],
    ] as const) {
      const err = await failure(call());
      expect(err.code, what).toBe(Code.UNAUTHENTICATED);
      expect(err.message, what).toMatch(/no token/);
    }
    expect(await anonymous.serverReady()).toBe(true);
  });

  it('REST honours it the same way: 200 on an anonymous model, 401 elsewhere and for a bad token', async () => {
    expect((await restInfer('open-7')).status).toBe(200);
    const closed = await restInfer('closed-9');
    expect(closed.status).toBe(401);
    expect(((await closed.json()) as { error: string }).error).toMatch(/missing bearer token: model closed-9 requires one/);
    expect((await restInfer('open-7', 'not.a.token')).status).toBe(401);
    expect((await restInfer('closed-9', await tokenFor(['closed-*']))).status).toBe(200);
    expect((await fetch(`http://${http}/v2/models/open-7`)).status).toBe(401);
  });

  it('refuses the patterns without --auth (INFERMESH_AUTH_ANONYMOUS_MODELS too), and a bad pattern, naming the flag', async () => {
    await expect(spawnService(['serve', '--model-repository', repo, '--grpc-port', '0'], { env: { INFERMESH_AUTH_ANONYMOUS_MODELS: 'open-*' } })).rejects.toThrow(
      /--auth-anonymous-models \(INFERMESH_AUTH_ANONYMOUS_MODELS\) needs --auth/,
    );
    await expect(spawnService(['serve', '--model-repository', repo, '--grpc-port', '0', '--auth', '--auth-public-key', keyFile, '--auth-anonymous-models', 'open/*'])).rejects.toThrow(
      /--auth-anonymous-models: model pattern 'open\/\*' must be/,
    );
  });
});
