import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listenEventsSocket,
  type ClientEvent,
  type EventRejection,
  type EventsSocket,
} from './events-socket.js';

let dir: string;
let socket: EventsSocket | undefined;
let events: ClientEvent[];
let rejections: [EventRejection, string][];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trustlab-events-'));
  events = [];
  rejections = [];
});

afterEach(async () => {
  await socket?.close();
  socket = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function listen(maxLineBytes = 512) {
  socket = await listenEventsSocket({
    path: join(dir, 'events.sock'),
    owner: undefined,
    sessionId: '0123456789abcdef',
    attendee: 'alice',
    maxLineBytes,
    maxConnections: 4,
    connectionTimeoutMs: 2000,
    onEvent: (event) => events.push(event),
    onRejected: (reason, detail) => rejections.push([reason, detail]),
  });
}

/** Writes `payload` and waits until the server has closed or the write is done. */
function send(payload: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    const client = net.createConnection(join(dir, 'events.sock'));
    client.on('error', () => resolve());
    client.on('close', () => resolve());
    client.on('connect', () => client.end(payload));
  });
}

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ command: 'docker push', outcome: 'SIGNED', time: new Date().toISOString(), ...fields }) +
  '\n';

async function settled(count: () => number, expected: number) {
  await expect.poll(count, { timeout: 5000 }).toBe(expected);
}

describe('events socket', () => {
  it('is a 0600 socket', async () => {
    await listen();
    const info = await stat(join(dir, 'events.sock'));
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('emits valid events with the session and attendee attached by the server', async () => {
    await listen();
    await send(line({ reference: 'alice/app:1', trust: true, digest: null, sessionId: 'forged' }));
    await settled(() => events.length, 1);
    expect(events[0]).toMatchObject({
      sessionId: '0123456789abcdef',
      attendee: 'alice',
      event: {
        command: 'docker push',
        outcome: 'SIGNED',
        reference: 'alice/app:1',
        trust: true,
        digest: null,
      },
    });
    // A field named like the server's own stays inside `event`, where it cannot pass for them.
    expect(events[0]!.event.sessionId).toBe('forged');
    expect(Date.parse(events[0]!.receivedAt)).not.toBeNaN();
  });

  it('handles several lines per connection and lines split across writes', async () => {
    await listen();
    const both = line({ n: 1 }) + line({ n: 2 });
    await new Promise<void>((resolve) => {
      const client = net.createConnection(join(dir, 'events.sock'), () => {
        client.write(both.slice(0, 17));
        setTimeout(() => client.end(both.slice(17)), 20);
      });
      client.on('close', () => resolve());
    });
    await settled(() => events.length, 2);
    expect(events.map((event) => event.event.n)).toEqual([1, 2]);
  });

  it('rejects what is not JSON, breaks the schema or is too long, and goes on serving', async () => {
    await listen(512);
    await send('not json\n');
    await send(JSON.stringify({ command: 'docker push' }) + '\n');
    await send(line({ outcome: 'lowercase' }));
    await send(line({ nested: { a: 1 } }));
    await send(line({ __proto__x: 1 }));
    await send(line({ big: 'x'.repeat(600) }));
    await send(line({ ok: true }));
    await settled(() => rejections.length + events.length, 7);
    expect(rejections.map(([reason]) => reason)).toEqual([
      'NOT_JSON',
      'SCHEMA',
      'SCHEMA',
      'SCHEMA',
      'SCHEMA',
      'LINE_TOO_LONG',
    ]);
    expect(events).toHaveLength(1);
  });

  it('cuts a connection that streams a line without end', async () => {
    await listen(256);
    await send(Buffer.alloc(10_000, 0x61));
    await settled(() => rejections.length, 1);
    expect(rejections[0]![0]).toBe('LINE_TOO_LONG');
  });
});
