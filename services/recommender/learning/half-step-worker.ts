// A worker of the parallel iALS trainer: solves a range of rows of one half-step
// into the shared factor matrix (see parallel-ials.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { CsrMatrix } from './csr.js';
import { createRowSolver } from './ials.js';
import type { IalsParams } from './params.js';

interface Shared {
  userItems: CsrMatrix;
  itemUsers: CsrMatrix;
  userFactors: Float32Array;
  itemFactors: Float32Array;
  params: IalsParams;
}

const s = workerData as Shared;
parentPort!.on('message', (m: { side: 'users' | 'items'; gramian: Float64Array; start: number; end: number }) => {
  const users = m.side === 'users';
  const csr = users ? s.userItems : s.itemUsers;
  const target = users ? s.userFactors : s.itemFactors;
  const fixed = users ? s.itemFactors : s.userFactors;
  const solver = createRowSolver(m.gramian, fixed, csr.cols, s.params);
  const d = s.params.dim;
  for (let r = m.start; r < m.end; r++) solver.solve(csr.indices, csr.values, csr.indptr[r]!, csr.indptr[r + 1]!, target, r * d);
  parentPort!.postMessage('done');
});
