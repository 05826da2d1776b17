// The cost of security on the data plane, mlp streaming c=64, measured in rotating turns
// (setting-cost.ts) so drift hits every setting alike:
//
// - plaintext: a node of its own, no TLS, no auth;
// - tls and tls+tokens: ONE node with TLS, `--auth` and `--auth-anonymous-models <model>-anonymous`,
//   serving two copies of the model: `<model>-anonymous` called without a token (tls) and
//   `<model>-token` called with one (tls+tokens).
//
// Token checks are judged on the one node: separate processes on this machine differ by 10-35% on
// identical work, far more than the 3% budget (records-cost.ts does the same for records). And they
// are judged per CPU second, the node's CPU time per request served (its process tree from /proc,
// requests from its /metrics, over the same load calls): on a 2-core machine that other work shares,
// how much CPU the node got in a window moves its throughput by tens of % (A/A windows of one model
// on one node differed by 17% in throughput, 5% in CPU per request, under a load average of 8), and
// a token check is CPU work only (no I/O: the key is local), so CPU per request is what it costs.
// The throughput ratio is reported next to it.
//
// What the one-node comparison includes: the `authorization` header on each stream and its
// verification (once per stream: a cache hit after the first). What it leaves out: the per-message
// model check (authorize(principal, 'infer', model)), which runs in both settings since the
// anonymous principal is checked per model exactly like a token's. That check is timed here
// in-process and taken off tls's CPU per request, so the judged ratio is tls+tokens against a TLS
// node that checks nothing, and the whole check is accounted for; its share of a core at the
// measured throughput is reported too.
// Certificates come from the local CA that `infermesh up --secure` uses; the token is signed here
// with a key the node is given the public half of (as the registry's key would be).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { anonymousPrincipal, authorize, createTokenVerifier, publicKeyId, signToken, type Principal } from '../shared/auth/index.js';
import { METRICS } from '../shared/telemetry/index.js';
import { ensureLocalCa } from '../shared/tls/index.js';
import { treeCpuSeconds } from './cpu-usage.js';
import type { AnnouncedProcess } from './processes.js';
import type { Measured, TargetReport } from './report-rows.js';
import { compareSettings, costTarget, ratiosToBaseline, spawnNode, type SettingCostOptions, type SettingCostReport, type SettingPoint } from './setting-cost.js';
import type { LoadSecurity } from './worker-protocol.js';

/** The edges compared; the first is the baseline. tls and tls+tokens share one node. */
export const SECURITY_SETTINGS = ['plaintext', 'tls', 'tls+tokens'] as const;
export type SecuritySetting = (typeof SECURITY_SETTINGS)[number];

/**
 * Targets, as a fraction of throughput: token checks must cost under 3% on top of TLS (the issue's
 * target; TLS itself is reported, not judged, since its cost is the cipher's).
 */
export const TOKEN_CHECK_BUDGET = 0.03;

/** Calls of each in-process timing loop. */
const CHECK_LOOP_CALLS = 1_000_000;

export interface SecurityCostPoint extends SettingPoint {
  setting: SecuritySetting;
  /** The model called (plaintext and tls: `<model>-anonymous`, without a token; tls+tokens: `<model>-token`). */
  model: string;
  /** Throughput of each measured window, in round order: the spread that the means hide. */
  roundThroughputs: number[];
  /**
   * The node's CPU time (its process tree, /proc) per request it served, over the same intervals
   * (each whole load call, warm-up included; requests from its /metrics): what the setting costs in
   * CPU, which other processes on a shared machine disturb far less than throughput. 0 when unread.
   */
  cpuNsPerRequest: number;
}

/** The checks timed in-process (the bench's own process, unpinned): ns per call, over CHECK_LOOP_CALLS calls each. */
export interface TokenCheckTimings {
  calls: number;
  /** authorize(principal, 'infer', model), what the node runs per streamed message, for the token's principal and the anonymous one. */
  perMessageNs: { token: number; anonymous: number };
  /** TokenVerifier.verify of a cached token (sha256 of the token, the cache lookup, the expiry and revocation checks): once per stream (per call in unary mode). */
  cachedVerifyNs: number;
  /** perMessageNs.token x the tls+tokens throughput: the share of one core the per-message check takes at the measured rate. */
  perMessageCoreShare: number;
}

