/** TLS for every infermesh connection: PEM files from flags/env, grpc-js and node:https credentials, and the local CA of `up --secure`. */
export {
  TLS_ENV,
  resolveServerTlsFiles,
  resolveClientTlsFiles,
  loadServerTls,
  loadClientTls,
  type ClientTls,
} from './tls-files.js';
export { grpcServerCredentials, grpcChannelCredentials, httpsServerOptions } from './credentials.js';
export { ensureLocalCa, type CertFiles } from './local-ca.js';
export { prepareSecureMesh, type SecureMesh, type SecureService } from './secure-mesh.js';
export { writePrivateFile } from './private-file.js';
export { loadNatsSecurity, NATS_NKEY_ENV } from './nats-security.js';
