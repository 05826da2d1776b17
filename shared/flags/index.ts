export { isAddress, MAX_TIMER_MS, NATS_URL_SCHEMES, parseAddressFlag, parseHostFlag, parseIntegerFlag, parseNatsUrlFlag, parsePort, parsePositiveInt } from './flag-values.js';
export {
  addSharedOptions,
  parseDataDirFlag,
  parseGrpcPortFlag,
  parseHostOption,
  parseNatsFlag,
  parseRegistryFlag,
  SHARED_FLAGS,
  sharedOption,
  type FlagPresence,
  type SharedFlag,
  type SharedFlagName,
  type SharedOptionSettings,
} from './shared-flags.js';
export { addTelemetryOptions, parseTelemetryFlags, type TelemetryFlagOptions, type TelemetryFlags } from '../telemetry/telemetry-flags.js';
export {
  addClientTlsOptions,
  addClientTlsOptionsToCallers,
  addServiceSecurityOptions,
  clientCredentialsOption,
  loadServiceSecurity,
  withTlsExplained,
} from './tls-flags.js';