export interface SecurityCostReport extends SettingCostReport<SecuritySetting, SecurityCostPoint> {
  /** tls+tokens over tls, measured on the one node: the header and per-stream verification. */
  tokensOverTls?: number;
  /** The same, per CPU second: tls's CPU ns per request over tls+tokens' (1 = the tokens cost no CPU). */
  tokensOverTlsPerCpu?: number;
  /** What the one-node ratio leaves out, timed in-process. */
  checks?: TokenCheckTimings;
  /**
   * What the target judges, as a throughput ratio (1 = free): per CPU second, (tls's CPU ns per
   * request - the anonymous per-message check) over tls+tokens' CPU ns per request, i.e. tls+tokens
   * against a TLS node that checks nothing. Where the CPU was not read (no /proc):
   * tokensOverTls x (1 - perMessageCoreShare). `tokenCheckBasis` says which.
   */
  tokenCheckRatio?: number;
  tokenCheckBasis?: 'cpu' | 'throughput';
}

export interface SecurityCostOptions extends Omit<SettingCostOptions, 'load'> {
  /** Scratch directory (certificates, keys, the two copies of the model). */
  workDir: string;
  /** One measured window against `node` on `model`, connecting as `security` says. */
  load(node: AnnouncedProcess, security: LoadSecurity | undefined, model: string): Promise<Measured>;
}

/** The copies of the model the secure node serves. */
function modelsOf(model: string) {
  return { anonymous: `${model}-anonymous`, token: `${model}-token` };
}

/** Writes `<workDir>/security/<model>-anonymous` and `<model>-token`: the model's files, config.json as it is. */
async function repositoryOfCopies(o: SecurityCostOptions): Promise<string> {
  const root = join(o.workDir, 'security');
  const config = await readFile(join(o.repository, o.model, 'config.json'));
  for (const name of Object.values(modelsOf(o.model))) {
    await mkdir(join(root, name, '1'), { recursive: true });
    await copyFile(join(o.repository, o.model, '1', 'model.onnx'), join(root, name, '1', 'model.onnx'));
    await writeFile(join(root, name, 'config.json'), config);
  }
  return root;
}

