import { afterEach, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { resolve } from 'node:path';
import { addSharedOptions, parseDataDirFlag, parseGrpcPortFlag, parseHostOption, parseNatsFlag, parseRegistryFlag, SHARED_FLAGS } from './shared-flags.js';
import { addTelemetryOptions, parseTelemetryFlags } from '../telemetry/telemetry-flags.js';
import { isAddress, parseAddressFlag, parseIntegerFlag, parseNatsUrlFlag, parsePort, parsePositiveInt } from './flag-values.js';

describe('integer and port flags', () => {
  it('reads integers within the range, and names the flag, the range and the value otherwise', () => {
    expect(parseIntegerFlag('0', '--n', 0, 10)).toBe(0);
    expect(parseIntegerFlag(' 10 ', '--n', 0, 10)).toBe(10);
    expect(parseIntegerFlag(-3, '--n', -5, 10)).toBe(-3);
    for (const bad of ['', '11', '-1', '1.5', '1e1', '0x5', 'ten']) expect(() => parseIntegerFlag(bad, '--n', 0, 10)).toThrow(`--n must be an integer from 0 to 10, got '${bad}'`);
    expect(() => parseIntegerFlag(undefined, '--n', 0, 10)).toThrow("--n must be an integer from 0 to 10, got ''");
  });

  it('takes positive integers up to the largest timer delay by default', () => {
    expect(parsePositiveInt('1', '--ms')).toBe(1);
    expect(parsePositiveInt(String(2 ** 31 - 1), '--ms')).toBe(2 ** 31 - 1);
    expect(() => parsePositiveInt('0', '--ms')).toThrow("--ms must be an integer from 1 to 2147483647, got '0'");
    expect(() => parsePositiveInt(String(2 ** 31), '--ms')).toThrow(/--ms must be an integer from 1 to 2147483647/);
    expect(() => parsePositiveInt('11', '--ms', 10)).toThrow("--ms must be an integer from 1 to 10, got '11'");
  });

  it('takes ports 0-65535 (--grpc-port among them)', () => {
    expect(parsePort('0', '--p')).toBe(0);
    expect(parsePort(65535, '--p')).toBe(65535);
    expect(parseGrpcPortFlag('8001')).toBe(8001);
    for (const bad of ['', '-1', '65536', '80.5', 'eighty', '1e3']) expect(() => parseGrpcPortFlag(bad)).toThrow(`--grpc-port must be a port number 0-65535, got '${bad}'`);
  });
});

describe('--host', () => {
  it('takes a host name or address, and the fallback when absent', () => {
    expect(parseHostOption('0.0.0.0')).toBe('0.0.0.0');
    expect(parseHostOption('::')).toBe('::');
    expect(parseHostOption('node-1.example')).toBe('node-1.example');
    expect(parseHostOption(undefined)).toBe('127.0.0.1');
    expect(parseHostOption('', 'localhost')).toBe('localhost');
  });
  it('refuses one with spaces', () => {
    expect(() => parseHostOption('my host')).toThrow("--host must be a host name or IP address, got 'my host'");
  });
});

describe('--registry and other HOST:PORT flags', () => {
  it('takes HOST:PORT and [IPv6]:PORT', () => {
    expect(parseRegistryFlag('127.0.0.1:50051')).toBe('127.0.0.1:50051');
    expect(parseRegistryFlag('registry.mesh:50051')).toBe('registry.mesh:50051');
    expect(parseRegistryFlag('[::1]:50051')).toBe('[::1]:50051');
    expect(isAddress('h:65535')).toBe(true);
    expect(isAddress('h:65536')).toBe(false);
  });
  it('refuses anything else with one message naming the flag, its environment variable and the value', () => {
    for (const bad of ['registry', 'h:', ':50051', 'h:70000', 'h:port', 'a b:1', 'http://h:1', '::1:50051']) {
      expect(() => parseRegistryFlag(bad)).toThrow(`--registry must be HOST:PORT (or set INFERMESH_REGISTRY), got '${bad}'`);
    }
    expect(() => parseRegistryFlag(undefined)).toThrow("--registry must be HOST:PORT (or set INFERMESH_REGISTRY), got ''");
    expect(() => parseAddressFlag('x', '--server')).toThrow("--server must be HOST:PORT, got 'x'");
  });
  it('gives undefined for an absent optional one, and still checks a given one', () => {
    expect(parseRegistryFlag(undefined, { optional: true })).toBeUndefined();
    expect(parseRegistryFlag('', { optional: true })).toBeUndefined();
    expect(() => parseRegistryFlag('nope', { optional: true })).toThrow(/--registry must be HOST:PORT/);
  });
});

describe('--nats', () => {
  it('takes nats://, tls://, ws:// and wss:// URLs, and comma-separated cluster seeds', () => {
    for (const url of ['nats://127.0.0.1:4222', 'tls://nats.mesh:4222', 'ws://127.0.0.1:8080', 'wss://nats.example/ws', 'nats://user:pass@h:4222', 'nats://h']) {
      expect(parseNatsFlag(url)).toBe(url);
    }
    expect(parseNatsFlag('nats://a:4222, nats://b:4222,tls://c:4222')).toBe('nats://a:4222,nats://b:4222,tls://c:4222');
  });
  it('refuses other schemes, bare addresses, empty entries and spaces, naming the flag and the value', () => {
    for (const bad of ['http://x:1', '127.0.0.1:4222', 'nats://', 'nats://a:1,', 'nats://a:1,http://b:2', 'nats://a b:1', '']) {
      expect(() => parseNatsFlag(bad)).toThrow(
        `--nats must be a nats://, tls://, ws:// or wss:// URL like nats://127.0.0.1:4222 (comma-separated for a cluster) (or set NATS_URL), got '${bad}'`,
      );
    }
    expect(() => parseNatsUrlFlag('redis://x', '--seed')).toThrow(/^--seed must be a nats:\/\/.*, got 'redis:\/\/x'$/);
  });
  it('gives undefined for an absent optional one', () => {
    expect(parseNatsFlag(undefined, { optional: true })).toBeUndefined();
    expect(parseNatsFlag('', { optional: true })).toBeUndefined();
    expect(() => parseNatsFlag('x', { optional: true })).toThrow(/--nats must be/);
  });
});

describe('--data-dir', () => {
  it('resolves the folder against the working directory', () => {
    expect(parseDataDirFlag('/var/lib/infermesh')).toBe('/var/lib/infermesh');
    expect(parseDataDirFlag('data')).toBe(resolve('data'));
  });
  it('is required unless optional', () => {
    expect(() => parseDataDirFlag(undefined)).toThrow("--data-dir DIR is required (or set INFERMESH_DATA_DIR), got ''");
    expect(() => parseDataDirFlag('  ')).toThrow(/--data-dir DIR is required/);
    expect(parseDataDirFlag(undefined, { optional: true })).toBeUndefined();
  });
});

describe('shared options on a command, with their environment mirrors', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });
  const mirrors = Object.values(SHARED_FLAGS).map((f) => f.env);
  const command = () => {
    const c = addSharedOptions(new Command('svc').exitOverride(), { grpcPort: { default: 8001 }, host: { default: '127.0.0.1' }, nats: {}, registry: {}, dataDir: {} });
    return addTelemetryOptions(c);
  };
  const parse = (...args: string[]) => command().parse(args, { from: 'user' }).opts<Record<string, string | undefined>>();

  it('spells each shared flag once, each with its own environment variable', () => {
    expect(mirrors).toEqual(['INFERMESH_GRPC_PORT', 'INFERMESH_HOST', 'NATS_URL', 'INFERMESH_REGISTRY', 'INFERMESH_DATA_DIR']);
    expect(command().options.map((o) => [o.flags, o.envVar])).toEqual([
      ['--grpc-port <port>', 'INFERMESH_GRPC_PORT'],
      ['--host <host>', 'INFERMESH_HOST'],
      ['--nats <url>', 'NATS_URL'],
      ['--registry <host:port>', 'INFERMESH_REGISTRY'],
      ['--data-dir <dir>', 'INFERMESH_DATA_DIR'],
      ['--otlp-endpoint <host:port>', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
      ['--trace-sampling <ratio>', 'INFERMESH_TRACE_SAMPLING'],
      ['--metrics-port <port>', 'INFERMESH_METRICS_PORT'],
      ['--trace-export-delay-ms <ms>', 'OTEL_BSP_SCHEDULE_DELAY'],
    ]);
  });

  it('takes the defaults, then the environment over the defaults, then the flags over the environment', () => {
    for (const env of [...mirrors, 'INFERMESH_METRICS_PORT']) delete process.env[env];
    expect(parse()).toEqual({ grpcPort: '8001', host: '127.0.0.1' });
    Object.assign(process.env, {
      INFERMESH_GRPC_PORT: '9001',
      INFERMESH_HOST: '0.0.0.0',
      NATS_URL: 'ws://127.0.0.1:8080',
      INFERMESH_REGISTRY: 'registry:50051',
      INFERMESH_DATA_DIR: '/srv/data',
      INFERMESH_METRICS_PORT: '0',
    });
    const fromEnv = parse();
    expect(fromEnv).toMatchObject({ grpcPort: '9001', host: '0.0.0.0', nats: 'ws://127.0.0.1:8080', registry: 'registry:50051', dataDir: '/srv/data', metricsPort: '0' });
    expect(parseGrpcPortFlag(fromEnv.grpcPort)).toBe(9001);
    expect(parseNatsFlag(fromEnv.nats)).toBe('ws://127.0.0.1:8080');
    expect(parseTelemetryFlags(fromEnv)).toEqual({ metricsPort: 0 });
    expect(parse('--grpc-port', '0', '--nats', 'nats://n:4222', '--registry', 'r:1')).toMatchObject({ grpcPort: '0', nats: 'nats://n:4222', registry: 'r:1', host: '0.0.0.0' });
  });

  it('lets a service name another environment variable for a shared flag', () => {
    process.env.INFERMESH_MONITOR_GRPC_PORT = '4318';
    process.env.INFERMESH_GRPC_PORT = '9999';
    const c = addSharedOptions(new Command('monitor').exitOverride(), { grpcPort: { env: 'INFERMESH_MONITOR_GRPC_PORT', default: 4317 } });
    expect(c.parse([], { from: 'user' }).opts()).toEqual({ grpcPort: '4318' });
  });

  it('reports a bad value from the environment with the same message as from the flag', () => {
    process.env.NATS_URL = 'http://wrong:4222';
    expect(() => parseNatsFlag(parse().nats)).toThrow(/--nats must be a nats:\/\/, tls:\/\/, ws:\/\/ or wss:\/\/ URL .* \(or set NATS_URL\), got 'http:\/\/wrong:4222'/);
  });
});
