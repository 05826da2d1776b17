// The RPC layer against a real grpc-js server on port 0: the client factory's
// deadline, abort (and its listener's removal), retries of idempotent calls
// only, metadata hook and trace context; the server edge's error mapping,
// bind, authentication hook and graceful shutdown.
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { makeGenericClientConstructor, type Client, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Code, InfermeshError } from '../errors/index.js';
import { silentLogger } from '../logging/index.js';
import { healthCheck } from '../../test/helpers/grpc-standard.js';
import { addStandardServices } from './reflection.js';
import { createRpcClient, type RpcClient, type RpcClientOptions, type UnaryMethod } from './client.js';
import { createRpcServer, principalOf, unaryHandler, MAX_ERROR_MESSAGE_CHARS, type Authenticate, type RpcServer } from './server.js';

const SERVICE = 'test.v1.Probe';
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};
const method = (name: string, responseStream: boolean) => ({
  path: `/${SERVICE}/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const definition: ServiceDefinition = { Echo: method('Echo', false), Flaky: method('Flaky', false), Ticks: method('Ticks', true) };
const Stub = makeGenericClientConstructor(definition, 'Probe') as unknown as new (...args: ConstructorParameters<ReturnType<typeof makeGenericClientConstructor>>) => Client;

interface EchoRequest {
  /** `slow`: answers only when cancelled; `fail:<code>`: that InfermeshError; `crash`: a plain Error; `long`: a 10000-character message. */
  name: string;
}
interface EchoResponse {
  name: string;
  traceparent: string;
  authorization: string;
  principal: string;
}

/** A server of test.v1.Probe and what it saw. */
interface Probe {
  rpc: RpcServer;
  address: string;
  /** Echo calls and Flaky calls that reached their handler. */
  served: { echo: number; flaky: number; ticks: number };
  /** Echo calls the server saw cancelled. */
  cancelled: number;
}

let probe: Probe | undefined;
const clients: RpcClient<Client>[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await probe?.rpc.shutdown(1000);
  probe = undefined;
});

async function startProbe(options: { authenticate?: Authenticate; flakyFailures?: number } = {}): Promise<Probe> {
  const rpc = createRpcServer({ logger: silentLogger, ...(options.authenticate ? { authenticate: options.authenticate } : {}) });
  const p: Probe = { rpc, address: '', served: { echo: 0, flaky: 0, ticks: 0 }, cancelled: 0 };
  let flakyFailures = options.flakyFailures ?? 0;
  rpc.addService(definition, {
    Echo: unaryHandler<EchoRequest, EchoResponse>('Echo', silentLogger, async (request, call: ServerUnaryCall<EchoRequest, EchoResponse>) => {
      p.served.echo++;
      if (request.name === 'slow') {
        await new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
        p.cancelled++;
      }
      if (request.name.startsWith('fail:')) throw new InfermeshError(Number(request.name.slice(5)), `failed as asked: ${request.name}`);
      if (request.name === 'crash') throw new Error('a bug');
      if (request.name === 'long') throw new InfermeshError(Code.INVALID_ARGUMENT, 'x'.repeat(10_000));
      return {
        name: request.name,
        traceparent: String(call.metadata.get('traceparent')[0] ?? ''),
        authorization: String(call.metadata.get('authorization')[0] ?? ''),
        principal: principalOf(call)?.subject ?? '',
      };
    }),
    Flaky: unaryHandler<EchoRequest, EchoResponse>('Flaky', silentLogger, (request) => {
      p.served.flaky++;
      if (flakyFailures-- > 0) throw new InfermeshError(Code.UNAVAILABLE, 'not yet');
      return { name: request.name, traceparent: '', authorization: '', principal: '' };
    }),
    Ticks: (call: ServerWritableStream<EchoRequest, { n: number }>) => {
      p.served.ticks++;
      let n = 0;
      const timer = setInterval(() => call.write({ n: n++ }), 5);
      call.once('cancelled', () => clearInterval(timer));
    },
  });
  addStandardServices(rpc.server, { protoFiles: [], services: [SERVICE] }).set('SERVING');
  const port = await rpc.bind('127.0.0.1', 0);
  p.address = `127.0.0.1:${port}`;
  probe = p;
  return p;
}

function clientOf(p: Probe, options: RpcClientOptions = {}): RpcClient<Client> {
  const c = createRpcClient(Stub, SERVICE, p.address, options);
  clients.push(c);
  return c;
}

const echoOf = (c: RpcClient<Client>) => (c.stub as unknown as Record<string, UnaryMethod<EchoRequest, EchoResponse>>).Echo!;
const flakyOf = (c: RpcClient<Client>) => (c.stub as unknown as Record<string, UnaryMethod<EchoRequest, EchoResponse>>).Flaky!;

describe('createRpcClient', () => {
  it('gives every unary call the default deadline (DEADLINE_EXCEEDED), which a call may override', async () => {
    const p = await startProbe();
    const c = clientOf(p, { timeoutMs: 100 });
    const started = Date.now();
    await expect(c.unary('Echo', echoOf(c), { name: 'slow' })).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(c.unary('Echo', echoOf(c), { name: 'slow' }, { timeoutMs: 30 })).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    expect(await c.unary('Echo', echoOf(c), { name: 'quick' })).toMatchObject({ name: 'quick' });
  });

  it('cancels a call when its signal aborts, refuses one already aborted, and removes its abort listener when a call ends', async () => {
    const p = await startProbe();
    const c = clientOf(p);
    const controller = new AbortController();
    const slow = c.unary('Echo', echoOf(c), { name: 'slow' }, { signal: controller.signal });
    await expect.poll(() => p.served.echo).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    await expect(slow).rejects.toMatchObject({ code: Code.CANCELLED });
    await expect.poll(() => p.cancelled).toBe(1);
    await expect(c.unary('Echo', echoOf(c), { name: 'late' }, { signal: controller.signal })).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(p.served.echo).toBe(1);

    // One long-lived signal over many calls (a service's shutdown signal): nothing stays attached to it.
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 8 }, (_, i) => c.unary('Echo', echoOf(c), { name: `n${i}` }, { signal: shared.signal })));
    await expect(c.unary('Echo', echoOf(c), { name: 'fail:5' }, { signal: shared.signal })).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('removes a stream call\'s abort listener when the call ends, and cancels the stream when the signal aborts', async () => {
    const p = await startProbe();
    const c = clientOf(p);
    const shared = new AbortController();
    const ticks = (c.stub as unknown as Record<string, (req: EchoRequest, md: unknown, o: unknown) => NodeJS.ReadableStream & { cancel(): void; once(e: string, l: () => void): unknown }>).Ticks!;
    const call = c.stream('Ticks', { signal: shared.signal }, (metadata, callOptions) => ticks.call(c.stub, { name: 'a' }, metadata, callOptions));
    call.on('error', () => undefined);
    await new Promise((resolve) => call.once('data', resolve));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    call.cancel();
    await new Promise((resolve) => call.once('status', resolve));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);

    const controller = new AbortController();
    const aborted = c.stream('Ticks', { signal: controller.signal }, (metadata, callOptions) => ticks.call(c.stub, { name: 'b' }, metadata, callOptions));
    const status = new Promise<{ code: number }>((resolve) => aborted.once('status', resolve as () => void));
    aborted.on('error', () => undefined);
    aborted.resume();
    await new Promise((resolve) => aborted.once('data', resolve));
    controller.abort();
    expect((await status).code).toBe(Code.CANCELLED);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('retries UNAVAILABLE for idempotent calls only, with the backoff, within the deadline', async () => {
    const p = await startProbe({ flakyFailures: 2 });
    const c = clientOf(p, { retry: { maxAttempts: 3, backoff: { initialDelayMs: 10, maxDelayMs: 20 } } });
    await expect(c.unary('Flaky', flakyOf(c), { name: 'write' })).rejects.toMatchObject({ code: Code.UNAVAILABLE, message: 'not yet' });
    expect(p.served.flaky).toBe(1);
    expect(await c.unary('Flaky', flakyOf(c), { name: 'read' }, {}, { idempotent: true })).toMatchObject({ name: 'read' });
    expect(p.served.flaky).toBe(3); // one more failure, then the answer

    // Other codes are never retried, idempotent or not.
    await expect(c.unary('Echo', echoOf(c), { name: 'fail:9' }, {}, { idempotent: true })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
    expect(p.served.echo).toBe(1);
  });

  it('stops retrying when the attempts are spent', async () => {
    const p = await startProbe({ flakyFailures: 10 });
    const c = clientOf(p, { retry: { maxAttempts: 2, backoff: { initialDelayMs: 5, maxDelayMs: 5 } } });
    await expect(c.unary('Flaky', flakyOf(c), { name: 'read' }, {}, { idempotent: true })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(p.served.flaky).toBe(2);
    expect(() => createRpcClient(Stub, SERVICE, p.address, { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts must be a whole number >= 1, got 0/);
  });

  it('lets the metadata hook add to every call, and sends the CLIENT span\'s trace context as traceparent', async () => {
    const p = await startProbe();
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
    const methods: string[] = [];
    const c = clientOf(p, {
      tracer,
      decorateMetadata: (metadata, fullMethod) => {
        methods.push(fullMethod);
        metadata.set('authorization', 'Bearer t0ken');
      },
    });
    const answer = await c.unary('Echo', echoOf(c), { name: 'hi' });
    expect(answer.authorization).toBe('Bearer t0ken');
    expect(methods).toEqual([`/${SERVICE}/Echo`]);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe(`${SERVICE}/Echo`);
    expect(answer.traceparent).toBe(`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);
  });
});

