/**
 * A workshop under load: N attendees (default 100) join one workshop and
 * do Tasks 1 to 4 of the content-trust lab in their terminals at once,
 * while the instructor's dashboard stream is read; no browser, the real
 * protocol (HTTP API, Server-Sent Events, the terminal WebSocket). The
 * driver is bench/workshop/simulate.ts (its header says what it does and
 * checks); the reference, measured in the same run, is one attendee alone
 * doing the same sequence.
 *
 * Run: npm run bench:workshop
 *   BENCH_ATTENDEES=100     attendees in the workshop
 *   BENCH_CONCURRENCY=N     attendees working at once (default: all)
 *   BENCH_STAGGER_MS=50     between two attendees' starts
 *   BENCH_SOLO_RUNS=2       attendees alone first (a warm-up, then the reference)
 *   BENCH_LIVENESS_S=300    bound on any one wait (a command, a tick, the dashboard)
 *   BENCH_SANDBOX=local     the local driver even as root
 *   BENCH_TIMEOUT_S=3600    bound on the whole benchmark
 *
 * Any failure (a command, an HTTP answer, a terminal close, a platform
 * warning, a missed tick or a dashboard that disagrees) prints
 * `BENCHMARK FAILED (no result)` with the errors and exits 1.
 */
import { cpus, loadavg } from 'node:os';
import { formatReport } from './workshop/report.js';
import { simulateWorkshop } from './workshop/simulate.js';

const number = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got ${raw}`);
  return value;
};

const ATTENDEES = number('BENCH_ATTENDEES', 100);
const TIMEOUT_S = number('BENCH_TIMEOUT_S', 3600);
/** After the bound, the run gets this long to close the platform and clean up before the process exits. */
const CLEANUP_GRACE_MS = 180_000;

async function main(): Promise<boolean> {
  if (!Number.isInteger(ATTENDEES) || ATTENDEES < 1 || ATTENDEES > 1000)
    throw new Error(`BENCH_ATTENDEES must be 1..1000 (a workshop's capacity), got ${ATTENDEES}`);
  const abort = new AbortController();
  const bound = setTimeout(() => {
    console.error(`still running after ${TIMEOUT_S} s: stopping, then cleaning up`);
    abort.abort();
    setTimeout(() => {
      console.error(
        `BENCHMARK FAILED (no result): clean-up not done ${CLEANUP_GRACE_MS / 1000} s after the bound`,
      );
      process.exit(1);
    }, CLEANUP_GRACE_MS).unref();
  }, TIMEOUT_S * 1000);
  bound.unref();
  process.once('SIGINT', () => {
    console.error('interrupted: stopping, then cleaning up');
    abort.abort();
  });

  const loadBefore = loadavg();
  const concurrency = process.env.BENCH_CONCURRENCY ? number('BENCH_CONCURRENCY', ATTENDEES) : undefined;
  const result = await simulateWorkshop({
    attendees: ATTENDEES,
    ...(concurrency !== undefined ? { concurrency } : {}),
    staggerMs: number('BENCH_STAGGER_MS', 50),
    soloRuns: number('BENCH_SOLO_RUNS', 2),
    livenessMs: number('BENCH_LIVENESS_S', 300) * 1000,
    ...(process.env.BENCH_SANDBOX === 'local' ? { sandbox: 'local' as const } : {}),
    signal: abort.signal,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  clearTimeout(bound);

  console.log('');
  console.log(
    `workshop load: ${result.attendees} attendees in one workshop, ${result.concurrency} at once, ` +
      `started ${result.staggerMs} ms apart; reference: one attendee alone, same run`,
  );
  console.log(
    `sandbox: ${result.sandbox}; web side: ${result.webSide}; ${process.version}, ${cpus().length} cores`,
  );
  const loadAfter = loadavg();
  console.log(
    `machine load average (1/5/15 min) before: ${loadBefore.map((v) => v.toFixed(1)).join('/')}, ` +
      `after: ${loadAfter.map((v) => v.toFixed(1)).join('/')} (other work on the machine counts in every figure)`,
  );
  console.log('');
  console.log(formatReport(result));
  if (result.expectedWarnings.length > 0)
    console.log(
      `expected warnings (not errors): ${result.expectedWarnings.length} (the local driver's notice)`,
    );
  if (abort.signal.aborted && result.errors.length === 0) result.errors.push(`stopped before the end`);
  if (result.errors.length > 0) {
    console.log('');
    // By kind first (attendee numbers, usernames and times left out), with a count and the first of each.
    const kinds = new Map<string, { count: number; first: string }>();
    for (const error of result.errors) {
      const kind = error
        .split('\n')[0]!
        .replace(/attendee \d+/g, 'attendee #')
        .replace(/learner-[0-9a-f]+/g, 'learner-*')
        .replace(/pass-\d+-/g, 'pass-#-')
        .replace(/\d+(\.\d+)? s\b/g, '# s')
        .replace(/ \(newest first, from client events\): .*/, ' (newest first, from client events): ...')
        .slice(0, 240);
      const seen = kinds.get(kind);
      if (seen) seen.count++;
      else kinds.set(kind, { count: 1, first: error });
    }
    console.log(`errors by kind (${kinds.size} kinds, ${result.errors.length} errors):`);
    for (const [kind, { count }] of [...kinds].sort((a, b) => b[1].count - a[1].count))
      console.log(`  ${String(count).padStart(4)} x ${kind}`);
    console.log('');
    console.log(`errors (${result.errors.length}), in order:`);
    for (const error of result.errors.slice(0, 50)) console.log(`  ${error.replace(/\n/g, '\n    ')}`);
    if (result.errors.length > 50) console.log(`  ... and ${result.errors.length - 50} more`);
    return false;
  }
  console.log('errors: none');
  return true;
}

main().then(
  (ok) => {
    if (!ok) console.error('BENCHMARK FAILED (no result)');
    process.exit(ok ? 0 : 1);
  },
  (error: unknown) => {
    console.error(`BENCHMARK FAILED (no result): ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