/** Runs the comparison; every process it starts is stopped before it returns. */
export async function measureSecurityCost(o: SecurityCostOptions): Promise<SecurityCostReport> {
  const ca = await ensureLocalCa({ dir: join(o.workDir, 'security-ca') });
  const cert = await ca.issue({ name: 'bench-node', hosts: ['127.0.0.1'] });
  const caPem = await readFile(ca.caFile, 'utf8');
  // The node verifies with this key's public half, locally, as every edge does.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyFile = join(o.workDir, 'security-token-key.pub.pem');
  await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const models = modelsOf(o.model);
  const now = Date.now();
  const tokenPrincipal: Principal = { subject: 'bench', scopes: ['infer'], models: [models.token], tokenId: randomUUID(), expiresAtMs: now + 3_600_000 };
  const token = await signToken({ ...tokenPrincipal, issuedAtMs: now }, privateKey, publicKeyId(publicKey));
  const repository = await repositoryOfCopies(o);

  const base = ['--trace-sampling', 'off'];
  const tls = ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile];
  // Both started at once (compareSettings starts every setting's node together); tls and tls+tokens share the secure one.
  const plainNode = spawnNode(o, repository, base);
  const secureNode = spawnNode(o, repository, [...base, ...tls, '--auth', '--auth-public-key', publicKeyFile, '--auth-anonymous-models', models.anonymous]);
  // A node that failed to start is stopped by compareSettings' own cleanup; keep an early rejection from going unhandled meanwhile.
  void plainNode.catch(() => undefined);
  void secureNode.catch(() => undefined);
  const of: Record<SecuritySetting, { node: Promise<AnnouncedProcess>; model: string; security: LoadSecurity | undefined }> = {
    plaintext: { node: plainNode, model: models.anonymous, security: undefined },
    tls: { node: secureNode, model: models.anonymous, security: { caPem } },
    'tls+tokens': { node: secureNode, model: models.token, security: { caPem, token } },
  };
  const figures = await compareSettings({
    settings: SECURITY_SETTINGS,
    start: (setting) => of[setting].node,
    started: () =>
      o.progress(
        `security cost: ${o.model} ${o.mode} c=${o.concurrency}, ${SECURITY_SETTINGS.join(' / ')} (tls and tls+tokens: one node, ${models.anonymous} without a token and ${models.token} with one), ${o.rounds} window(s) each`,
      ),
    rounds: o.rounds,
    load: (node, setting) => o.load(node, of[setting].security, of[setting].model),
    counters: (node, setting) => nodeCounters(node, of[setting].model, of[setting].security?.caPem),
  });
  const points = SECURITY_SETTINGS.map((setting): SecurityCostPoint => {
    const f = figures.get(setting)!;
    const requests = f.counters.requests ?? 0;
    const cpuNsPerRequest = requests > 0 ? ((f.counters.cpuSeconds ?? 0) * 1e9) / requests : 0;
    return { setting, model: of[setting].model, throughput: f.throughput, p50Ms: f.p50Ms, p99Ms: f.p99Ms, errors: f.errors, roundThroughputs: f.roundThroughputs, cpuNsPerRequest };
  });
  const ratios = ratiosToBaseline(figures);
  const tlsThroughput = figures.get('tls')?.throughput ?? 0;
  const tokensThroughput = figures.get('tls+tokens')?.throughput ?? 0;
  const tokensOverTls = tlsThroughput > 0 ? tokensThroughput / tlsThroughput : undefined;
  const cpuOf = (setting: SecuritySetting) => points.find((p) => p.setting === setting)?.cpuNsPerRequest ?? 0;
  const tokensOverTlsPerCpu = cpuOf('tls') > 0 && cpuOf('tls+tokens') > 0 ? cpuOf('tls') / cpuOf('tls+tokens') : undefined;
  // After the nodes are gone: the timing loops run on a quieter machine.
  const checks = await timeTokenChecks(tokenPrincipal, models, token, publicKey, tokensThroughput);
  const judged: Pick<SecurityCostReport, 'tokenCheckRatio' | 'tokenCheckBasis'> =
    tokensOverTlsPerCpu !== undefined
      ? { tokenCheckRatio: (cpuOf('tls') - checks.perMessageNs.anonymous) / cpuOf('tls+tokens'), tokenCheckBasis: 'cpu' }
      : tokensOverTls !== undefined
        ? { tokenCheckRatio: tokensOverTls * (1 - checks.perMessageCoreShare), tokenCheckBasis: 'throughput' }
        : {};
  for (const p of points) {
    o.progress(`  ${p.setting.padEnd(10)} ${p.throughput.toFixed(0)}/s (p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms${p.errors ? `, ${p.errors} errors` : ''}), x plaintext ${ratios[p.setting]?.toFixed(3) ?? '-'}${p.setting === 'plaintext' ? '' : ' (another process: reported, not judged)'}; windows ${p.roundThroughputs.map((t) => t.toFixed(0)).join(', ')}/s; node CPU ${(p.cpuNsPerRequest / 1000).toFixed(1)} µs per request`);
  }
  if (tokensOverTls !== undefined) {
    o.progress(`  token checks, one node: tls+tokens x tls ${tokensOverTls.toFixed(3)} in throughput, ${tokensOverTlsPerCpu?.toFixed(3) ?? '-'} per CPU second (the header and per-stream verification)`);
  }
  o.progress(
    `  per-message model check (in-process, ${checks.calls} calls): ${checks.perMessageNs.token.toFixed(0)} ns (token), ${checks.perMessageNs.anonymous.toFixed(0)} ns (anonymous), ` +
      `${(checks.perMessageCoreShare * 100).toFixed(3)}% of a core at ${tokensThroughput.toFixed(0)}/s; cached token verify ${checks.cachedVerifyNs.toFixed(0)} ns per stream`,
  );
  return {
    model: o.model, mode: o.mode, concurrency: o.concurrency, rounds: o.rounds, points, ratios,
    ...(tokensOverTls !== undefined ? { tokensOverTls } : {}),
    ...(tokensOverTlsPerCpu !== undefined ? { tokensOverTlsPerCpu } : {}),
    checks,
    ...judged,
  };
}

const REQUESTS_TOTAL = METRICS.inferenceRequestsTotal.name;

/**
 * The node's CPU seconds so far (its process tree) and the requests it has served on `model`
 * (every status), from its /metrics page: over HTTPS with the bench CA on the TLS node. compareSettings
 * reads them before and after each window, so each setting's growth is over its own windows.
 */
