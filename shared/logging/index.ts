export { createLogger, silentLogger, clipText, MAX_LOGGED_STRING_CHARS, MAX_LOGGED_ARRAY_ITEMS, type Logger, type LoggerOptions, type LogLevel } from './logger.js';
export { isSecretKey, redactSecrets, REDACTED } from './redaction.js';
