/**
 * The terminal benchmark: TrustLab's terminal server (with the sandbox driver
 * this machine supports: bwrap when running as root with bubblewrap
 * installed, otherwise local) beside a reference measured in the same run,
 * the smallest ws + node-pty bridge (bench/terminal/reference-bridge.ts: no
 * sandbox, no authentication, no flow control).
 *
 * For each server, in this order:
 * 1. connect → first prompt, BENCH_PROMPTS sessions one after another: p50, p95;
 * 2. keystroke echo round trip on an idle server: p50, p99 over BENCH_ECHOES keystrokes;
 * 3. the same while two neighbouring sessions flood `yes` (their clients read
 *    and acknowledge as fast as they can, as a browser tab would);
 * 4. bulk output: BENCH_BULK_MB MB printed by the shell: MB/s and the server's
 *    CPU-seconds per GB (the server's own process; the shell's are not counted);
 * 5. server memory per idle session: RSS after opening BENCH_IDLE sessions,
 *    minus before, divided by their number (after a full GC);
 * 6. capacity: idle sessions are added in steps of 25 up to BENCH_MAX_SESSIONS;
 *    at each step the echo p99 of one session is measured, and the largest
 *    count whose p99 stays under 20 ms is reported.
 *
 * Goals (TrustLab): echo p99 ≤ 1.5 ms idle and ≤ 2.5 ms with two flooding
 * neighbours; ≥ 50 MB/s at ≤ 10 CPU-s/GB; first prompt p95 ≤ 300 ms with the
 * bwrap sandbox; ≤ 100 KB of server memory per idle session plus the replay
 * buffer; at least 200 concurrent sandboxed sessions. A missed goal is
 * reported, not an error; a failed step exits non-zero.
 *
 * Run: npm run bench:terminal
 */
import { cpus, totalmem } from 'node:os';
import { fmt, formatTable, percentile } from './hub/stats.js';
import type { TerminalTarget, Transcript } from './terminal/measure.js';
import { bulkOutput, echoRoundTrips, openToPrompt, startFlood, stopFlood } from './terminal/measure.js';
import { startReference } from './terminal/targets.js';
import { startTrustLab } from './terminal/trustlab-target.js';

const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 30);
const ECHOES = Number(process.env.BENCH_ECHOES ?? 500);
const BULK_MB = Number(process.env.BENCH_BULK_MB ?? 100);
const IDLE = Number(process.env.BENCH_IDLE ?? 50);
const MAX_SESSIONS = Number(process.env.BENCH_MAX_SESSIONS ?? 200);
const CAPACITY_P99_MS = 20;

interface Figures {
  promptP50: number;
  promptP95: number;
  echoIdleP50: number;
  echoIdleP99: number;
  echoFloodP50: number;
  echoFloodP99: number;
  bulkMBs: number;
  cpuSecondsPerGB: number;
  memoryPerSessionKB: number;
  capacity: number;
  capacityNote: string;
}

