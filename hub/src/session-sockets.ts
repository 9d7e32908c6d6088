/**
 * Session sockets: the hub served on a unix socket that belongs to one lab
 * session. An attendee's sandbox has no network; the terminal server binds
 * this socket into it, and it is the sandbox's only way to the hub. So the
 * socket itself says whose requests these are: everything that arrives
 * through it is recorded as that session's, whatever headers it carries.
 *
 * Each socket gets its own listening server built by the hub with the same
 * certificate and request handling as the TCP port (see
 * `HubServer.listenSessionSocket`), so clients speak exactly the protocol
 * they would speak over the network, TLS included, and the certificate
 * checks they make still mean something.
 */
import { lstat, chmod, chown, rm } from 'node:fs/promises';
import type http from 'node:http';
import type https from 'node:https';
import net from 'node:net';

/** Session ids name sandboxes, paths and records; the terminal server's SANDBOX_ID_PATTERN. */
export const SESSION_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface SessionSocketOwner {
  readonly uid: number;
  readonly gid: number;
}

export interface SessionSocket {
  readonly sessionId: string;
  readonly path: string;
  /** Stop accepting, drop live connections, remove the socket file. Idempotent. */
  close(): Promise<void>;
}

export class SessionSocketError extends Error {
  override readonly name = 'SessionSocketError';
}

export function assertSessionId(sessionId: string): void {
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    throw new SessionSocketError(
      `invalid session id ${JSON.stringify(sessionId)}: expected ${String(SESSION_ID_PATTERN)}`,
    );
  }
}

/** True when something answers on the socket at `socketPath`. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Make room for a new socket at `socketPath`: a socket left by a process that
 * died is removed; a live one, or anything that is not a socket, is refused
 * rather than deleted (it is not ours to take).
 */
async function clearStaleSocket(socketPath: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new SessionSocketError(`${socketPath} exists and is not a socket; not replacing it`);
  }
  if (await answers(socketPath)) {
    throw new SessionSocketError(`${socketPath} is in use by a running server`);
  }
  await rm(socketPath, { force: true });
}

function listenOn(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections would hold close() open; the session is over.
    server.closeAllConnections();
  });
}

/**
 * Bind `server` (not yet listening) to `socketPath` for `sessionId`: stale
 * socket removed first, then mode 0600 and, when given, `owner` as the
 * file's owner, so that only the sandbox's user can connect.
 */
export async function openSessionSocket(
  server: http.Server | https.Server,
  sessionId: string,
  socketPath: string,
  owner: SessionSocketOwner | undefined,
): Promise<SessionSocket> {
  assertSessionId(sessionId);
  await clearStaleSocket(socketPath);
  // The mode and owner are set right after bind. The terminal server binds
  // in a directory private to the session, and with the usual umask a new
  // socket is not writable (so not connectable) by others in between.
  await listenOn(server, socketPath);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await closeServer(server);
      await rm(socketPath, { force: true });
    })();
    return closing;
  };
  try {
    await chmod(socketPath, 0o600);
    if (owner) await chown(socketPath, owner.uid, owner.gid);
  } catch (error) {
    await close();
    throw error;
  }
  return { sessionId, path: socketPath, close };
}
