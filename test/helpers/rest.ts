// A small REST client for the inference node's HTTP tests, on fetch (keep-alive),
// and a raw-socket one for requests fetch will not send (lying lengths, slow bodies).
import { connect, type Socket } from 'node:net';

export interface RestReply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The JSON part (the whole body, or its first Inference-Header-Content-Length bytes). */
   
  json: any;
  /** The JSON part as text (64-bit integers and NaN tokens read exactly from here). */
  text: string;
  /** The bytes after the JSON part (binary outputs). */
  binary: Buffer;
}

/** One request to `http://address/path`; `body` is sent as it is (an object becomes JSON). */
export async function rest(address: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RestReply> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(`http://${address}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const split = res.headers.get('inference-header-content-length');
  const jsonBytes = split === null ? bytes.byteLength : Number(split);
  const text = bytes.toString('utf8', 0, jsonBytes);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: bytes, json, text, binary: bytes.subarray(jsonBytes) };
}

/** A binary-extension request body: the JSON, then the binary parts, with the header value to send. */
export function binaryBody(json: unknown, parts: readonly Uint8Array[]): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(JSON.stringify(json));
  return {
    body: Buffer.concat([head, ...parts]),
    headers: { 'inference-header-content-length': String(head.byteLength), 'content-type': 'application/octet-stream' },
  };
}

/** A raw TCP connection: write what you like, read what comes back, see when it closes. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the server has closed the connection (or reset it). */
  closed: Promise<void>;
  /** Resolves once `pattern` appears in what was received, rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export async function rawConnection(address: string): Promise<RawConnection> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket = connect(port, host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    data += d.toString('latin1');
    for (const w of waiters) w();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => data,
    closed,
    waitFor: (pattern, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(data);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(data);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; received: ${data.slice(0, 500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
