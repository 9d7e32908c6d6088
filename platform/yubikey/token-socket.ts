/**
 * One session's token socket: the unix socket the terminal server binds
 * into the sandbox as `TRUSTLAB_TOKEN`. The client writes one JSON line (a
 * TokenRequest) per connection and reads one JSON line back (a TokenReply).
 *
 * The socket says whose requests these are, as the hub's session socket
 * does: everything arriving here is the session's attendee's, and goes to
 * their token only. What the sandbox sends is untrusted: a line longer than
 * the protocol's limit, not JSON or not a request is answered BAD_REQUEST;
 * a peer that sends nothing is dropped after a few seconds; a session has
 * only a few connections at once.
 */
import { chmod, chown, lstat, rm } from 'node:fs/promises';
import net from 'node:net';
import type { TokenReply, TokenRequest } from '../../yubikey-helper/src/protocol.js';
import {
  failure,
  MAX_MESSAGE_BYTES,
  parseMessage,
  tokenRequestSchema,
} from '../../yubikey-helper/src/protocol.js';

export interface TokenSocketOptions {
  path: string;
  owner: { uid: number; gid: number } | undefined;
  /** Answers one request of this session; never rejects (failures are replies). */
  answer(request: TokenRequest): Promise<TokenReply>;
  /** Time to send the request line (a signature may then wait for a touch much longer). */
  requestTimeoutMs?: number;
  maxConnections?: number;
}

async function clearStale(path: string): Promise<void> {
  try {
    if (!(await lstat(path)).isSocket()) throw new Error(`${path} exists and is not a socket`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(path, { force: true });
}

export async function listenTokenSocket(options: TokenSocketOptions): Promise<{ close(): Promise<void> }> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    let bytes = 0;
    let done = false;
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), requestTimeoutMs);
    const reply = (answer: TokenReply) => {
      if (!socket.destroyed) socket.end(`${JSON.stringify(answer)}\n`);
    };
    const take = (line: string) => {
      done = true;
      clearTimeout(timer);
      const request = parseMessage(tokenRequestSchema, line);
      if (request === undefined) {
        reply(failure('BAD_REQUEST', 'the token socket takes one JSON request per connection'));
        return;
      }
      void options
        .answer(request)
        .then(reply, () =>
          reply(failure('PKCS11', 'the lab server could not pass the request on to the token')),
        );
    };
    socket.on('data', (chunk: string) => {
      if (done) return;
      buffered += chunk;
      bytes += Buffer.byteLength(chunk);
      const newline = buffered.indexOf('\n');
      if (newline !== -1 && Buffer.byteLength(buffered.slice(0, newline)) <= MAX_MESSAGE_BYTES) {
        return take(buffered.slice(0, newline));
      }
      if (newline !== -1 || bytes > MAX_MESSAGE_BYTES) {
        done = true;
        clearTimeout(timer);
        reply(failure('BAD_REQUEST', `a request is at most ${MAX_MESSAGE_BYTES} bytes`));
      }
    });
    socket.on('end', () => {
      if (!done && buffered.length > 0) take(buffered);
      else if (!done) socket.destroy();
    });
    socket.on('close', () => clearTimeout(timer));
  });
  server.maxConnections = options.maxConnections ?? 4;
  await clearStale(options.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // The session is over: a request still waiting for the token gets no answer.
      for (const socket of sockets) socket.destroy();
    }).then(() => rm(options.path, { force: true })));
  try {
    // As the hub's session socket: only the sandbox's user may connect.
    await chmod(options.path, 0o600);
    if (options.owner) await chown(options.path, options.owner.uid, options.owner.gid);
  } catch (error) {
    await close();
    throw error;
  }
  return { close };
}
