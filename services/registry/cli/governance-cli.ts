import { Option } from 'commander';
import { clientCredentialsOption, withTlsExplained } from '../../../shared/flags/index.js';
import { runVerb, UsageError } from './cli-errors.js';
import { createGovernanceClient, type GovernanceClient } from './governance-client.js';

/** The environment variable the CLI reads its token from (never a flag: a flag shows in `ps`). */
export const TOKEN_ENV = 'INFERMESH_TOKEN';

/** `--registry HOST:PORT` (INFERMESH_REGISTRY). */
export function registryAddressOption(): Option {
  return new Option('--registry <host:port>', 'the registry').env('INFERMESH_REGISTRY');
}

/** Runs a verb with a governance client on `--registry`, sending INFERMESH_TOKEN when set. */
export function withGovernanceClient(verb: string, flags: { registry?: string }, fn: (client: GovernanceClient) => Promise<void>): Promise<void> {
  return runVerb(verb, async () => {
    const address = flags.registry ?? '';
    if (!/^[^\s:]+:\d{1,5}$/.test(address)) throw new UsageError(`--registry HOST:PORT (or INFERMESH_REGISTRY) is required, got '${address}'`);
    const token = process.env[TOKEN_ENV] || undefined;
    const client = createGovernanceClient(address, { ...(token ? { token } : {}), ...(await clientCredentialsOption(flags)) });
    try {
      await withTlsExplained(address, () => fn(client));
    } finally {
      client.close();
    }
  });
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d` or plain milliseconds, to milliseconds. UsageError naming the flag otherwise. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 90s, 15m, 12h or 30d, got '${text}'`);
  const ms = Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 'ms']!;
  if (!Number.isSafeInteger(ms)) throw new UsageError(`${flag} is too long: '${text}'`);
  return ms;
}

/** `now`, an ISO 8601 time (`2026-06-01T12:00:00Z`) or milliseconds since the epoch, to milliseconds. */
export function parseTimeMs(text: string, flag: string, nowMs = Date.now()): number {
  if (text === 'now') return nowMs;
  if (/^\d+$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`${flag} must be 'now', an ISO 8601 time such as 2026-06-01T12:00:00Z, or ms since the epoch, got '${text}'`);
  return ms;
}

/** A time for a table: ISO 8601 to the second, UTC; '-' for 0. */
export function isoTime(ms: number | string): string {
  const n = Number(ms);
  return n === 0 ? '-' : new Date(n).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Rows as left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
