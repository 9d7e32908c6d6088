/**
 * TrustLab's terminal server as the benchmark runs it: a child process
 * (fork) with the sandbox driver this machine supports, listening on
 * 127.0.0.1. It sends `{ port, driver }` to its parent, issues a ticket for
 * a new attendee on `{ type: 'ticket' }`, and answers `{ type: 'usage' }`
 * like the reference bridge. Hub sockets are not opened: the benchmark's
 * shells never reach the hub.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SandboxDriver } from '../../terminal-server/src/index.js';
import { createLocalDriver, createTerminalServer } from '../../terminal-server/src/index.js';
import { createBwrapDriver, isBwrapAvailable } from '../../terminal-server/src/sandbox/bwrap/index.js';
import { answerUsageRequests } from './usage.js';

export const BENCH_ORIGIN = 'http://127.0.0.1:3000';

const dataDir = await mkdtemp(path.join(tmpdir(), 'trustlab-terminal-bench-'));
const wantBwrap =
  process.env.BENCH_SANDBOX !== 'local' && process.getuid?.() === 0 && (await isBwrapAvailable());
let driver: SandboxDriver;
if (wantBwrap) {
  driver = createBwrapDriver({
    dataDir,
    // Its own runtime root, apart from any lab server running on this machine.
    runtimeRoot: '/run/trustlab-bench',
    limits: { homeBytes: 64 * 1024 * 1024, homeInodes: 4096 },
  });
} else {
  driver = createLocalDriver({ dataDir, warn: () => undefined });
}

const server = createTerminalServer({
  mode: 'self-paced',
  driver,
  allowedHosts: ['127.0.0.1'],
  allowedOrigins: [BENCH_ORIGIN],
  limits: { maxSessions: 1000 },
  logger: { warn: () => undefined, error: (message) => console.error(`[terminal-server] ${message}`) },
});
const { port } = await server.listen({ host: '127.0.0.1', port: 0 });

let attendees = 0;
process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'ticket') return;
  const { ticket } = server.issueTicket({ attendee: `bench-${++attendees}` });
  process.send?.({ type: 'ticket', ticket });
});
answerUsageRequests();

const stop = async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.send?.({ port, driver: driver.info.name });
