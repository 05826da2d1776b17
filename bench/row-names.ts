// Names of the extra runners' row groups and servers, shared by the runners and the targets.

/** The row groups the targets look for. */
export const ROW_GROUPS = {
  unary64: 'unary-64',
  unary1: 'unary-1',
  connections: 'connections',
  ocrUnary: 'ocr-unary',
} as const;

/** The servers a row can be measured against. */
export const ROW_SERVERS = { node: 'node', grpcJsFloor: 'grpc-js floor', http2Floor: 'http2 floor' } as const;