async function measure(target: TerminalTarget): Promise<Figures> {
  const log = (text: string) => console.log(`  [${target.name}] ${text}`);
  const open: Transcript[] = [];
  try {
    const prompts: number[] = [];
    for (let i = 0; i < PROMPTS; i++) {
      const { transcript, ms } = await openToPrompt(target);
      prompts.push(ms);
      transcript.connection.close();
    }
    log(`first prompt over ${PROMPTS} sessions done`);

    const main = (await openToPrompt(target)).transcript;
    open.push(main);
    const idle = await echoRoundTrips(main, ECHOES);
    log(`idle echo done`);

    const neighbours = [(await openToPrompt(target)).transcript, (await openToPrompt(target)).transcript];
    open.push(...neighbours);
    for (const n of neighbours) startFlood(n);
    await new Promise((r) => setTimeout(r, 500));
    const flooded = await echoRoundTrips(main, ECHOES);
    for (const n of neighbours) await stopFlood(n);
    log(`echo with two flooding neighbours done`);

    const cpuBefore = (await target.usage()).cpuSeconds;
    const bulk = await bulkOutput(main, BULK_MB);
    const cpuAfter = (await target.usage()).cpuSeconds;
    log(`bulk output done (${bulk.bytes} bytes)`);

    const before = await target.usage();
    for (let i = 0; i < IDLE; i++) open.push((await openToPrompt(target)).transcript);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await target.usage();
    const memoryPerSessionKB = (after.rssBytes - before.rssBytes) / IDLE / 1024;
    log(`memory over ${IDLE} idle sessions done`);

    let capacity = 0;
    let capacityNote = '';
    for (let count = open.length; ;) {
      const p99 = percentile(await echoRoundTrips(main, 200), 99);
      if (p99 <= CAPACITY_P99_MS) capacity = count;
      else {
        capacityNote = `p99 ${fmt(p99)} ms at ${count}`;
        break;
      }
      if (count >= MAX_SESSIONS) {
        capacityNote = `stopped at BENCH_MAX_SESSIONS (p99 ${fmt(p99)} ms)`;
        break;
      }
      const step = Math.min(25, MAX_SESSIONS - count);
      try {
        for (let i = 0; i < step; i++) open.push((await openToPrompt(target)).transcript);
      } catch (error) {
        capacityNote = `could not open more than ${open.length} sessions: ${(error as Error).message}`;
        break;
      }
      count = open.length;
      log(`${count} sessions open`);
    }

    return {
      promptP50: percentile(prompts, 50),
      promptP95: percentile(prompts, 95),
      echoIdleP50: percentile(idle, 50),
      echoIdleP99: percentile(idle, 99),
      echoFloodP50: percentile(flooded, 50),
      echoFloodP99: percentile(flooded, 99),
      bulkMBs: bulk.bytes / 1e6 / bulk.seconds,
      cpuSecondsPerGB: (cpuAfter - cpuBefore) / (bulk.bytes / 1e9),
      memoryPerSessionKB,
      capacity,
      capacityNote,
    };
  } finally {
    for (const t of open) t.connection.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `terminal benchmark: ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
  );
  const reference = await startReference();
  let refFigures: Figures;
  try {
    refFigures = await measure(reference);
  } finally {
    await reference.stop();
  }
  const trustlab = await startTrustLab();
  console.log(`TrustLab terminal server: sandbox driver ${trustlab.driver}`);
  let ours: Figures;
  try {
    ours = await measure(trustlab);
  } finally {
    await trustlab.stop();
  }

  const row = (label: string, pick: (f: Figures) => number, goal: string, met: (v: number) => boolean) => {
    const value = pick(ours);
    return [label, fmt(value), fmt(pick(refFigures)), goal, goal === '' ? '' : met(value) ? 'met' : 'MISSED'];
  };
  console.log('');
  console.log(
    formatTable(
      ['figure', 'TrustLab', 'reference', 'goal', ''],
      [
        row(
          'first prompt p50 (ms)',
          (f) => f.promptP50,
          '',
          () => true,
        ),
        row(
          'first prompt p95 (ms)',
          (f) => f.promptP95,
          trustlab.driver === 'bwrap' ? '≤ 300' : '',
          (v) => v <= 300,
        ),
        row(
          'echo idle p50 (ms)',
          (f) => f.echoIdleP50,
          '',
          () => true,
        ),
        row(
          'echo idle p99 (ms)',
          (f) => f.echoIdleP99,
          '≤ 1.5',
          (v) => v <= 1.5,
        ),
        row(
          'echo, 2 neighbours flooding, p50 (ms)',
          (f) => f.echoFloodP50,
          '',
          () => true,
        ),
        row(
          'echo, 2 neighbours flooding, p99 (ms)',
          (f) => f.echoFloodP99,
          '≤ 2.5',
          (v) => v <= 2.5,
        ),
        row(
          'bulk output (MB/s)',
          (f) => f.bulkMBs,
          '≥ 50',
          (v) => v >= 50,
        ),
        row(
          'server CPU per GB of output (s)',
          (f) => f.cpuSecondsPerGB,
          '≤ 10',
          (v) => v <= 10,
        ),
        row(
          'server memory per idle session (KB)',
          (f) => f.memoryPerSessionKB,
          '≤ 100 + replay',
          (v) => v <= 100,
        ),
        row(
          `sessions with echo p99 < ${CAPACITY_P99_MS} ms`,
          (f) => f.capacity,
          trustlab.driver === 'bwrap' ? '≥ 200' : '',
          (v) => v >= 200,
        ),
      ],
    ),
  );
  console.log(`capacity: TrustLab ${ours.capacityNote}; reference ${refFigures.capacityNote}`);
}

main().catch((error: unknown) => {
  console.error(error);
  console.log('BENCHMARK FAILED (no result)');
  process.exit(1);
});
