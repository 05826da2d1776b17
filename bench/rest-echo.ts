// REST's transport limit: a bare node:http server (keep-alive, as the node's)
// that reads each request body whole and answers at once with a response of
// the served model's output size, in JSON or binary as the request came
// (no parsing, no model run).
// Usage: node rest-echo.js '{"name":"y","datatype":"FP32","shape":[1,4]}'
import { createServer } from 'node:http';
import { announce } from '../shared/process/index.js';
import { restResponseBody } from './rest-payloads.js';
import type { PayloadSpec } from './worker-protocol.js';

const output = JSON.parse(process.argv[2] ?? '') as PayloadSpec;
const json = restResponseBody(output, 'json');
const binary = restResponseBody(output, 'binary');

const server = createServer({ noDelay: true }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const reply = req.headers['inference-header-content-length'] === undefined ? json : binary;
    res.writeHead(200, reply.headers);
    res.end(reply.body);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  announce('bench-rest-echo', { http: `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
