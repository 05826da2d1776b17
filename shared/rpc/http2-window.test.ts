import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { Server } from '@grpc/grpc-js';
import { bindServer } from './server.js';
import { widenHttp2Windows } from './http2-window.js';

describe('widenHttp2Windows', () => {
  const server = new Server();
  let port = 0;

  beforeAll(async () => {
    port = await bindServer(server, '127.0.0.1', 0);
  });
  afterAll(() => server.forceShutdown());

  /** The server's SETTINGS as a new client session sees them once `accept` takes them. */
  async function remoteSettingsOfNewSession(accept: (s: Settings) => boolean): Promise<Settings> {
    const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
    try {
      return await new Promise<Settings>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching SETTINGS; last: ${JSON.stringify(session.remoteSettings)}`)), 5000);
        session.once('error', reject);
        session.on('remoteSettings', (s) => {
          if (accept(s)) {
            clearTimeout(timer);
            resolve(s);
          }
        });
      });
    } finally {
      session.destroy();
    }
  }

  it('makes new sessions advertise the wider per-stream window', async () => {
    // Before: the first SETTINGS frame carries HTTP/2's default window.
    expect((await remoteSettingsOfNewSession(() => true)).initialWindowSize).toBe(65535);
    expect(widenHttp2Windows(server, 4 * 1024 * 1024)).toBe(1);
    // After: a second SETTINGS frame follows the defaults with the wider window.
    const widened = await remoteSettingsOfNewSession((s) => s.initialWindowSize !== 65535);
    expect(widened.initialWindowSize).toBe(4 * 1024 * 1024);
  });
});
