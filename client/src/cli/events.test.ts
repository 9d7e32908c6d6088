import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendEventLine } from './events.js';

describe('sendEventLine', () => {
  it('writes one JSON line with a time to the socket', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'events-'));
    const socketPath = path.join(dir, 'events.sock');
    const received: string[] = [];
    const server = net.createServer((s) => s.on('data', (d) => received.push(d.toString())));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await sendEventLine(socketPath, { command: 'notary list', outcome: 'OK', gun: 'a/b', role: undefined });
      await new Promise((r) => setTimeout(r, 50));
      const line = received.join('');
      expect(line.endsWith('\n')).toBe(true);
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(event).toMatchObject({ command: 'notary list', outcome: 'OK', gun: 'a/b' });
      expect(event).not.toHaveProperty('role');
      expect(typeof event.time).toBe('string');
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never fails: no socket, or nobody listening', async () => {
    await expect(sendEventLine(undefined, { command: 'x' })).resolves.toBeUndefined();
    await expect(sendEventLine('/nonexistent/dir/sock', { command: 'x' })).resolves.toBeUndefined();
  });
});
