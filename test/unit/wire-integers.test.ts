// Numbers that cannot wrap: every entry point refuses an integer its wire field
// cannot carry, before anything is encoded (grpc-js wraps uint32 silently:
// 4294967299 would arrive as 3).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../../shared/errors/index.js';
import { checkUint32, checkUint64, parseIntegerText, UINT32_MAX } from '../../shared/numbers/index.js';
import { createRegistryClient } from '../../shared/registry-client/index.js';
import { buildInferRequest } from '../../shared/client/index.js';
import { createMonitorClient } from '../../shared/monitor-client/index.js';
import { createRecommenderClient } from '../../services/recommender/client/index.js';
import { parsePositiveInt } from '../../services/inference/cli/index.js';
import { checkByteCount, checkVersionNumber } from '../../services/registry/server/validate.js';
import { integer } from '../../services/registry/cli/models-commands.js';
import { parseRegistryConfig } from '../../services/registry/cli/registry-config.js';
import { parseUpOptions } from '../../cli/up.js';
import { CLI } from '../helpers/service-process.js';

/** An address nothing listens on: a check that let a call through would fail UNAVAILABLE instead. */
const NOWHERE = '127.0.0.1:1';
const WRAPS = 2 ** 32 + 3; // 4294967299 -> 3 on the wire

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InfermeshError);
  expect((err as InfermeshError).code).toBe(Code.INVALID_ARGUMENT);
  expect((err as Error).message).toMatch(message);
}

describe('shared/numbers', () => {
  it('checks ranges and parses only plain decimal integers', () => {
    expect(checkUint32(UINT32_MAX, 'v')).toBe(UINT32_MAX);
    expect(() => checkUint32(UINT32_MAX + 1, 'v')).toThrow(/v must be an integer from 0 to 4294967295, got 4294967296/);
    expect(() => checkUint32(1.5, 'v')).toThrow(/integer/);
    expect(() => checkUint32(-1, 'v')).toThrow(/from 0/);
    expect(() => checkUint64(2 ** 53, 'n')).toThrow(/from 0 to 9007199254740991/);
    expect(parseIntegerText(' 42 ', 'N', 1, 100)).toBe(42);
    for (const bad of ['', '1e3', '0x10', '2.0', '4294967299', '-1']) expect(() => parseIntegerText(bad, 'N', 0, UINT32_MAX)).toThrow(/N must be an integer from 0 to 4294967295/);
  });
});

describe('the command line', () => {
  it('models: VERSION, --version and --weight name themselves and their range', () => {
    expect(() => integer('4294967299', 'VERSION', 1, UINT32_MAX)).toThrow("VERSION must be an integer from 1 to 4294967295, got '4294967299'");
    expect(() => integer('4294967346', '--weight', 0, 100)).toThrow("--weight must be an integer from 0 to 100, got '4294967346'");
    expect(integer('3', 'VERSION', 1, UINT32_MAX)).toBe(3);
  });

  it('`infermesh models delete m1 4294967299` exits 2 (usage) without calling the registry', async () => {
    expect(existsSync(CLI), 'run npm run build first').toBe(true);
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [CLI, ...args, '--registry', NOWHERE], (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }));
        child.stdin?.end();
      });
    const del = await run(['models', 'delete', 'm1', '4294967299']);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/VERSION must be an integer from 1 to 4294967295, got '4294967299'/);
    const promote = await run(['models', 'promote', 'm1', '2', '--alias', 'canary', '--weight', '4294967346']);
    expect(promote.code).toBe(2);
    expect(promote.stderr).toMatch(/--weight must be an integer from 0 to 100/);
  });

  it('inference flags and up flags have upper bounds', () => {
    expect(() => parsePositiveInt(String(2 ** 31), '--drain-timeout-ms')).toThrow(/--drain-timeout-ms must be an integer from 1 to 2147483647/);
    expect(parsePositiveInt('10000', '--drain-timeout-ms')).toBe(10_000);
    expect(() => parseUpOptions({ readyTimeoutMs: String(2 ** 32) })).toThrow(/--ready-timeout-ms must be an integer from 1 to 2147483647/);
    expect(() => parseUpOptions({ grpcPort: String(65536 + 8001) })).toThrow(/--grpc-port must be a port number 0-65535/);
    expect(parseUpOptions({}).grpcPort).toBe(8001);
    const registryFlags = { dataDir: '/tmp/x', nats: 'nats://127.0.0.1:4222' };
    expect(() => parseRegistryConfig({ ...registryFlags, maxArtifactBytes: '99999999999GiB' })).toThrow(/--max-artifact-bytes must be a size/);
    expect(() => parseRegistryConfig({ ...registryFlags, grpcPort: '70000' })).toThrow(/--grpc-port must be a port number 0-65535/);
    expect(parseRegistryConfig({ ...registryFlags, maxArtifactBytes: '2GiB' }).maxArtifactBytes).toBe(2 * 1024 ** 3);
  });
});

