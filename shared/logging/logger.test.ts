import { describe, expect, it } from 'vitest';
import { Code, InfermeshError } from '../errors/index.js';
import { MAX_LOGGED_ARRAY_ITEMS, MAX_LOGGED_STRING_CHARS, clipText, createLogger } from './logger.js';
import { REDACTED, isSecretKey, redactSecrets } from './redaction.js';

describe('logger bounds', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
  };

  it('cuts long strings, error messages, arrays and binary fields, saying how long they were', () => {
    const { lines, logger } = capture();
    const huge = 'v'.repeat(50_000_000);
    logger.warn(huge, { reason: huge, err: new Error(huge), list: Array.from({ length: 1000 }, (_, i) => i), bytes: Buffer.alloc(10_000_000), nested: { deep: huge } });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(6 * MAX_LOGGED_STRING_CHARS);
    const line = JSON.parse(lines[0]!);
    expect(line.msg).toBe(`${'v'.repeat(MAX_LOGGED_STRING_CHARS)}... (50000000 characters)`);
    expect(line.reason).toBe(line.msg);
    expect(line.err.message).toBe(line.msg);
    expect(line.nested.deep).toBe(line.msg);
    expect(line.list).toHaveLength(MAX_LOGGED_ARRAY_ITEMS + 1);
    expect(line.list.at(-1)).toBe('... (1000 items)');
    expect(line.bytes).toBe('<10000000 bytes>');
  });

  it('leaves short values alone', () => {
    const { lines, logger } = capture();
    logger.info('ready', { model: 'mlp', versions: [1, 2] });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'ready', model: 'mlp', versions: [1, 2] });
    expect(clipText('abc', 2)).toBe('ab... (3 characters)');
  });
});

describe('logger redaction', () => {
  const capture = () => {
    const lines: string[] = [];
    return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
  };
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLWJ5dGVz';

  it('replaces secret-named fields at any depth, whatever their case or separators', () => {
    const { lines, logger } = capture();
    logger.info('call', {
      headers: { Authorization: 'Bearer s3cr3t-a', 'x-api-key': 's3cr3t-b', cookie: 's3cr3t-c', 'user-agent': 'curl/8' },
      nested: [{ deeper: { password: 's3cr3t-d', accessToken: 's3cr3t-e', client_secret: 's3cr3t-f' } }],
      token: 's3cr3t-g',
      tokenId: 'tok-1',
    });
    expect(lines[0]).not.toMatch(/s3cr3t/);
    const line = JSON.parse(lines[0]!);
    expect(line.headers).toEqual({ Authorization: REDACTED, 'x-api-key': REDACTED, cookie: REDACTED, 'user-agent': 'curl/8' });
    expect(line.nested[0].deeper).toEqual({ password: REDACTED, accessToken: REDACTED, client_secret: REDACTED });
    expect(line.token).toBe(REDACTED);
    // A token's id names it without being it.
    expect(line.tokenId).toBe('tok-1');
  });

  it('scrubs Bearer credentials and JWTs out of messages, fields and error messages', () => {
    const { lines, logger } = capture();
    logger.warn(`refused Bearer ${jwt}`, { url: `/v2/models?t=${jwt}`, err: new Error(`bad header 'bearer abc.def'`) });
    expect(lines[0]).not.toContain(jwt);
    expect(lines[0]).not.toContain('abc.def');
    const line = JSON.parse(lines[0]!);
    expect(line.msg).toBe(`refused Bearer ${REDACTED}`);
    expect(line.url).toBe(`/v2/models?t=${REDACTED}`);
    expect(line.err.message).toBe(`bad header 'bearer ${REDACTED}'`);
    expect(redactSecrets('no credentials here')).toBe('no credentials here');
    expect(redactSecrets('connecting to nats://svc:pw123@127.0.0.1:4222 and postgres://u:p4ss@db/x')).toBe(`connecting to nats://${REDACTED}@127.0.0.1:4222 and postgres://${REDACTED}@db/x`);
    expect(redactSecrets('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('prints binary data at any depth as its length, never its bytes', () => {
    const { lines, logger } = capture();
    const floats = new Float32Array([31.4159, 27.1828]);
    logger.info('tensors', { top: Buffer.from('secret bytes'), inputs: [{ name: 'x', data: floats, raw: Buffer.from([0xde, 0xad]) }], ab: new ArrayBuffer(3), view: new DataView(new ArrayBuffer(5)) });
    expect(lines[0]).not.toContain('31.41');
    expect(lines[0]).not.toContain('secret bytes');
    const line = JSON.parse(lines[0]!);
    expect(line.top).toBe('<12 bytes>');
    expect(line.inputs[0]).toEqual({ name: 'x', data: '<8 bytes>', raw: '<2 bytes>' });
    expect(line.ab).toBe('<3 bytes>');
    expect(line.view).toBe('<5 bytes>');
  });

  it("prints a tensor's contents fields as counts, never values", () => {
    const { lines, logger } = capture();
    logger.debug('request', { request: { inputs: [{ name: 'x', contents: { fp32Contents: [31.4159, 27.1828], int64Contents: [] } }], rawInputContents: [Buffer.from([1, 2])] }, bytes_contents: ['private'] });
    expect(lines[0]).not.toContain('31.41');
    expect(lines[0]).not.toContain('private');
    const line = JSON.parse(lines[0]!);
    expect(line.request.inputs[0].contents).toBe('<tensor contents (fp32Contents: 2, int64Contents: 0)>');
    expect(line.request.rawInputContents).toBe('<1 values>');
    expect(line.bytes_contents).toBe('<1 values>');
  });

  it("logs an error's logMessage and leaves out the cause that quoted the caller's data", () => {
    const { lines, logger } = capture();
    const parse = new SyntaxError('Unexpected token in "[98765.4321, ..."');
    const err = new InfermeshError(Code.INVALID_ARGUMENT, 'element 0 (98765.4321) is not a number', { logMessage: 'element 0 is not a number', cause: parse });
    logger.debug('request failed', { err, plain: new Error('outer', { cause: new Error('inner') }) });
    expect(lines[0]).not.toContain('98765');
    const line = JSON.parse(lines[0]!);
    expect(line.err).toEqual({ name: 'InfermeshError', message: 'element 0 is not a number' });
    expect(line.plain).toEqual({ name: 'Error', message: 'outer', cause: 'inner' });
  });

  it('names secret keys, not ones that only mention a key', () => {
    for (const key of ['authorization', 'Proxy-Authorization', 'set-cookie', 'INFERMESH_TOKEN', 'refresh_token', 'hashKey', 'privateKey']) expect(isSecretKey(key), key).toBe(true);
    for (const key of ['model', 'tokenId', 'tokens', 'tlsKeyPath', 'keyCount']) expect(isSecretKey(key), key).toBe(false);
  });
});
