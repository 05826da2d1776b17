// Parsers for flag values, one per kind of value, each with the one message a
// bad value of that kind gets: "<flag> must be <what it takes>, got '<value>'".
// They take `unknown` (commander hands over strings, tests and environment
// mirrors may hand over anything) and throw a plain Error; an entry point that
// wants another type (the registry's UsageError, exit code 2) wraps it.

/** Largest delay a Node timer honours (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 0x7fff_ffff;

/** The text of a flag value as the messages quote it. */
function text(value: unknown): string {
  return value === undefined ? '' : String(value);
}

/**
 * An integer flag within [min, max] (decimal digits, an optional leading '-'):
 * "`flag` must be an integer from min to max, got 'value'".
 */
export function parseIntegerFlag(value: unknown, flag: string, min: number, max: number): number {
  const s = text(value).trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got '${text(value)}'`);
  return n;
}

/** A positive integer flag (e.g. a duration in ms), at most `max` (default {@link MAX_TIMER_MS}). */
export function parsePositiveInt(value: unknown, flag: string, max = MAX_TIMER_MS): number {
  return parseIntegerFlag(value, flag, 1, max);
}

/** A TCP port flag: an integer 0-65535 (0 = pick a free port). */
export function parsePort(value: unknown, flag: string): number {
  const s = text(value).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new Error(`${flag} must be a port number 0-65535, got '${text(value)}'`);
  return n;
}

/** `HOST:PORT`, `[IPv6]:PORT`; the port 0-65535. */
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

/** Whether `value` is `HOST:PORT` (or `[IPv6]:PORT`) with a port 0-65535. */
export function isAddress(value: string): boolean {
  const m = ADDRESS.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

/**
 * A `HOST:PORT` flag (`[IPv6]:PORT` too): "`flag` must be HOST:PORT, got 'value'",
 * with "(or set ENV)" when the flag has an environment mirror.
 */
export function parseAddressFlag(value: unknown, flag: string, env?: string): string {
  const s = text(value).trim();
  if (!isAddress(s)) throw new Error(`${flag} must be HOST:PORT${env ? ` (or set ${env})` : ''}, got '${text(value)}'`);
  return s;
}

/** The URL schemes a NATS client connects with: plain, TLS, WebSocket, secure WebSocket. */
export const NATS_URL_SCHEMES = ['nats', 'tls', 'ws', 'wss'] as const;

const NATS_URL = /^(nats|tls):\/\/[^\s,/]+(\/\S*)?$/;
const NATS_WEBSOCKET_URL = /^wss?:\/\//;

/**
 * A NATS server URL, or a comma-separated list of them (a cluster's seeds),
 * each `nats://` or `tls://` HOST[:PORT]:
 * "`flag` must be a nats:// or tls:// URL like nats://127.0.0.1:4222 (or set ENV), got 'value'".
 * `ws://` and `wss://` are refused with their own reason: the services connect with
 * @nats-io/transport-node, which speaks NATS over TCP only.
 * Returns the list as given, each entry trimmed.
 */
export function parseNatsUrlFlag(value: unknown, flag = '--nats', env?: string): string {
  const parts = text(value).split(',').map((s) => s.trim());
  const envNote = env ? ` (or set ${env})` : '';
  if (parts.some((p) => NATS_WEBSOCKET_URL.test(p))) {
    throw new Error(`${flag} takes nats:// or tls:// URLs: NATS over WebSocket (ws://, wss://) is not supported by the Node transport${envNote}, got '${text(value)}'`);
  }
  if (parts.some((p) => !NATS_URL.test(p))) {
    throw new Error(`${flag} must be a nats:// or tls:// URL like nats://127.0.0.1:4222 (comma-separated for a cluster)${envNote}, got '${text(value)}'`);
  }
  return parts.join(',');
}

/** An interface to listen on: a host name or an IP address (no spaces, not empty). */
export function parseHostFlag(value: unknown, flag = '--host'): string {
  const s = text(value).trim();
  if (!/^\S+$/.test(s)) throw new Error(`${flag} must be a host name or IP address, got '${text(value)}'`);
  return s;
}
