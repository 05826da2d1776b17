/**
 * Small dense linear algebra on row-major Float64Array d×d matrices: what the
 * ALS solver needs (Gramians, Cholesky factorisation and solves).
 */

/**
 * G = Fᵀ F for a row-major factor matrix F of `rows` × `dim` (FP32 storage,
 * FP64 accumulation). Only the lower triangle is accumulated, then mirrored.
 */
export function gramian(factors: Float32Array, rows: number, dim: number, out: Float64Array = new Float64Array(dim * dim)): Float64Array {
  out.fill(0);
  const h = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    for (let a = 0; a < dim; a++) h[a] = factors[base + a]!;
    addOuterLower(out, h, 1, dim);
  }
  mirrorLower(out, dim);
  return out;
}

/** A += w · h hᵀ on the lower triangle of A (row a, columns 0..a). */
export function addOuterLower(A: Float64Array, h: Float64Array, w: number, dim: number): void {
  for (let a = 0; a < dim; a++) {
    const ha = w * h[a]!;
    const row = a * dim;
    for (let b = 0; b <= a; b++) A[row + b]! += ha * h[b]!;
  }
}

/** Copies the lower triangle onto the upper one. */
export function mirrorLower(A: Float64Array, dim: number): void {
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) A[b * dim + a] = A[a * dim + b]!;
}

/**
 * Solves A x = b in place for symmetric positive definite A, reading only A's
 * lower triangle (overwritten by its Cholesky factor L); b is overwritten by x.
 * Returns false when A is not positive definite (a pivot ≤ 0).
 */
export function choleskySolveInPlace(A: Float64Array, b: Float64Array, dim: number): boolean {
  for (let j = 0; j < dim; j++) {
    const rj = j * dim;
    let s = A[rj + j]!;
    for (let k = 0; k < j; k++) s -= A[rj + k]! * A[rj + k]!;
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    A[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < dim; i++) {
      const ri = i * dim;
      let t = A[ri + j]!;
      for (let k = 0; k < j; k++) t -= A[ri + k]! * A[rj + k]!;
      A[ri + j] = t * inv;
    }
  }
  // L y = b
  for (let i = 0; i < dim; i++) {
    const ri = i * dim;
    let t = b[i]!;
    for (let k = 0; k < i; k++) t -= A[ri + k]! * b[k]!;
    b[i] = t / A[ri + i]!;
  }
  // Lᵀ x = y
  for (let i = dim - 1; i >= 0; i--) {
    let t = b[i]!;
    for (let k = i + 1; k < dim; k++) t -= A[k * dim + i]! * b[k]!;
    b[i] = t / A[i * dim + i]!;
  }
  return true;
}
