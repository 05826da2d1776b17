import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-status.js';

/**
 * Reads a request body of at most `maxBytes`. A Content-Length over the limit
 * is refused (413) before a byte of the body is read; a chunked body is
 * counted as it arrives and refused the moment it passes the limit. With a
 * Content-Length the body lands in one buffer of that size (binary tensors
 * are later views over it); chunked bodies are joined once at the end.
 * Rejects when the client goes away before the body is complete. Slow
 * bodies are cut off by the server's request timeout. The bytes count
 * against `budget` (all requests' bodies together) until `res` closes.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, maxBytes: number, budget: BodyBudget): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > maxBytes) return Promise.reject(tooLarge(maxBytes, `its Content-Length is ${length} bytes`));
  let held = 0;
  const hold = (n: number) => {
    budget.take(n);
    held += n;
  };
  res.once('close', () => budget.give(held));
  try {
    if (length !== undefined) hold(length);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const whole = length !== undefined ? Buffer.allocUnsafe(length) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.byteLength > (length ?? maxBytes)) {
        cleanup();
        // Node's parser never delivers more than Content-Length: this is a chunked body passing the limit.
        reject(tooLarge(maxBytes, `more than that arrived`));
        return;
      }
      if (whole) chunk.copy(whole, received);
      else {
        try {
          hold(chunk.byteLength);
        } catch (err) {
          cleanup();
          reject(err);
          return;
        }
        chunks.push(chunk);
      }
      received += chunk.byteLength;
    };
    const onEnd = () => {
      cleanup();
      resolve(whole ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
    };
    const onClose = () => {
      cleanup();
      reject(new HttpError(400, `the connection closed after ${received} byte(s) of the request body${length !== undefined ? ` (Content-Length ${length})` : ''}`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}

function tooLarge(maxBytes: number, why: string): HttpError {
  return new HttpError(413, `the request body is over the limit of ${maxBytes} bytes (--http-max-body-bytes): ${why}; send large tensors in binary or split the batch`, { closeConnection: true });
}

/**
 * The bytes of request bodies that all requests together may hold at once
 * (each body is bounded by itself, too): a request that would pass it gets
 * 429 with `retry-after`, so many large bodies at once cannot exhaust memory.
 */
export class BodyBudget {
  #used = 0;
  constructor(readonly maxBytes: number) {}

  /** Takes `n` bytes, or throws 429 when they do not fit. */
  take(n: number): void {
    if (this.#used + n > this.maxBytes) {
      throw new HttpError(
        429,
        `request bodies in flight would pass ${this.maxBytes} bytes (--http-max-inflight-body-bytes; ${this.#used} held now); retry shortly`,
        { headers: { 'retry-after': '1' }, closeConnection: true },
      );
    }
    this.#used += n;
  }

  give(n: number): void {
    this.#used -= n;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }
}
