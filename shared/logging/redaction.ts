/**
 * What never leaves a process in a log line or a span attribute: the values of
 * secret-named fields (at any depth) and anything shaped like a credential
 * inside free text. Shared by the logger and by shared/telemetry's attribute
 * helpers, so both redact the same things.
 */

/** What a redacted value is replaced with. */
export const REDACTED = '<redacted>';

/**
 * Field names whose values are secrets, compared lower case with `-` and `_`
 * removed (so `Authorization`, `x-api-key` and `client_secret` all match).
 */
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'token',
  'bearer',
  'password',
  'passwd',
  'secret',
  'apikey',
  'xapikey',
  'privatekey',
  'signingkey',
  'hashkey',
  'credentials',
  'infermeshtoken',
]);
/** Suffixes that make any field name secret (`accessToken`, `adminPassword`, `clientSecret`, `tlsKey` is not: it is a path). */
const SECRET_SUFFIXES = ['token', 'password', 'secret', 'apikey', 'cookie'];

/** Whether a field named `key` holds a secret, whatever its value (for a dotted attribute name, its last part: `http.request.header.authorization`). */
export function isSecretKey(key: string): boolean {
  const k = key.slice(key.lastIndexOf('.') + 1).toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
}

/**
 * Whether a field named `key` holds tensor values: the Open Inference
 * Protocol's `contents` and its typed lists (`fp32Contents`, `bytes_contents`,
 * `rawInputContents`, ...). Logged as a count, never as values.
 */
export function isTensorDataKey(key: string): boolean {
  return /contents$/i.test(key);
}

// `Bearer <credential>` anywhere in a text, and compact JWS/JWT (the registry's
// tokens: three base64url parts, the first a JSON header `{"...` = `eyJ`).
const AUTH_SCHEME = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;
const COMPACT_JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
// A URL's user:password (`nats://svc:pw@host:4222`, `postgres://u:p@db/x`).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi;

/** `text` with every credential-shaped part (`Bearer ...`, a compact JWT, a URL's password) replaced by {@link REDACTED}. */
export function redactSecrets(text: string): string {
  // Cheap test first: almost no text holds any.
  if (!/bearer|eyJ|:\/\/[^\s]*@/i.test(text)) return text;
  return text
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(COMPACT_JWT, REDACTED)
    .replace(URL_CREDENTIALS, (_m, scheme: string) => `${scheme}${REDACTED}@`);
}
