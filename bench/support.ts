/**
 * Shared pieces of the trust-core benchmark: how our side opens a repository (the same options
 * the lab's `notary` command uses), the passphrases (the harness's TEST_PASSPHRASE for every role,
 * exactly what real notary gets through its NOTARY_*_PASSPHRASE variables), and small statistics
 * and table helpers. Nothing here is timed; it only keeps both sides configured identically.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { PassphraseRetriever } from '../trust-core/src/crypto/index.js';
import { fixedPassphraseRetriever } from '../trust-core/src/crypto/index.js';
import { NotaryRepository } from '../trust-core/src/node/index.js';

/** The project root (bench/..), so the child scripts run with the same cwd and tsx resolution. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Passphrases the way notary reads them: NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE. */
export function passphrasesFromEnv(env: NodeJS.ProcessEnv = process.env): PassphraseRetriever {
  const pick = (name: string) => env[name];
  const entries = {
    root: pick('NOTARY_ROOT_PASSPHRASE'),
    targets: pick('NOTARY_TARGETS_PASSPHRASE'),
    snapshot: pick('NOTARY_SNAPSHOT_PASSPHRASE'),
    delegation: pick('NOTARY_DELEGATION_PASSPHRASE'),
  };
  const defined: Partial<Record<keyof typeof entries, string>> = {};
  for (const [alias, value] of Object.entries(entries) as Array<[keyof typeof entries, string | undefined]>) {
    if (value !== undefined) defined[alias] = value;
  }
  return fixedPassphraseRetriever(defined);
}

export function openRepository(options: {
  server: string;
  caPem: string;
  gun: string;
  trustDir: string;
  passphrases: PassphraseRetriever;
}): NotaryRepository {
  return new NotaryRepository({
    gun: options.gun,
    trustDir: options.trustDir,
    server: options.server,
    ca: options.caPem,
    passphrases: options.passphrases,
  });
}

export async function readCaPem(caCertPath: string): Promise<string> {
  return readFile(caCertPath, 'utf8');
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples: [...samples] };
}

/** A plain left/right aligned text table. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const ms = (value: number) => value.toFixed(0);
export const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(0);

/** The last line a child script prints: a JSON object with its result and its own peak RSS. */
export interface ChildReport {
  ok: true;
  count?: number;
  maxRssKiB: number;
  sections?: Record<string, number>;
}

export function parseChildReport(stdout: string): ChildReport {
  const last = stdout.trimEnd().split('\n').pop() ?? '';
  const parsed = JSON.parse(last) as ChildReport;
  if (parsed.ok !== true) throw new Error(`child did not report success: ${last}`);
  return parsed;
}

/**
 * Bundle an entry point into one ES module with esbuild, as a shipped
 * command would be, so a fresh-process figure measures our code and not
 * tsx transpiling it at every start.
 */
export async function bundle(entry: string, outDir: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = path.join(outDir, path.basename(entry).replace(/\.ts$/, '.mjs'));
  await build({
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // CommonJS dependencies bundled into ESM need a require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}
