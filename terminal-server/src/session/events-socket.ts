/**
 * The session's events socket: the lab's `docker` and `notary` inside the
 * sandbox send one JSON line per command (client/src/cli/events.ts). Each
 * line is checked (size, JSON, schema) and handed on with the session id
 * and attendee attached by the server, never taken from the line, so a
 * learner cannot speak for someone else. What the line itself claims
 * (outcome, reference) is only a hint: checks rest on what the hub
 * recorded.
 *
 * Bounded: a line longer than `maxLineBytes` ends its connection; at most
 * `maxConnections` at once, each closed after `connectionTimeoutMs`.
 */
import { chmod, chown, rm } from 'node:fs/promises';
import net from 'node:net';
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import type { SandboxOwner } from '../sandbox/driver.js';

/** Field names the sender may use: short identifiers, nothing like `__proto__`. */
const FIELD_NAME = /^[a-z][a-zA-Z0-9]{0,31}$/;
const MAX_FIELDS = 16;

const fieldValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null()]);

/** One event line as the lab's client writes it: `{command, outcome, time, ...}`. */
export const clientEventSchema = z
  .object({
    command: z.string().min(1).max(256),
    outcome: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/),
    time: z.iso.datetime(),
  })
  .catchall(fieldValue)
  .superRefine((value, context) => {
    const names = Object.keys(value);
    if (names.length > MAX_FIELDS)
      context.addIssue({ code: 'custom', message: `more than ${MAX_FIELDS} fields` });
    for (const name of names) {
      if (!FIELD_NAME.test(name))
        context.addIssue({ code: 'custom', message: `field name "${name}" is not allowed` });
    }
  });

export type ClientEventFields = z.output<typeof clientEventSchema>;

export interface ClientEvent {
  readonly sessionId: string;
  readonly attendee: string;
  /** When the server received the line (the line's own `time` is the sandbox's claim). */
  readonly receivedAt: string;
  readonly event: ClientEventFields;
}

export type EventRejection = 'LINE_TOO_LONG' | 'NOT_JSON' | 'SCHEMA' | 'TOO_MANY_CONNECTIONS';

export interface EventsSocketOptions {
  readonly path: string;
  readonly owner: SandboxOwner | undefined;
  readonly sessionId: string;
  readonly attendee: string;
  readonly maxLineBytes: number;
  readonly maxConnections: number;
  readonly connectionTimeoutMs: number;
  readonly onEvent: (event: ClientEvent) => void;
  readonly onRejected: (reason: EventRejection, detail: string) => void;
}

export interface EventsSocket {
  close(): Promise<void>;
}

export async function listenEventsSocket(options: EventsSocketOptions): Promise<EventsSocket> {
  // A stale socket file (a crashed earlier run) would make listen fail with EADDRINUSE.
  await rm(options.path, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    if (connections.size >= options.maxConnections) {
      options.onRejected('TOO_MANY_CONNECTIONS', `${connections.size} connections open`);
      socket.destroy();
      return;
    }
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(options.connectionTimeoutMs, () => socket.destroy());
    readLines(socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(
        new SandboxError('SOCKET_FAILED', `cannot listen on the events socket ${options.path}`, { cause }),
      ),
    );
    server.listen(options.path, () => resolve());
  });
  server.on('error', () => {
    // Errors after listening concern single connections, handled on each socket.
  });
  try {
    await chmod(options.path, 0o600);
    if (options.owner !== undefined) await chown(options.path, options.owner.uid, options.owner.gid);
  } catch (cause) {
    server.close();
    throw new SandboxError('SOCKET_FAILED', `cannot give the events socket to the sandbox's user`, { cause });
  }
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function readLines(socket: net.Socket, options: EventsSocketOptions): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const handleLine = (line: Buffer) => {
    if (line.byteLength === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.toString('utf8'));
    } catch {
      options.onRejected('NOT_JSON', 'the line is not JSON');
      return;
    }
    const result = clientEventSchema.safeParse(parsed);
    if (!result.success) {
      options.onRejected('SCHEMA', result.error.issues.map((issue) => issue.message).join('; '));
      return;
    }
    options.onEvent({
      sessionId: options.sessionId,
      attendee: options.attendee,
      receivedAt: new Date().toISOString(),
      event: result.data,
    });
  };
  socket.on('data', (chunk: Buffer) => {
    let rest = chunk;
    for (let newline = rest.indexOf(0x0a); newline !== -1; newline = rest.indexOf(0x0a)) {
      const part = rest.subarray(0, newline);
      if (pendingBytes + part.byteLength > options.maxLineBytes) return tooLong();
      handleLine(pending.length === 0 ? part : Buffer.concat([...pending, part]));
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(newline + 1);
    }
    if (pendingBytes + rest.byteLength > options.maxLineBytes) return tooLong();
    if (rest.byteLength > 0) {
      pending.push(rest);
      pendingBytes += rest.byteLength;
    }
  });
  // A last line without its newline still counts: the sender's socket.end(line) always ends one.
  socket.on('end', () => {
    if (pendingBytes > 0) handleLine(Buffer.concat(pending));
    pending = [];
    pendingBytes = 0;
  });
  function tooLong(): void {
    options.onRejected('LINE_TOO_LONG', `a line is longer than ${options.maxLineBytes} bytes`);
    pending = [];
    pendingBytes = 0;
    socket.removeAllListeners('data');
    socket.destroy();
  }
}
