export { buildUserItemCsr, type Interactions } from './csr.js';
export { scoreItems, userVector, itemVector, type FactorModel } from './factor-model.js';
export { solveHalfStep, type EpochReport } from './ials.js';
export { createFoldIn, type FoldIn } from './fold-in.js';
export { DEFAULT_IALS_PARAMS, resolveIalsParams, type IalsParams } from './params.js';
export { createRandom, type Random } from './random.js';
export { createParallelIalsTrainer, trainAllEpochs } from './parallel-ials.js';
