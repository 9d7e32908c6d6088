/**
 * The reference the terminal benchmark compares against: the smallest
 * useful bridge between a WebSocket and node-pty. One bash per connection,
 * every binary message written to the pty as it arrives, every chunk of pty
 * output sent as one binary message. No sandbox, no authentication, no
 * flow control, no replay: whatever TrustLab's terminal server costs beyond
 * this is the price of those.
 *
 * Runs as a child of the benchmark (`fork`), listens on 127.0.0.1, sends
 * `{ port }` to its parent, and answers `{ type: 'usage' }` with its CPU
 * time and memory (after a full GC when started with --expose-gc).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node-pty';
import { WebSocketServer } from 'ws';
import { answerUsageRequests } from './usage.js';

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: http });

wss.on('connection', (ws) => {
  const pty = spawn('bash', ['--norc', '--noprofile', '-i'], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    cwd: process.env.HOME ?? '/',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/',
      PS1: '$ ',
      TERM: 'xterm-256color',
    },
  });
  pty.onData((data) => ws.send(Buffer.from(data, 'utf8')));
  pty.onExit(() => ws.close());
  ws.on('message', (data: Buffer) => pty.write(data.toString('utf8')));
  ws.on('close', () => pty.kill('SIGKILL'));
});

http.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (http.address() as AddressInfo).port });
});
answerUsageRequests();
// An orderly exit, so that a CPU profile (--cpu-prof) is written; and no orphan if the benchmark dies.
process.once('SIGTERM', () => process.exit(0));
process.once('disconnect', () => process.exit(0));
