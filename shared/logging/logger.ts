/** Severity levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger: one JSON object per line on stderr, with the component's name and fields. */
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
/** The most elements a log line shows of one array (a Buffer's bytes included). */
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
    // A binary field would be turned into an array of every byte before any replacer saw it.
    for (const key in line) if (line[key] instanceof Uint8Array) line[key] = `<${(line[key]).byteLength} bytes>`;
    write(JSON.stringify(line, boundedReplacer));
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

/** Errors as name, message and cause; every string and array cut short, so that no value from outside makes a line without bound. */
function boundedReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return clipText(value);
  // Its strings are cut when JSON.stringify visits them in the object returned here.
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.cause ? { cause: String(value.cause) } : {}) };
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value) && value.length > MAX_LOGGED_ARRAY_ITEMS) return [...value.slice(0, MAX_LOGGED_ARRAY_ITEMS), `... (${value.length} items)`];
  return value;
}
