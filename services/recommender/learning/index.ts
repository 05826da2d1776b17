export { buildCsr, buildUserItemCsr, transposeCsr, rowLength, type CsrMatrix, type Interactions } from './csr.js';
export { gramian, choleskySolveInPlace } from './dense.js';
export { scorePair, scoreItems, userVector, itemVector, type FactorModel } from './factor-model.js';
export {
  trainIals,
  createIalsTrainer,
  solveHalfStep,
  createRowSolver,
  ialsLoss,
  epochFlops,
  type EpochReport,
  type IalsTrainer,
  type RowSolver,
  type TrainOptions,
} from './ials.js';
export { createFoldIn, type FoldIn } from './fold-in.js';
export { DEFAULT_IALS_PARAMS, resolveIalsParams, observedTerms, rowRegularization, type IalsParams } from './params.js';
export { createRandom, type Random } from './random.js';
export { createParallelIalsTrainer, trainAllEpochs, type ParallelIalsTrainer, type ParallelOptions } from './parallel-ials.js';
