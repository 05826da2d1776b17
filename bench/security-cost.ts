// The cost of security on the data plane: the same model, mode and concurrency served by three
// nodes that differ only in their edge (plaintext; TLS; TLS with token checks), measured in
// rotating turns so drift hits all three alike. Certificates come from the local CA that
// `infermesh up --secure` uses; the token is signed here with a key the token-checking node is
// given the public half of (as the registry's key would be).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyId, signToken } from '../shared/auth/index.js';
import { ensureLocalCa } from '../shared/tls/index.js';
import type { AnnouncedProcess } from './processes.js';
import type { Measured, TargetReport } from './report-rows.js';
import { compareSettings, costTarget, ratiosToBaseline, spawnNode, type SettingCostOptions, type SettingCostReport, type SettingPoint } from './setting-cost.js';
import type { LoadSecurity } from './worker-protocol.js';

/** The edges compared; the first is the baseline. */
export const SECURITY_SETTINGS = ['plaintext', 'tls', 'tls+tokens'] as const;
export type SecuritySetting = (typeof SECURITY_SETTINGS)[number];

/**
 * Targets, as a fraction of throughput: token checks must cost under 3% on top of TLS (the issue's
 * target; TLS itself is reported, not judged, since its cost is the cipher's).
 */
export const TOKEN_CHECK_BUDGET = 0.03;

export interface SecurityCostPoint extends SettingPoint {
  setting: SecuritySetting;
}

export interface SecurityCostReport extends SettingCostReport<SecuritySetting, SecurityCostPoint> {
  /** tls+tokens over tls: what the token checks alone cost. */
  tokensOverTls?: number;
}

export interface SecurityCostOptions extends Omit<SettingCostOptions, 'load'> {
  /** Scratch directory (certificates, keys). */
  workDir: string;
  /** One measured window against `node`, connecting as `security` says. */
  load(node: AnnouncedProcess, security: LoadSecurity | undefined): Promise<Measured>;
}

/** Runs the comparison; every process it starts is stopped before it returns. */
export async function measureSecurityCost(o: SecurityCostOptions): Promise<SecurityCostReport> {
  const ca = await ensureLocalCa({ dir: join(o.workDir, 'security-ca') });
  const cert = await ca.issue({ name: 'bench-node', hosts: ['127.0.0.1'] });
  const caPem = await readFile(ca.caFile, 'utf8');
  // The token-checking node verifies with this key's public half, locally, as every edge does.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyFile = join(o.workDir, 'security-token-key.pub.pem');
  await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const now = Date.now();
  const token = await signToken({ subject: 'bench', scopes: ['infer'], models: [o.model], tokenId: randomUUID(), issuedAtMs: now, expiresAtMs: now + 3_600_000 }, privateKey, publicKeyId(publicKey));

  const tls = ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile];
  const argsOf: Record<SecuritySetting, string[]> = {
    plaintext: [],
    tls,
    'tls+tokens': [...tls, '--auth', '--auth-public-key', publicKeyFile],
  };
  const securityOf: Record<SecuritySetting, LoadSecurity | undefined> = {
    plaintext: undefined,
    tls: { caPem },
    'tls+tokens': { caPem, token },
  };
  const figures = await compareSettings({
    settings: SECURITY_SETTINGS,
    start: (setting) => spawnNode(o, o.repository, ['--trace-sampling', 'off', ...argsOf[setting]]),
    started: () => o.progress(`security cost: ${o.model} ${o.mode} c=${o.concurrency}, ${SECURITY_SETTINGS.join(' / ')}, ${o.rounds} window(s) each`),
    rounds: o.rounds,
    load: (node, setting) => o.load(node, securityOf[setting]),
    counters: async () => ({}),
  });
  const points = SECURITY_SETTINGS.map((setting): SecurityCostPoint => {
    const f = figures.get(setting)!;
    return { setting, throughput: f.throughput, p50Ms: f.p50Ms, p99Ms: f.p99Ms, errors: f.errors };
  });
  const ratios = ratiosToBaseline(figures);
  const tlsThroughput = figures.get('tls')?.throughput ?? 0;
  const tokensThroughput = figures.get('tls+tokens')?.throughput ?? 0;
  const tokensOverTls = tlsThroughput > 0 ? tokensThroughput / tlsThroughput : undefined;
  for (const p of points) {
    o.progress(`  ${p.setting.padEnd(10)} ${p.throughput.toFixed(0)}/s (p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), x plaintext ${ratios[p.setting]?.toFixed(3) ?? '-'}`);
  }
  if (tokensOverTls !== undefined) o.progress(`  token checks: tls+tokens x tls ${tokensOverTls.toFixed(3)}`);
  return { model: o.model, mode: o.mode, concurrency: o.concurrency, rounds: o.rounds, points, ratios, ...(tokensOverTls !== undefined ? { tokensOverTls } : {}) };
}

/** PASS/MISS: token checks lose at most {@link TOKEN_CHECK_BUDGET} of throughput against TLS alone. */
export function securityCostTargets(report: SecurityCostReport | undefined): TargetReport[] {
  const errors = report?.points.reduce((n, p) => n + p.errors, 0) ?? 0;
  return [
    costTarget({
      target: `token checks cost <= ${TOKEN_CHECK_BUDGET * 100}% of throughput (${report ? `${report.mode}, c=${report.concurrency}` : 'streaming, c=64'}; tls+tokens over tls), as x tls >= ${1 - TOKEN_CHECK_BUDGET}`,
      case: report?.model ?? 'mlp',
      // A run whose calls failed (refused tokens, handshakes) measured errors, not the checks.
      ratio: errors > 0 ? undefined : report?.tokensOverTls,
      budget: TOKEN_CHECK_BUDGET,
      skipDetail: errors > 0 ? `not judged: ${errors} calls failed` : 'not measured in this run (needs case mlp; --no-security-cost turns it off)',
    }),
  ];
}
