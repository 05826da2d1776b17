export {
  Code,
  InfermeshError,
  invalidArgument,
  notFound,
  unavailable,
  failedPrecondition,
  resourceExhausted,
  deadlineExceeded,
  loggableMessage,
} from './infermesh-error.js';
