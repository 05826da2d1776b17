import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classificationQuality, regressionQuality } from './quality.js';

describe('quality figures', () => {
  it('macro precision, recall and F1 match a hand computation', () => {
    // truth  a a a b b c ; predicted a a b b c c
    const pairs: Array<[string, string]> = [['a', 'a'], ['a', 'a'], ['b', 'a'], ['b', 'b'], ['c', 'b'], ['c', 'c']];
    const q = classificationQuality(pairs);
    expect(q.samples).toBe(6);
    expect(q.accuracy).toBeCloseTo(4 / 6, 12);
    // precision a 2/2, b 1/2, c 1/2; recall a 2/3, b 1/2, c 1/1
    expect(q.precision).toBeCloseTo((1 + 0.5 + 0.5) / 3, 12);
    expect(q.recall).toBeCloseTo((2 / 3 + 0.5 + 1) / 3, 12);
    const f = (p: number, r: number) => (2 * p * r) / (p + r);
    expect(q.f1).toBeCloseTo((f(1, 2 / 3) + f(0.5, 0.5) + f(0.5, 1)) / 3, 12);
  });

  it('MAE and RMSE match numpy', () => {
    const pairs: Array<[number, number]> = [[1, 1.5], [2, 1], [3.25, 3], [-1, 0]];
    const q = regressionQuality(pairs);
    const [mae, rmse] = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', 'import json,sys,numpy as np; d=np.array(json.loads(sys.stdin.read())); e=d[:,0]-d[:,1]; print(json.dumps([float(np.mean(np.abs(e))), float(np.sqrt(np.mean(e*e)))]))'], { input: JSON.stringify(pairs) }).toString(),
    );
    expect(q.mae).toBeCloseTo(mae, 12);
    expect(q.rmse).toBeCloseTo(rmse, 12);
  });

  it('has no figures without pairs', () => {
    expect(classificationQuality([]).accuracy).toBeNaN();
    expect(regressionQuality([]).samples).toBe(0);
  });
});
