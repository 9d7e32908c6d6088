/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`) into where the time of one trust-core
 * operation goes: self time by area (module loading, canonical JSON, hashing, signatures, JSON
 * parse, base64, HTTP/TLS, GC, idle = waiting on the server or the disk) and the trust-core
 * functions with the most inclusive time. It measures nothing by itself; it reads the profiles the
 * benchmark writes with BENCH_PROFILE=<dir>, so the lead sees which part to optimise.
 *
 * Usage: node --import tsx bench/cpu-profile-summary.ts <file.cpuprofile> [...]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Areas, first match wins, tested on the leaf frame's URL and function name. */
const AREAS: ReadonlyArray<[string, (f: CallFrame) => boolean]> = [
  ['(idle: waiting on server/disk)', (f) => f.functionName === '(idle)'],
  ['(garbage collector)', (f) => f.functionName === '(garbage collector)'],
  ['(program: native, unattributed)', (f) => f.functionName === '(program)'],
  ['tsx/esbuild loader', (f) => /node_modules\/(tsx|esbuild|get-tsconfig)\//.test(f.url)],
  ['sha256/sha512 (@noble/hashes)', (f) => /@noble\/hashes\//.test(f.url)],
  ['ECDSA/ed25519 (@noble/curves)', (f) => /@noble\/curves\//.test(f.url)],
  ['base64/hex (@scure/base)', (f) => /@scure\/base\//.test(f.url)],
  ['ASN.1 (@peculiar)', (f) => /@peculiar\/|asn1js|pvtsutils|pvutils/.test(f.url)],
  ['canonical JSON (trust-core encoding)', (f) => /trust-core\/src\/encoding\/canonical-json/.test(f.url)],
  ['other trust-core encoding', (f) => /trust-core\/src\/encoding\//.test(f.url)],
  ['trust-core models (parse/validate/build)', (f) => /trust-core\/src\/models\//.test(f.url)],
  ['trust-core crypto (keys, key files)', (f) => /trust-core\/src\/crypto\//.test(f.url)],
  ['trust-core client (updater, verify)', (f) => /trust-core\/src\/client\//.test(f.url)],
  ['trust-core publisher (editor, sign)', (f) => /trust-core\/src\/publisher\//.test(f.url)],
  ['trust-core node (HTTP client, cache, key store)', (f) => /trust-core\/src\/node\//.test(f.url)],
  ['other node_modules', (f) => /node_modules\//.test(f.url)],
  [
    'node: HTTP/TLS/net',
    (f) => /^node:(_http|http|https|_tls|tls|net|stream|internal\/(stream|tls|net|http))/.test(f.url),
  ],
  ['node: module loading', (f) => /^node:internal\/modules\//.test(f.url)],
  ['node: fs', (f) => /^node:(fs|internal\/fs)/.test(f.url)],
  ['JSON.parse / builtins (no URL)', (f) => f.url === ''],
  ['node: other internals', (f) => f.url.startsWith('node:')],
  ['bench scripts', (f) => /\/bench\//.test(f.url)],
];

function areaOf(frame: CallFrame): string {
  for (const [name, test] of AREAS) if (test(frame)) return name;
  return 'other';
}

function shortUrl(url: string): string {
  const at = url.indexOf('/trust-core/');
  if (at >= 0) return url.slice(at + 1);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  return url.replace(/^file:\/\/.*\//, '');
}

export interface ProfileSummary {
  totalMs: number;
  areas: Array<{ area: string; ms: number }>;
  /** trust-core functions by inclusive time (each function counted once per sample). */
  functions: Array<{ name: string; ms: number }>;
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample; bill it to the sample that ends it.
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    const area = areaOf(leaf.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!f.url.includes('/trust-core/src/')) continue;
      const name = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  }
  return {
    totalMs: total,
    areas: [...areas].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    functions: [...inclusive]
      .map(([name, ms]) => ({ name, ms }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

export function formatSummary(title: string, summary: ProfileSummary): string {
  const lines = [`${title}: ${summary.totalMs.toFixed(0)} ms profiled`, '  self time by area:'];
  for (const { area, ms } of summary.areas) {
    if (ms < 1) continue;
    const share = ((100 * ms) / summary.totalMs).toFixed(1).padStart(5);
    lines.push(`    ${ms.toFixed(0).padStart(6)} ms ${share}%  ${area}`);
  }
  lines.push('  trust-core functions by inclusive time:');
  for (const { name, ms } of summary.functions) lines.push(`    ${ms.toFixed(0).padStart(6)} ms  ${name}`);
  return lines.join('\n');
}

export async function summarizeFile(
  file: string,
  title = path.basename(file),
  top?: number,
): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  return formatSummary(title, summarize(profile, top));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: cpu-profile-summary.ts <file.cpuprofile> [...]');
    process.exit(2);
  }
  for (const file of files) console.log(await summarizeFile(file));
}