describe('createRpcServer', () => {
  it('binds port 0 to a free port and says which; a port in use is refused naming the address', async () => {
    const p = await startProbe();
    const port = Number(p.address.split(':')[1]);
    expect(port).toBeGreaterThan(0);
    const other = createRpcServer();
    try {
      await expect(other.bind('127.0.0.1', port)).rejects.toMatchObject({ code: Code.UNAVAILABLE, message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`) });
    } finally {
      await other.shutdown(100);
    }
  });

  it('maps an InfermeshError to its status, anything else to UNKNOWN, and cuts long messages', async () => {
    const p = await startProbe();
    const c = clientOf(p);
    await expect(c.unary('Echo', echoOf(c), { name: 'fail:5' })).rejects.toMatchObject({ code: Code.NOT_FOUND, message: 'failed as asked: fail:5' });
    await expect(c.unary('Echo', echoOf(c), { name: 'fail:8' })).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    await expect(c.unary('Echo', echoOf(c), { name: 'crash' })).rejects.toMatchObject({ code: Code.UNKNOWN, message: 'a bug' });
    const long = await c.unary('Echo', echoOf(c), { name: 'long' }).catch((err: unknown) => err as InfermeshError);
    expect(long).toBeInstanceOf(InfermeshError);
    expect((long as InfermeshError).code).toBe(Code.INVALID_ARGUMENT);
    expect((long as InfermeshError).message.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 100);
  });

  it('runs the authentication hook before every handler: a refused call never reaches it, an accepted one sees its principal; health stays open', async () => {
    const seen: { method: string; peer: string }[] = [];
    const p = await startProbe({
      authenticate: ({ metadata, method: fullMethod, peer }) => {
        seen.push({ method: fullMethod, peer });
        if (metadata.get('authorization')[0] === 'Bearer good') return { subject: 'tester' };
        if (metadata.get('authorization')[0] === 'Bearer crash') throw new Error('the hook broke');
        throw new InfermeshError(Code.UNAUTHENTICATED, 'no valid bearer token');
      },
    });
    const anonymous = clientOf(p);
    await expect(anonymous.unary('Echo', echoOf(anonymous), { name: 'x' })).rejects.toMatchObject({ code: Code.UNAUTHENTICATED, message: 'no valid bearer token' });
    expect(p.served.echo).toBe(0);
    expect(seen[0]).toMatchObject({ method: `/${SERVICE}/Echo`, peer: expect.stringContaining('127.0.0.1') });

    // A server-streaming call is refused the same way, on the stream.
    const ticks = (anonymous.stub as unknown as Record<string, (req: EchoRequest, md: unknown, o: unknown) => NodeJS.ReadableStream & { cancel(): void; once(e: string, l: () => void): unknown }>).Ticks!;
    const stream = anonymous.stream('Ticks', {}, (metadata, callOptions) => ticks.call(anonymous.stub, { name: 'a' }, metadata, callOptions));
    const refused = await new Promise<{ code: number }>((resolve) => stream.once('error', resolve as () => void));
    expect(refused.code).toBe(Code.UNAUTHENTICATED);
    expect(p.served.ticks).toBe(0);

    // A hook that fails with anything but an InfermeshError refuses the call UNAUTHENTICATED.
    const broken = clientOf(p, { decorateMetadata: (md) => md.set('authorization', 'Bearer crash') });
    await expect(broken.unary('Echo', echoOf(broken), { name: 'x' })).rejects.toMatchObject({ code: Code.UNAUTHENTICATED, message: 'the hook broke' });

    const authorized = clientOf(p, { decorateMetadata: (md) => md.set('authorization', 'Bearer good') });
    expect(await authorized.unary('Echo', echoOf(authorized), { name: 'x' })).toMatchObject({ name: 'x', principal: 'tester' });
    expect(p.served.echo).toBe(1);

    // Probes carry no credentials: the standard services are not behind the hook.
    expect(await healthCheck(p.address)).toBe('SERVING');
  });

  it('shuts down gracefully when idle, and cuts off a call still running after the drain timeout', async () => {
    const p = await startProbe();
    const c = clientOf(p);
    const slow = c.unary('Echo', echoOf(c), { name: 'slow' }).then(
      () => undefined,
      (err: unknown) => err as InfermeshError,
    );
    await expect.poll(() => p.served.echo).toBe(1);
    expect(await p.rpc.shutdown(100)).toBe('forced');
    expect((await slow)?.code).toBe(Code.CANCELLED);
    probe = undefined;

    const idle = await startProbe();
    expect(await idle.rpc.shutdown(1000)).toBe('drained');
    probe = undefined;
  });
});
