import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sendEvent } from './events.js';

describe('docker command events', () => {
  it('sends one JSON line with the outcome and no secrets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'docker-events-'));
    const socket = path.join(dir, 'events.sock');
    const lines: string[] = [];
    const server = net.createServer((c) => c.on('data', (d: Buffer) => lines.push(d.toString())));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      await sendEvent(socket, {
        command: 'pull',
        trust: true,
        outcome: 'VERIFIED',
        reference: 'docker.io/alice/app:v1',
        digest: `sha256:${'a'.repeat(64)}`,
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const event = JSON.parse(lines.join('')) as Record<string, unknown>;
      expect(event).toMatchObject({ command: 'pull', trust: true, outcome: 'VERIFIED' });
      expect(typeof event.time).toBe('string');
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never fails when nobody listens', async () => {
    await expect(
      sendEvent('/nonexistent/events.sock', { command: 'images', trust: false, outcome: 'OK' }),
    ).resolves.toBeUndefined();
  });
});
