export { MAX_TIMER_MS, parseAddressFlag, parseIntegerFlag, parsePort, parsePositiveInt } from './flag-values.js';
export { addSharedOptions, parseDataDirFlag, parseGrpcPortFlag, parseHostOption, parseNatsFlag, parseRegistryFlag, sharedOption } from './shared-flags.js';
export { addTelemetryOptions, parseTelemetryFlags, type TelemetryFlagOptions, type TelemetryFlags } from '../telemetry/telemetry-flags.js';
export {
  addClientTlsOptions,
  addClientTlsOptionsToCallers,
  addNatsClientOptions,
  loadNatsSecurityFlags,
  addServiceSecurityOptions,
  clientCredentialsOption,
  loadServiceSecurity,
  withTlsExplained,
} from './tls-flags.js';
export { loadServiceAuth } from './service-auth.js';