describe('the clients refuse before encoding', () => {
  it('registry client: versions, weights, offsets, sequences, page sizes', async () => {
    const registry = createRegistryClient(NOWHERE);
    try {
      await invalid(registry.deleteVersion('m1', WRAPS), /version must be an integer from 1 to 4294967295, got 4294967299/);
      await invalid(registry.setAlias('m1', 'production', WRAPS), /version/);
      await invalid(registry.setAlias('m1', 'canary', 1, 2 ** 32 + 50), /weight must be an integer from 0 to 100/);
      await invalid(registry.getVersion('m1', { version: WRAPS }), /version/);
      await invalid(registry.listModels({ pageSize: WRAPS }), /pageSize/);
      await invalid(registry.download('m1', { offset: -1 }), /offset/);
      await invalid(registry.pushVersion('m1', new Uint8Array([1]), { version: WRAPS }), /version/);
      await invalid(registry.pushVersion('m1', new Uint8Array([1]), { alias: 'canary', aliasWeight: 101 }), /aliasWeight/);
      await invalid(registry.watch({ fromSequence: 2 ** 53 })[Symbol.asyncIterator]().next(), /fromSequence/);
    } finally {
      registry.close();
    }
  });

  it('inference request builder: shapes and integer parameters', () => {
    const x = { name: 'x', datatype: 'FP32' as const, data: [1] };
    expect(() => buildInferRequest({ modelName: 'm', inputs: [{ ...x, shape: [-1] }] })).toThrow(/input 'x' shape\[0\] must be an integer from 0/);
    expect(() => buildInferRequest({ modelName: 'm', inputs: [{ ...x, shape: [1] }], parameters: { priority: { int64Param: 2 ** 60 } } })).toThrow(/parameter 'priority'/);
    expect(() => buildInferRequest({ modelName: 'm', inputs: [{ ...x, shape: [1] }], parameters: { timeout: { uint64Param: -5 } } })).toThrow(/parameter 'timeout'/);
    expect(buildInferRequest({ modelName: 'm', inputs: [{ ...x, shape: [1] }], parameters: { priority: { int64Param: 2 } } }).parameters).toEqual({ priority: { int64Param: 2 } });
  });

  it('recommender and monitor clients: k, limit, window', async () => {
    const rec = createRecommenderClient(NOWHERE);
    const mon = createMonitorClient(NOWHERE);
    try {
      await invalid(rec.recommend({ userId: 'u', k: WRAPS }), /k must be an integer from 0 to 4294967295/);
      await invalid(rec.similarItems('i', WRAPS), /k/);
      await invalid(rec.recommendMany([{ userId: 'u', k: 5 }, { userId: 'v', k: WRAPS }]), /requests\[1\]\.k/);
      await invalid(mon.searchTraces({ limit: WRAPS }), /limit/);
      await invalid(mon.modelOverview(WRAPS), /windowMinutes/);
    } finally {
      rec.close();
      mon.close();
    }
  });
});

describe('the registry server checks what it can', () => {
  it('versions and uint64 counts', () => {
    expect(() => checkVersionNumber(2 ** 32)).toThrow(/from 1 to 4294967295/);
    expect(() => checkVersionNumber(0)).toThrow(/from 1/);
    expect(() => checkByteCount('18446744073709551615', 'offset')).toThrow(/offset/);
    expect(checkByteCount('1024', 'offset')).toBe(1024);
  });
});
