/**
 * Summarises a V8 `.cpuprofile` of the hub child (`node --cpu-prof`) into where a benchmark phase's
 * time goes: self time by area (TLS/HTTP, SQLite through better-sqlite3 including its fsyncs, node
 * fs, hashing, token checks, JSON, GC, idle) and the hub's own source files and functions by
 * inclusive time. It measures nothing itself; the benchmark writes one profile per phase when a
 * goal is missed (or on request) so the lead sees what to fix.
 *
 * Only samples inside the timed window count (the benchmark passes the window it measured, on the
 * monotonic clock V8's profiler also uses), so start-up, setup and the untimed token fetches are
 * left out. Idle time inside the window is reported but is not part of the shares.
 *
 * Usage: node --import tsx bench/hub/cpu-profile.ts <file.cpuprofile> [...]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock (the one process.hrtime reads, shared by all processes). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of the monotonic clock, microseconds, as `process.hrtime.bigint() / 1000n` reads it. */
export interface Window {
  startUs: number;
  endUs: number;
}

export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** Areas for a sample's leaf frame; the first match wins. */
const AREAS: ReadonlyArray<[string, (f: CallFrame) => boolean]> = [
  ['(garbage collector)', (f) => f.functionName === '(garbage collector)'],
  ['(program: native, unattributed)', (f) => f.functionName === '(program)'],
  ['SQLite (better-sqlite3: statements, commits, fsync)', (f) => /better-sqlite3/.test(f.url)],
  ['zod validation', (f) => /node_modules\/zod\//.test(f.url)],
  ['JWT (jose)', (f) => /node_modules\/jose\//.test(f.url)],
  ['multipart (busboy)', (f) => /node_modules\/(busboy|streamsearch)\//.test(f.url)],
  ['node: TLS', (f) => /^node:(_tls|tls|internal\/tls)/.test(f.url)],
  ['node: HTTP', (f) => /^node:(_http|http|https|internal\/http)/.test(f.url)],
  ['node: net/streams', (f) => /^node:(net|stream|internal\/(stream|streams|net))/.test(f.url)],
  ['node: fs', (f) => /^node:(fs|internal\/fs)/.test(f.url)],
  ['node: crypto (hash, sign, verify)', (f) => /^node:(crypto|internal\/crypto)/.test(f.url)],
  ['node: other internals', (f) => f.url.startsWith('node:')],
  ['@noble/curves (ECDSA/ed25519)', (f) => /node_modules\/@noble\/curves\//.test(f.url)],
  ['@noble/hashes', (f) => /node_modules\/@noble\/hashes\//.test(f.url)],
  // better-sqlite3's statements are native methods; V8 bills their time (the INSERT, the WAL
  // commit and its fsync) as self time of the hub function that called them.
  ['hub: records (self, incl. its SQLite INSERT + commit + fsync)', (f) => /hub\/src\/records\//.test(f.url)],
  ['hub: storage (self, incl. its SQLite statements)', (f) => /hub\/src\/storage\//.test(f.url)],
  ['hub: registry', (f) => /hub\/src\/registry\//.test(f.url)],
  ['hub: notary', (f) => /hub\/src\/notary\//.test(f.url)],
  ['hub: auth', (f) => /hub\/src\/auth\//.test(f.url)],
  ['hub: other', (f) => /hub\/src\//.test(f.url)],
  ['trust-core', (f) => /trust-core\/src\//.test(f.url)],
  ['other node_modules', (f) => /node_modules\//.test(f.url)],
  ['builtins without URL (JSON, RegExp, native calls)', (f) => f.url === ''],
];

function areaOf(frame: CallFrame): string {
  for (const [name, test] of AREAS) if (test(frame)) return name;
  return 'other';
}

function hubFile(url: string): string | undefined {
  const at = url.indexOf('/hub/src/');
  return at < 0 ? undefined : url.slice(at + 1);
}

export interface ProfileSummary {
  /** Wall time covered by the profile, ms. */
  totalMs: number;
  /** Time inside the window, and the idle part of it. */
  windowMs: number;
  idleMs: number;
  /** Busy main-thread time inside the window, ms: the base of every share. */
  busyMs: number;
  areas: Array<{ name: string; ms: number }>;
  files: Array<{ name: string; ms: number }>;
  functions: Array<{ name: string; ms: number }>;
}

export function summarize(profile: CpuProfile, window?: Window, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const areas = new Map<string, number>();
  const files = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let total = 0;
  let inWindow = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const dt = delta / 1000;
    total += dt;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    inWindow += dt;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const stack: CallFrame[] = [];
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id))
      stack.push(byId.get(id)!.callFrame);
    add(areas, areaOf(leaf.callFrame), dt);
    const seenFiles = new Set<string>();
    const seenFunctions = new Set<string>();
    for (const frame of stack) {
      const file = hubFile(frame.url);
      if (file === undefined) continue;
      if (!seenFiles.has(file)) {
        seenFiles.add(file);
        add(files, file, dt);
      }
      const name = `${frame.functionName || '(anonymous)'} (${file})`;
      if (!seenFunctions.has(name)) {
        seenFunctions.add(name);
        add(functions, name, dt);
      }
    }
  }
  const sorted = (map: Map<string, number>, n: number) =>
    [...map]
      .map(([name, ms]) => ({ name, ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n);
  return {
    totalMs: total,
    windowMs: inWindow,
    idleMs: idle,
    busyMs: inWindow - idle,
    areas: sorted(areas, 100),
    files: sorted(files, top),
    functions: sorted(functions, top),
  };
}

export function formatSummary(title: string, summary: ProfileSummary, requests?: number): string {
  const share = (ms: number) => `${((100 * ms) / Math.max(summary.busyMs, 1e-9)).toFixed(1).padStart(5)}%`;
  const perRequest = (ms: number) =>
    requests ? `${((1000 * ms) / requests).toFixed(0).padStart(6)} µs/req` : '';
  const row = (ms: number, name: string) =>
    `    ${ms.toFixed(0).padStart(6)} ms ${share(ms)} ${perRequest(ms)}  ${name}`;
  const lines = [
    `${title}: main thread busy ${summary.busyMs.toFixed(0)} ms of the ${summary.windowMs.toFixed(0)} ms timed window ` +
      `(idle ${summary.idleMs.toFixed(0)} ms)${requests ? `, ${requests} requests, ${((1000 * summary.busyMs) / requests).toFixed(0)} µs CPU per request` : ''}`,
    '  self time by area (share of busy):',
    ...summary.areas.filter((a) => a.ms >= 1).map((a) => row(a.ms, a.name)),
    '  hub source files by inclusive time:',
    ...summary.files.map((f) => row(f.ms, f.name)),
    '  hub functions by inclusive time:',
    ...summary.functions.map((f) => row(f.ms, f.name)),
  ];
  return lines.join('\n');
}

export async function summarizeFile(file: string, top?: number): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  return formatSummary(path.basename(file), summarize(profile, undefined, top));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: bench/hub/cpu-profile.ts <file.cpuprofile> [...]');
    process.exit(2);
  }
  for (const file of files) console.log(await summarizeFile(file));
}