async function nodeCounters(node: AnnouncedProcess, model: string, caPem: string | undefined): Promise<Record<string, number>> {
  const cpuSeconds = treeCpuSeconds(node.pid);
  const address = node.endpoints.metrics;
  if (address === undefined) return { cpuSeconds };
  let requests = 0;
  for (const line of (await getText(address, caPem)).split('\n')) {
    if (line.startsWith(`${REQUESTS_TOTAL}{`) && line.includes(`model="${model}"`)) requests += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return { cpuSeconds, requests };
}

/** GET http(s)://address/metrics as text; https trusting `caPem` (fetch takes no CA without a dispatcher). */
function getText(address: string, caPem: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 16 * 1024 * 1024) res.destroy(new Error(`${address}/metrics: more than 16 MiB`));
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${address}/metrics answered ${res.statusCode}`))));
      res.on('error', reject);
    };
    const url = `${caPem === undefined ? 'http' : 'https'}://${address}/metrics`;
    const req = caPem === undefined ? httpGet(url, onResponse) : httpsGet(url, { ca: caPem }, onResponse);
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

/** Times the checks the one-node ratio leaves out (see {@link TokenCheckTimings}). */
async function timeTokenChecks(
  tokenPrincipal: Principal,
  models: { anonymous: string; token: string },
  token: string,
  publicKey: Parameters<typeof createTokenVerifier>[0]['publicKey'],
  throughput: number,
): Promise<TokenCheckTimings> {
  const anonymous = anonymousPrincipal([models.anonymous])!;
  const loop = (principal: Principal, model: string) => {
    for (let i = 0; i < 10_000; i++) authorize(principal, 'infer', model);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CHECK_LOOP_CALLS; i++) authorize(principal, 'infer', model);
    return Number(process.hrtime.bigint() - t0) / CHECK_LOOP_CALLS;
  };
  const perMessageNs = { token: loop(tokenPrincipal, models.token), anonymous: loop(anonymous, models.anonymous) };
  const verifier = createTokenVerifier({ publicKey });
  await verifier.verify(token);
  const verifyCalls = CHECK_LOOP_CALLS / 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < verifyCalls; i++) await verifier.verify(token);
  const cachedVerifyNs = Number(process.hrtime.bigint() - t0) / verifyCalls;
  return { calls: CHECK_LOOP_CALLS, perMessageNs, cachedVerifyNs, perMessageCoreShare: (perMessageNs.token * throughput) / 1e9 };
}

/**
 * PASS/MISS: token checks lose at most {@link TOKEN_CHECK_BUDGET} of throughput against TLS alone:
 * tls+tokens over tls on one node per CPU second, the per-message check counted (see tokenCheckRatio).
 */
export function securityCostTargets(report: SecurityCostReport | undefined): TargetReport[] {
  const errors = report?.points.reduce((n, p) => n + p.errors, 0) ?? 0;
  const target = costTarget({
    target:
      `token checks cost <= ${TOKEN_CHECK_BUDGET * 100}% of throughput (${report ? `${report.mode}, c=${report.concurrency}` : 'streaming, c=64'}; ` +
      `tls+tokens over tls on one node per CPU second, the per-message model check counted), as x tls >= ${1 - TOKEN_CHECK_BUDGET}`,
    case: report?.model ?? 'mlp',
    // A run whose calls failed (refused tokens, handshakes) measured errors, not the checks.
    ratio: errors > 0 ? undefined : report?.tokenCheckRatio,
    budget: TOKEN_CHECK_BUDGET,
    skipDetail: errors > 0 ? `not judged: ${errors} calls failed` : 'not measured in this run (needs case mlp; --no-security-cost turns it off)',
  });
  const c = report?.checks;
  if (target.verdict === 'SKIP' || !c || report?.tokensOverTls === undefined) return [target];
  const cpu = (setting: SecuritySetting) => ((report.points.find((p) => p.setting === setting)?.cpuNsPerRequest ?? 0) / 1000).toFixed(1);
  const parts =
    `judged on ${report.tokenCheckBasis === 'cpu' ? `CPU per request: tls ${cpu('tls')} µs, tls+tokens ${cpu('tls+tokens')} µs` : 'throughput (node CPU not read)'}; ` +
    `throughput x tls ${report.tokensOverTls.toFixed(3)}; per-message check ${c.perMessageNs.token.toFixed(0)} ns = ${(c.perMessageCoreShare * 100).toFixed(3)}% of a core`;
  return [{ ...target, detail: `${target.detail} (${parts})` }];
}
