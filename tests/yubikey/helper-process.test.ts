/**
 * The real helper process (bin/yubikey-helper on a SoftHSM2 token), for
 * what an in-process test cannot see: it refuses a mistyped code before it
 * loads anything, and after a dropped connection it stays up through the
 * pause and comes back with its pairing secret. The server side is played
 * by the test, so that it can drop the helper's socket.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { HELPER_PATH, PROTOCOL_VERSION } from '../../yubikey-helper/src/protocol.js';
import { requireBinariesForSuite } from '../support/binaries.js';
import { createSoftToken, type SoftToken } from '../support/softhsm.js';
import { Helper } from './support.js';

const ok = requireBinariesForSuite(['softhsm2-util']);
const CODE = 'ABCD2345';
const SECRET = 'c'.repeat(43);

/** One helper connection as the server sees it: its messages, in order. */
class Connection {
  readonly #messages: unknown[] = [];
  readonly #waiting: Array<(message: unknown) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message: unknown = JSON.parse(String(data));
      const waiting = this.#waiting.shift();
      if (waiting) waiting(message);
      else this.#messages.push(message);
    });
  }

  next(timeoutMs = 15_000): Promise<unknown> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message from the helper')), timeoutMs);
      this.#waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }
}

describe.skipIf(!ok)('the helper process after a dropped connection', () => {
  let token: SoftToken;
  let server: http.Server;
  let wss: WebSocketServer;
  const connections: Connection[] = [];
  let helper: Helper | undefined;

  /** The helper's connection number `index` (0 is the first), once it has come. */
  const connection = (index: number): Promise<Connection> =>
    vi.waitFor(
      () => {
        const arrived = connections[index];
        if (!arrived)
          throw new Error(`no connection ${index + 1} from the helper; it printed:\n${helper?.output}`);
        return arrived;
      },
      { timeout: 15_000, interval: 50 },
    );

  beforeAll(async () => {
    token = await createSoftToken();
    wss = new WebSocketServer({ noServer: true });
    server = http.createServer((_request, response) => response.writeHead(404).end());
    server.on('upgrade', (request, socket, head) => {
      if (request.url !== HELPER_PATH) return void socket.destroy();
      wss.handleUpgrade(request, socket, head, (ws) => {
        connections.push(new Connection(ws));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await helper?.stop();
    for (const client of wss?.clients ?? []) client.terminate();
    await new Promise((resolve) => server?.close(resolve));
    await token?.cleanup();
  });

  it('refuses a code that is not a pairing code before it loads the module or connects', async () => {
    const { port } = server.address() as AddressInfo;
    const mistyped = new Helper(
      ['--server', `http://127.0.0.1:${port}`, '--code', 'ABCD-234', '--module', token.module],
      token.env,
    );
    expect(await mistyped.exit).toBe(2);
    expect(mistyped.output).toBe(
      'yubikey-helper: --code ABCD-234 is not a pairing code: the lab page shows 8 letters and digits, as XXXX-XXXX\n',
    );
    expect(connections).toEqual([]);
  });

  it('stays up through the pause and resumes with its secret, not the code', async () => {
    const { port } = server.address() as AddressInfo;
    // As the page shows it: the helper sends the code without its dash.
    helper = new Helper(
      ['--server', `http://127.0.0.1:${port}`, '--code', 'abcd-2345', '--module', token.module],
      token.env,
    );
    const first = await connection(0);
    expect(await first.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, code: CODE });
    first.ws.send(JSON.stringify({ type: 'paired', secret: SECRET, username: 'alice' }));
    expect(await first.next()).toMatchObject({ type: 'status' });

    first.ws.terminate();
    await helper.waitFor('Lost the connection to the lab server');
    const second = await connection(1);
    expect(await second.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, resume: SECRET });
    second.ws.send(JSON.stringify({ type: 'paired', secret: SECRET, username: 'alice' }));
    expect(await second.next()).toMatchObject({ type: 'status' });
    await helper.waitFor('Reconnected to the lab session.');
    expect(helper.process.exitCode).toBeNull();
  }, 60_000);
});
