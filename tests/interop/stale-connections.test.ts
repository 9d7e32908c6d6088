/**
 * Both HTTP clients (the registry client of `docker`, the trust server
 * client of both commands) send a request again, once, when the server had
 * closed the kept-alive connection it went out on. The server here answers
 * the first request of each connection and drops the connection on the
 * second, as a server does that closed it for idleness just as the client
 * reused it.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../client/src/registry/http.js';
import { NotaryHttpClient } from '../../trust-core/src/node/notary-http.js';

let server: net.Server;
let base: string;
let connections = 0;

beforeAll(async () => {
  server = net.createServer((socket) => {
    connections++;
    let requests = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        requests++;
        if (requests > 1) {
          socket.destroy();
          return;
        }
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}',
        );
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('a kept-alive connection the server closed', () => {
  it('the registry client sends the request again on a new connection', async () => {
    const client = new HttpClient(undefined, { hubSocket: null });
    try {
      connections = 0;
      expect((await client.request(new URL(`${base}/v2/`))).status).toBe(200);
      expect((await client.request(new URL(`${base}/v2/`))).status).toBe(200);
      expect(connections).toBe(2);
    } finally {
      client.close();
    }
  });

  it('the trust server client does too', async () => {
    const client = new NotaryHttpClient({ server: base, gun: 'docker.io/library/busybox' });
    try {
      connections = 0;
      await client.getMeta('root', 1024);
      await client.getMeta('root', 1024);
      expect(connections).toBe(2);
    } finally {
      client.close();
    }
  });
});
