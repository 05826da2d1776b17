/**
 * Hyper-parameters of implicit alternating least squares (iALS). The objective
 * (Rendle et al. 2021, "Revisiting the performance of iALS on item
 * recommendation benchmarks"; Hu, Koren & Volinsky 2008) is
 *
 *   L = Σ_{(u,i)∈S} c_ui (ŷ_ui − 1)²  +  α0 · Σ_{(u,i)∉S or all} ŷ_ui²
 *       + λ · Σ_u (|I_u| + α0·|I|)^ν ‖w_u‖²  +  λ · Σ_i (|U_i| + α0·|U|)^ν ‖h_i‖²
 *
 * with ŷ_ui = w_u·h_i. With `observed: 'binary'` (Rendle) c_ui = 1 and the
 * α0 term runs over all pairs; with `observed: 'confidence'` (Hu et al.)
 * c_ui = 1 + alpha·r_ui and the α0 term runs over the unobserved pairs only
 * (α0 = 1 is exactly the original paper).
 */
export interface IalsParams {
  /** Latent dimension d. */
  dim: number;
  /** Full passes (a user half-step then an item half-step). */
  epochs: number;
  /** λ, the L2 regularisation weight. */
  regularization: number;
  /** ν: 0 gives plain L2; 1 scales λ by each row's frequency as in Rendle et al. */
  regularizationExponent: number;
  /** α0, the weight of every unobserved (user, item) pair's push towards 0. */
  unobservedWeight: number;
  /** How an observed pair's summed value becomes its confidence; see the interface's comment. */
  observed: 'binary' | 'confidence';
  /** Hu et al.'s alpha in c = 1 + alpha·r (used with `observed: 'confidence'`). */
  alpha: number;
  /** Initial factors ~ N(0, (initStddev/√d)²). */
  initStddev: number;
  /** Seed of the initialisation. */
  seed: number;
}

/**
 * Defaults chosen by the NCF leave-one-out protocol on held-out data shaped
 * like MovieLens-1M (6k users, 3.7k items, 1M interactions); see the README's
 * "Recommender" section for the grid and the figures behind them.
 */
export const DEFAULT_IALS_PARAMS: Readonly<IalsParams> = {
  dim: 64,
  epochs: 8,
  regularization: 0.005,
  regularizationExponent: 1,
  unobservedWeight: 0.2,
  observed: 'binary',
  alpha: 10,
  initStddev: 0.1,
  seed: 1,
};

/** Resolves options against the defaults once, validating each value. */
export function resolveIalsParams(options: Partial<IalsParams> = {}): IalsParams {
  const p: IalsParams = { ...DEFAULT_IALS_PARAMS };
  for (const [key, value] of Object.entries(options) as [keyof IalsParams, IalsParams[keyof IalsParams] | undefined][]) {
    if (value !== undefined) (p as unknown as Record<string, unknown>)[key] = value;
  }
  const bad = (name: string, expected: string, got: unknown) => new RangeError(`iALS parameter ${name} must be ${expected}, got ${String(got)}`);
  if (!Number.isInteger(p.dim) || p.dim < 1 || p.dim > 4096) throw bad('dim', 'an integer in 1..4096', p.dim);
  if (!Number.isInteger(p.epochs) || p.epochs < 0) throw bad('epochs', 'a non-negative integer', p.epochs);
  if (!(p.regularization >= 0)) throw bad('regularization', '≥ 0', p.regularization);
  if (!(p.regularizationExponent >= 0)) throw bad('regularizationExponent', '≥ 0', p.regularizationExponent);
  if (!(p.unobservedWeight >= 0)) throw bad('unobservedWeight', '≥ 0', p.unobservedWeight);
  if (p.observed !== 'binary' && p.observed !== 'confidence') throw bad('observed', "'binary' or 'confidence'", p.observed);
  if (!(p.alpha >= 0)) throw bad('alpha', '≥ 0', p.alpha);
  if (!(p.initStddev >= 0)) throw bad('initStddev', '≥ 0', p.initStddev);
  if (p.regularization === 0 && p.unobservedWeight === 0) throw bad('regularization', '> 0 when unobservedWeight is 0 (the systems would be singular)', 0);
  return p;
}

/**
 * The weight a and target weight b of one observed pair with summed value r:
 * the row solve adds a·h hᵀ to the system and b·h to its right-hand side, and
 * the pair contributes a·ŷ² − 2b·ŷ + b to the loss.
 */
export function observedTerms(params: IalsParams, r: number): { a: number; b: number } {
  if (params.observed === 'binary') return { a: 1, b: 1 };
  const c = 1 + params.alpha * r;
  return { a: c - params.unobservedWeight, b: c };
}

/** λ for a row with `count` observed entries, when the other side has `otherRows` rows. */
export function rowRegularization(params: IalsParams, count: number, otherRows: number): number {
  if (params.regularizationExponent === 0) return params.regularization;
  return params.regularization * Math.pow(count + params.unobservedWeight * otherRows, params.regularizationExponent);
}
