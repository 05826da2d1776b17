import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSynthetic } from '../synth/index.js';
import { createIalsTrainer } from './ials.js';
import { createParallelIalsTrainer } from './parallel-ials.js';
import { type Interactions } from './csr.js';

// The worker runs compiled (npm test builds dist/ first).
const workerUrl = new URL('../../../dist/services/recommender/learning/half-step-worker.js', import.meta.url);

describe('parallel iALS', () => {
  const synth = generateSynthetic({ users: 300, items: 200, dim: 6, interactions: 9000, seed: 4 });
  const data: Interactions = { users: 300, items: 200, user: synth.train.user, item: synth.train.item };

  it.runIf(existsSync(fileURLToPath(workerUrl)))('splits half-steps over worker threads and computes exactly what the sequential trainer does', async () => {
    const parallel = createParallelIalsTrainer(data, { dim: 8, seed: 9 }, { threads: 3, workerUrl });
    try {
      expect(parallel.threads).toBe(3);
      const sequential = createIalsTrainer(data, { dim: 8, seed: 9 });
      for (let e = 0; e < 3; e++) {
        const a = await parallel.epoch();
        const b = sequential.epoch();
        expect(a.loss).toBe(b.loss);
      }
      expect(Array.from(parallel.model.userFactors)).toEqual(Array.from(sequential.model.userFactors));
      expect(Array.from(parallel.model.itemFactors)).toEqual(Array.from(sequential.model.itemFactors));
    } finally {
      await parallel.close();
    }
  });

  it('falls back to the calling thread when the compiled worker is missing', async () => {
    const t = createParallelIalsTrainer(data, { dim: 4 }, { threads: 4, workerUrl: new URL('file:///nonexistent/worker.js') });
    expect(t.threads).toBe(1);
    const r = await t.epoch();
    expect(r.epoch).toBe(1);
    await t.close();
  });
});
