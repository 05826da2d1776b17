export { createLogger, silentLogger, clipText, type Logger } from './logger.js';
export { isSecretKey, redactSecrets, REDACTED } from './redaction.js';
