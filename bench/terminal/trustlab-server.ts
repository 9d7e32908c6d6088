/**
 * TrustLab's terminal server as the benchmark runs it: a child process
 * (fork) with the sandbox driver this machine supports, listening on
 * 127.0.0.1, its data in BENCH_DATA_DIR (made and removed by the parent).
 * It sends `{ port, driver }` to its parent, issues a ticket for the named
 * attendee on `{ type: 'ticket', attendee }`, answers `{ type: 'usage' }`
 * like the reference bridge, and `{ type: 'timings' }` with how long the
 * bwrap driver's steps took for new and for returning attendees. Hub
 * sockets are not opened: the benchmark's shells never reach the hub.
 */
import type { Sandbox, SandboxDriver, SandboxSpec } from '../../terminal-server/src/index.js';
import { createLocalDriver, createTerminalServer } from '../../terminal-server/src/index.js';
import { createBwrapDriver, isBwrapAvailable } from '../../terminal-server/src/sandbox/bwrap/index.js';
import { BENCH_SANDBOX } from './leftovers.js';
import { answerUsageRequests } from './usage.js';

export const BENCH_ORIGIN = 'http://127.0.0.1:3000';

/** Mean milliseconds per step of sandbox creation, for homes seen for the first time and again. */
export interface TimingsReport {
  type: 'timings';
  newHome: Record<string, number>;
  returningHome: Record<string, number>;
}

const dataDir = process.env.BENCH_DATA_DIR;
if (dataDir === undefined) throw new Error('BENCH_DATA_DIR is not set');
const wantBwrap = process.env.BENCH_SANDBOX !== 'local' && process.getuid?.() === 0 && isBwrapAvailable();
let driver: SandboxDriver;
if (wantBwrap) {
  driver = createBwrapDriver({
    dataDir,
    runtimeRoot: BENCH_SANDBOX.runtimeRoot,
    uidPool: BENCH_SANDBOX.uidPool,
    cgroup: { prefix: BENCH_SANDBOX.cgroupPrefix },
    // Small homes: hundreds of them are made in one run.
    limits: { homeBytes: 16 * 1024 * 1024, homeInodes: 1024 },
  });
} else {
  driver = createLocalDriver({ dataDir, warn: () => undefined });
}

// Step timings of each sandbox (the bwrap driver records them), by whether its home was new.
const seenHomes = new Set<string>();
const timings = { newHome: [] as Record<string, number>[], returningHome: [] as Record<string, number>[] };
const measured: SandboxDriver = {
  info: driver.info,
  close: () => driver.close(),
  async create(spec: SandboxSpec): Promise<Sandbox> {
    const returning = seenHomes.has(spec.homeKey);
    seenHomes.add(spec.homeKey);
    const sandbox = await driver.create(spec);
    const steps = (sandbox as Sandbox & { timings?: Record<string, number> }).timings;
    if (steps !== undefined) (returning ? timings.returningHome : timings.newHome).push(steps);
    return sandbox;
  },
};

function means(samples: readonly Record<string, number>[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const sample of samples)
    for (const [step, ms] of Object.entries(sample)) sums[step] = (sums[step] ?? 0) + ms;
  return Object.fromEntries(Object.entries(sums).map(([step, sum]) => [step, sum / samples.length]));
}

const server = createTerminalServer({
  mode: 'self-paced',
  driver: measured,
  allowedHosts: ['127.0.0.1'],
  allowedOrigins: [BENCH_ORIGIN],
  limits: { maxSessions: 1000 },
  logger: { warn: () => undefined, error: (message) => console.error(`[terminal-server] ${message}`) },
});
const { port } = await server.listen({ host: '127.0.0.1', port: 0 });

process.on('message', (message: { type?: string; attendee?: string }) => {
  if (message?.type === 'ticket') {
    const { ticket } = server.issueTicket({ attendee: String(message.attendee) });
    process.send?.({ type: 'ticket', attendee: message.attendee, ticket });
  } else if (message?.type === 'timings') {
    const report: TimingsReport = {
      type: 'timings',
      newHome: means(timings.newHome),
      returningHome: means(timings.returningHome),
    };
    process.send?.(report);
  }
});
answerUsageRequests();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await server.close();
  } catch (error) {
    console.error('[terminal-server] close failed', error);
    process.exitCode = 1;
  }
  process.exit();
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
// The parent went away without stopping us: tear down all the same.
process.once('disconnect', () => void stop());
process.send?.({ port, driver: driver.info.name });
