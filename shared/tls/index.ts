/** TLS for every infermesh connection: PEM files from flags/env, grpc-js and node:https credentials, and the local CA of `up --secure`. */
export {
  TLS_ENV,
  resolveServerTlsFiles,
  resolveClientTlsFiles,
  loadServerTls,
  loadClientTls,
  type ServerTlsFiles,
  type ClientTlsFiles,
  type ServerTlsFlags,
  type ClientTlsFlags,
  type ServerTls,
  type ClientTls,
} from './tls-files.js';
export { grpcServerCredentials, grpcChannelCredentials, httpsServerOptions, tlsConnectOptions } from './credentials.js';
export { ensureLocalCa, DEFAULT_LOCAL_CA_OPTIONS, type LocalCa, type LocalCaOptions, type CertFiles, type ServiceCertRequest } from './local-ca.js';
export { prepareSecureMesh, SECURE_SERVICES, type SecureMesh, type SecureMeshOptions, type SecureService } from './secure-mesh.js';
export { writePrivateFile } from './private-file.js';
export { loadNatsSecurity, NATS_NKEY_ENV, type NatsSecurityFiles } from './nats-security.js';
