export {
  Code,
  InfermeshError,
  invalidArgument,
  notFound,
  unavailable,
  failedPrecondition,
  resourceExhausted,
  deadlineExceeded,
} from './infermesh-error.js';
