/** TLS for every infermesh connection: PEM files from flags/env, grpc-js and node:https credentials, and the local CA of `up --secure`. */
export { prepareSecureMesh, type SecureMesh } from './secure-mesh.js';
export { writePrivateFile } from './private-file.js';
export { loadNatsSecurity } from './nats-security.js';
export { ensureLocalCa } from './local-ca.js';
