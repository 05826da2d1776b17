/**
 * Quality figures from joined feedback: accuracy and macro precision, recall
 * and F1 for classifiers (labels compared as text), MAE and RMSE for
 * regressors. Each figure comes with the number of pairs behind it.
 */

export interface ClassificationQuality {
  samples: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface RegressionQuality {
  samples: number;
  mae: number;
  rmse: number;
}

/**
 * Macro averages over the classes seen as truth or prediction; a class never
 * predicted has precision 0, one never true has recall 0 (scikit-learn's
 * `zero_division=0`). NaN figures with no pairs.
 */
export function classificationQuality(pairs: ReadonlyArray<readonly [predicted: string, truth: string]>): ClassificationQuality {
  const n = pairs.length;
  if (n === 0) return { samples: 0, accuracy: NaN, precision: NaN, recall: NaN, f1: NaN };
  const tp = new Map<string, number>();
  const predicted = new Map<string, number>();
  const actual = new Map<string, number>();
  let correct = 0;
  for (const [p, t] of pairs) {
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    actual.set(t, (actual.get(t) ?? 0) + 1);
    if (p === t) {
      correct++;
      tp.set(p, (tp.get(p) ?? 0) + 1);
    }
  }
  const classes = new Set([...predicted.keys(), ...actual.keys()]);
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  for (const c of classes) {
    const hits = tp.get(c) ?? 0;
    const p = predicted.get(c) ? hits / predicted.get(c)! : 0;
    const r = actual.get(c) ? hits / actual.get(c)! : 0;
    precision += p;
    recall += r;
    f1 += p + r > 0 ? (2 * p * r) / (p + r) : 0;
  }
  const k = classes.size;
  return { samples: n, accuracy: correct / n, precision: precision / k, recall: recall / k, f1: f1 / k };
}

/** Mean absolute and root-mean-square error; NaN with no pairs. */
export function regressionQuality(pairs: ReadonlyArray<readonly [predicted: number, truth: number]>): RegressionQuality {
  const n = pairs.length;
  if (n === 0) return { samples: 0, mae: NaN, rmse: NaN };
  let abs = 0;
  let sq = 0;
  for (const [p, t] of pairs) {
    abs += Math.abs(p - t);
    sq += (p - t) ** 2;
  }
  return { samples: n, mae: abs / n, rmse: Math.sqrt(sq / n) };
}
