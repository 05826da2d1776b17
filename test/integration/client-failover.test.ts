// The TypeScript client given several node addresses: a node that cannot be
// reached is skipped at once (the call was never sent), later calls move on
// from a node whose connection was lost, and UNAVAILABLE comes back only when
// every node is gone.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailoverInferenceClient, isConnectionLoss, isNeverSent } from '../../shared/client/index.js';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { freePort } from '../../shared/net/index.js';
import { startInferenceNode, type InferenceNode } from '../../services/inference/index.js';
import { writeTestRepository } from '../fixtures/models.js';
import { constantModel } from './mesh-fixtures.js';

describe('createFailoverInferenceClient', () => {
  let repoA: string;
  let repoB: string;
  let a: InferenceNode;
  let b: InferenceNode;
  let nowhere: string;

  const answer = async (client: ReturnType<typeof createFailoverInferenceClient>) =>
    ((await client.infer({ modelName: 'const', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, { timeoutMs: 5000 })).y!.data as Float32Array)[0];

  beforeAll(async () => {
    // Two nodes whose answers tell them apart.
    repoA = await writeTestRepository({ const: { versions: { '1': constantModel(1) } } });
    repoB = await writeTestRepository({ const: { versions: { '1': constantModel(2) } } });
    a = await startInferenceNode({ repositoryDir: repoA, logger: silentLogger });
    b = await startInferenceNode({ repositoryDir: repoB, logger: silentLogger });
    nowhere = `127.0.0.1:${await freePort()}`; // nothing listens there
  });

  afterAll(async () => {
    await a?.close({ drainTimeoutMs: 1000 });
    await b?.close({ drainTimeoutMs: 1000 });
    for (const d of [repoA, repoB]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('skips an address nothing listens on, sends the call to the next, and stays there', async () => {
    const client = createFailoverInferenceClient([nowhere, a.grpcAddress, b.grpcAddress]);
    try {
      expect(await answer(client)).toBe(1);
      expect(client.address).toBe(a.grpcAddress);
      expect(await answer(client)).toBe(1);
    } finally {
      client.close();
    }
  });

  it('moves to the next node when its node stops, and fails UNAVAILABLE only when every node is gone', async () => {
    const client = createFailoverInferenceClient([a.grpcAddress, b.grpcAddress]);
    try {
      expect(await answer(client)).toBe(1);
      await a.close({ drainTimeoutMs: 1000 });
      expect(await answer(client)).toBe(2);
      expect(client.address).toBe(b.grpcAddress);
      await b.close({ drainTimeoutMs: 1000 });
      const err = await answer(client).then(() => undefined, (e: unknown) => e as InfermeshError);
      expect(err).toBeInstanceOf(InfermeshError);
      expect(err!.code).toBe(Code.UNAVAILABLE);
      expect(isNeverSent(err)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('tells a call that was never sent from one whose connection was lost on it', () => {
    const never = new InfermeshError(Code.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1');
    const dropped = new InfermeshError(Code.UNAVAILABLE, 'Connection dropped');
    expect([isNeverSent(never), isConnectionLoss(never)]).toEqual([true, true]);
    expect([isNeverSent(dropped), isConnectionLoss(dropped)]).toEqual([false, true]);
    expect(isConnectionLoss(new InfermeshError(Code.UNAVAILABLE, "model 'm' version 1 is LOADING: warming up"))).toBe(false);
    expect(isConnectionLoss(new InfermeshError(Code.INVALID_ARGUMENT, 'Connection dropped'))).toBe(false);
  });
});
