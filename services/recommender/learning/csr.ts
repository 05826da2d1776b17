/**
 * Interactions as parallel typed arrays: one entry per event (user, item,
 * value). Duplicated (user, item) pairs are allowed; the CSR build sums them.
 */
export interface Interactions {
  /** Number of users; ids are 0..users-1. */
  users: number;
  /** Number of items; ids are 0..items-1. */
  items: number;
  user: Int32Array;
  item: Int32Array;
  /** Strength of each event (a count, a rating); 1 when absent. */
  value?: Float32Array;
}

/**
 * A compressed sparse row matrix: row r's column indices are
 * `indices[indptr[r] .. indptr[r+1])`, sorted ascending, with `values` beside them.
 */
export interface CsrMatrix {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** Builds the user->items CSR matrix, summing the values of repeated pairs. */
export function buildUserItemCsr(data: Interactions): CsrMatrix {
  return buildCsr(data.users, data.items, data.user, data.item, data.value);
}

/** Builds a CSR matrix from coordinates; duplicates are summed, columns sorted per row. */
export function buildCsr(rows: number, cols: number, rowIdx: Int32Array, colIdx: Int32Array, value?: Float32Array): CsrMatrix {
  const n = rowIdx.length;
  const counts = new Int32Array(rows + 1);
  for (let k = 0; k < n; k++) {
    const r = rowIdx[k]!;
    const c = colIdx[k]!;
    if (r < 0 || r >= rows || c < 0 || c >= cols) throw new RangeError(`entry ${k} (${r}, ${c}) is outside a ${rows}x${cols} matrix`);
    counts[r + 1]!++;
  }
  for (let r = 0; r < rows; r++) counts[r + 1]! += counts[r]!;
  const order = new Int32Array(n);
  const fill = counts.slice(0, rows);
  for (let k = 0; k < n; k++) order[fill[rowIdx[k]!]!++] = k;
  // Sort each row by column, then merge duplicates in one pass.
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(n);
  const values = new Float32Array(n);
  let out = 0;
  for (let r = 0; r < rows; r++) {
    const start = counts[r]!;
    const end = counts[r + 1]!;
    const row = Array.from(order.subarray(start, end)).sort((a, b) => colIdx[a]! - colIdx[b]!);
    let last = -1;
    for (const k of row) {
      const c = colIdx[k]!;
      const v = value ? value[k]! : 1;
      if (c === last) values[out - 1]! += v;
      else {
        indices[out] = c;
        values[out] = v;
        out++;
        last = c;
      }
    }
    indptr[r + 1] = out;
  }
  return { rows, cols, indptr, indices: indices.slice(0, out), values: values.slice(0, out) };
}

/** The transpose (item->users from user->items), columns sorted. */
export function transposeCsr(m: CsrMatrix): CsrMatrix {
  const nnz = m.indices.length;
  const indptr = new Int32Array(m.cols + 1);
  for (let k = 0; k < nnz; k++) indptr[m.indices[k]! + 1]!++;
  for (let c = 0; c < m.cols; c++) indptr[c + 1]! += indptr[c]!;
  const fill = indptr.slice(0, m.cols);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) {
      const dst = fill[m.indices[k]!]!++;
      indices[dst] = r;
      values[dst] = m.values[k]!;
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, values };
}

/** Number of stored entries of row r. */
export function rowLength(m: CsrMatrix, r: number): number {
  return m.indptr[r + 1]! - m.indptr[r]!;
}
