import { loggableMessage } from '../errors/index.js';
import { isSecretKey, isTensorDataKey, redactSecrets, REDACTED } from './redaction.js';

/** Severity levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A structured logger: one JSON object per line on stderr, with the component's
 * name and fields. What it writes is bounded and holds no secret: the value of
 * a secret-named field (`authorization`, `token`, `password`, `cookie`, ...;
 * see {@link isSecretKey}) is replaced at any depth, credential-shaped text
 * (`Bearer ...`, a JWT) is replaced inside every string, binary data (Buffers,
 * typed arrays: tensors) shows only its length, a tensor's `contents` field
 * (`fp32Contents`, `rawInputContents`, ...) only its count, and an error shows its
 * `logMessage` (the message without the caller's data) when it has one.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields` (e.g. the component name). */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default: `LOG_LEVEL` from the environment, else `info`. */
  level?: LogLevel;
  /** Where lines go. Default: process.stderr. */
  write?: (line: string) => void;
  /** Fields on every line. */
  fields?: Record<string, unknown>;
}

/** The longest string a log line carries for one value (message, field, error message), in characters. */
export const MAX_LOGGED_STRING_CHARS = 4096;
/** The most elements a log line shows of one array. */
export const MAX_LOGGED_ARRAY_ITEMS = 64;

/** `text` cut to `maxChars`, saying how long it was: for values from outside that may be megabytes long. */
export function clipText(text: string, maxChars: number = MAX_LOGGED_STRING_CHARS): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}... (${text.length} characters)`;
}

/** Creates a logger. Library code receives one by injection and never writes to the console itself. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env.LOG_LEVEL as LogLevel | undefined;
  const threshold = LEVELS[options.level ?? (envLevel && envLevel in LEVELS ? envLevel : 'info')];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(JSON.stringify(line, safeReplacer));
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything, for tests and embedders that do not want output. */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** The length of binary data, never its bytes (a tensor's values, a token in a Buffer). */
const binaryLength = (value: ArrayBufferView | ArrayBuffer) => `<${value.byteLength} bytes>`;

/**
 * Applied by JSON.stringify to every value at every depth: secret-named
 * fields redacted; binary data as its length; errors as name, message and
 * cause; strings cut and scrubbed of credentials; arrays cut short; so that no
 * value from outside makes a line without bound or leaks what it carries.
 */
function safeReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key !== '' && isSecretKey(key) && value !== undefined && value !== null) return REDACTED;
  // The holder's own value: a Buffer has been through toJSON ({ type, data: [...] }) by now.
  const raw = key === '' ? value : (this as Record<string, unknown>)[key];
  if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) return binaryLength(raw);
  if (key !== '' && isTensorDataKey(key) && value !== null && typeof value === 'object') return tensorDataSize(value);
  if (typeof value === 'string') return redactSecrets(clipText(value));
  // Its strings are cut and scrubbed when JSON.stringify visits them in the object returned here.
  if (value instanceof Error) return errorFields(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value) && value.length > MAX_LOGGED_ARRAY_ITEMS) return [...value.slice(0, MAX_LOGGED_ARRAY_ITEMS), `... (${value.length} items)`];
  return value;
}

/** How much tensor data a `contents` field holds: its element count, or its lists' counts. */
function tensorDataSize(value: object): string {
  if (Array.isArray(value)) return `<${value.length} values>`;
  const counts = Object.entries(value).flatMap(([k, v]) => (Array.isArray(v) || ArrayBuffer.isView(v) ? [`${k}: ${Array.isArray(v) ? v.length : v.byteLength}`] : []));
  return `<tensor contents${counts.length ? ` (${counts.join(', ')})` : ''}>`;
}

function errorFields(err: Error): Record<string, unknown> {
  const message = loggableMessage(err);
  // An error with a logMessage quotes the caller's data, and so may its cause (a parser's error with an excerpt): leave it out.
  const quotes = typeof (err as { logMessage?: unknown }).logMessage === 'string';
  return { name: err.name, message, ...(err.cause !== undefined && err.cause !== null && !quotes ? { cause: loggableMessage(err.cause) } : {}) };
}
