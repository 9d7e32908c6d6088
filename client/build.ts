/**
 * Bundles the client commands with esbuild so they start fast (no tsx at run time):
 * `client/src/docker/main.ts` → `dist/client/docker.cjs`, `client/src/notary/main.ts` →
 * `dist/client/notary.cjs`, each with its lazily loaded parts in `dist/client/chunks/`.
 *
 * Run at install time (`npm ci` / `npm install` run it as the `prepare` script), by `bin/docker`
 * and `bin/notary` when their bundle is missing or stale (so a developer's edit takes effect on
 * the next run), or by hand: `npm run build:client` or
 * `node --import tsx client/build.ts [docker|notary] [--prepare]`.
 *
 * Why the output looks the way it does (start-up time; `npm run bench:client` measures it):
 *
 * - CommonJS, not ES modules. On Node 20 the first ES module a process loads sets up the ESM
 *   loader (~10-15 ms here), and a graph of ES modules links slower than `require` of the same
 *   files. esbuild splits code only in ESM output, so the build splits as ESM (commands stay
 *   in their own chunks, loaded by the dynamic imports of main.ts) and then converts every
 *   output file to CommonJS, `import()` becoming a `require` of the chunk. Every file still
 *   exists once, so classes such as DockerError are one class for `instanceof`. One single-file
 *   CommonJS bundle was measured too and is much slower: compiling 1.6 MB (zod, the ASN.1 and
 *   curve libraries) on every start.
 * - Node built-ins load on first use (LAZY_BUILTINS): the fast paths import `node:crypto`
 *   without calling it.
 * - No source maps; no minification (no measurable gain on the few tens of KB a fast path
 *   loads, and stack traces stay readable).
 *
 * Staleness: next to each bundle, `<name>.inputs` lists the project files it was built from (a
 * POSIX sh fragment the wrapper sources: ~80 `-nt` tests, under 1 ms in dash) and carries the
 * modification time of the build's start; any listed file newer than it makes the wrapper
 * rebuild. Builds may run concurrently (several terminals): every file is written under a
 * temporary name and renamed into place, chunks before the entry that loads them, the inputs
 * list last.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(root, 'dist', 'client');

export const ENTRIES: Record<string, string> = {
  docker: 'client/src/docker/main.ts',
  notary: 'client/src/notary/main.ts',
};

/** Chunks of an older build that no current entry loads are removed once they are this old. */
const OLD_CHUNK_MS = 10 * 60 * 1000;

/**
 * Built-ins whose `require` is deferred to the first use of the module: `node:crypto` alone takes
 * 4-6 ms to load, and the fast paths import it (image store, atomic file writes) without calling
 * it. A default import (`import path from 'node:path'`) also skips esbuild's __toESM, which
 * copies every export onto a new object. None of these has a side effect on load that a program
 * could notice. `node:fs` stays as it is: Node loads it before any user code.
 */
const LAZY_BUILTINS = ['crypto', 'fs/promises', 'http', 'https', 'net', 'os', 'path', 'tls', 'zlib'];

const LAZY_HELPER =
  'var __lazyBuiltin = (id) => { let m; const load = () => (m ??= require(id)); ' +
  'return new Proxy({}, { get: (_, key) => (key === "default" ? load() : load()[key]) }); };\n';

/**
 * `var import_node_crypto = require("node:crypto");` (or `__toESM(require(…))`) → a proxy that
 * requires the module on the first property read. Only for a variable the code uses solely as
 * `name.property` (all esbuild emits for named and default imports); any other use keeps the
 * plain `require`.
 */
function deferBuiltins(code: string): string {
  const ids = LAZY_BUILTINS.map((id) => id.replace('/', '\\/')).join('|');
  const pattern = new RegExp(
    String.raw`^var (\w+) = (?:__toESM\()?require\("(node:(?:${ids}))"\)\)?;$`,
    'gm',
  );
  let deferred = 0;
  const out = code.replace(pattern, (line, name: string, id: string) => {
    const uses = code.match(new RegExp(String.raw`\b${name}\b(?!\.)`, 'g'))?.length ?? 0;
    if (uses !== 1) return line; // the declaration itself is the one use not followed by "."
    deferred++;
    return `var ${name} = __lazyBuiltin(${JSON.stringify(id)});`;
  });
  return deferred > 0 ? LAZY_HELPER + out : code;
}

function writeAtomic(file: string, contents: string): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

/** A single-quoted sh word. */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Project files whose change makes the bundle stale: its inputs outside node_modules, and the build. */
function staleInputs(inputs: Iterable<string>): string[] {
  const files = new Set<string>();
  for (const input of inputs) {
    if (!input.split('/').includes('node_modules')) files.add(input);
  }
  for (const file of ['client/build.ts', 'tsconfig.json', 'tsconfig.base.json', 'trust-core/tsconfig.json']) {
    if (existsSync(path.join(root, file))) files.add(file);
  }
  // npm rewrites it on every install: a dependency upgraded without `prepare` still rebuilds.
  if (existsSync(path.join(root, 'node_modules', '.package-lock.json')))
    files.add('node_modules/.package-lock.json');
  return [...files].sort();
}

function removeOldOutputs(name: string, keep: ReadonlySet<string>, startedAt: number): void {
  // The former ES-module layout (`<name>.mjs`, `chunks/<name>-*.mjs`): gone at once, since a
  // loader that prefers `.mjs` (the terminal server's) would otherwise run a stale bundle.
  rmSync(path.join(OUT_DIR, `${name}.mjs`), { force: true });
  const chunks = path.join(OUT_DIR, 'chunks');
  let entries: string[];
  try {
    entries = readdirSync(chunks);
  } catch {
    return;
  }
  for (const file of entries) {
    if (!file.startsWith(`${name}-`)) continue;
    const full = path.join(chunks, file);
    if (keep.has(full)) continue;
    if (file.endsWith('.mjs')) {
      rmSync(full, { force: true });
      continue;
    }
    // A chunk of an earlier build (a process started from that build may still load it lazily),
    // or the temporary file of a build that is still writing or died.
    try {
      if (startedAt - statSync(full).mtimeMs > OLD_CHUNK_MS) rmSync(full, { force: true });
    } catch {
      // removed by a concurrent build
    }
  }
}

export async function bundle(name: string): Promise<string> {
  const entry = ENTRIES[name];
  if (!entry) throw new Error(`unknown client entry ${name}`);
  const { build, transform } = await import('esbuild');
  // Any source modified from now on may or may not be in this build: it must count as newer.
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [name]: path.join(root, entry) },
    outdir: OUT_DIR,
    // ESM (the only format esbuild splits) with the final names; converted to CommonJS below.
    outExtension: { '.js': '.cjs' },
    splitting: true,
    chunkNames: `chunks/${name}-[name]-[hash]`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // Native and CommonJS-only packages stay external; neither command needs them.
    external: ['better-sqlite3', 'node-pty'],
    metafile: true,
    write: false,
  });
  const entryFile = path.join(OUT_DIR, `${name}.cjs`);
  const files = new Map<string, string>();
  for (const output of result.outputFiles) {
    const converted = await transform(output.text, {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // `import('./chunks/…')` → `Promise.resolve().then(() => require('./chunks/…'))`.
      supported: { 'dynamic-import': false },
      logLevel: 'error',
      sourcefile: path.relative(root, output.path),
    });
    files.set(output.path, deferBuiltins(converted.code));
  }
  if (!files.has(entryFile)) throw new Error(`esbuild wrote no ${path.relative(root, entryFile)}`);
  mkdirSync(path.join(OUT_DIR, 'chunks'), { recursive: true });
  for (const [file, code] of files) if (file !== entryFile) writeAtomic(file, code);
  writeAtomic(entryFile, files.get(entryFile)!);

  const inputsFile = path.join(OUT_DIR, `${name}.inputs`);
  const listed = staleInputs(Object.keys(result.metafile.inputs));
  writeAtomic(
    inputsFile,
    `# Written by client/build.ts: the project files dist/client/${name}.cjs was built from, for\n` +
      `# bin/${name}'s staleness check (it sources this file; its mtime is the build's start).\n` +
      `set -- \\\n${listed.map((file) => `  ${shQuote(file)}`).join(' \\\n')}\n`,
  );
  utimesSync(inputsFile, new Date(startedAt), new Date(startedAt));
  removeOldOutputs(name, new Set(files.keys()), startedAt);
  return entryFile;
}

const invoked = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  const args = process.argv.slice(2);
  const prepare = args.includes('--prepare');
  const names = args.filter((arg) => arg !== '--prepare');
  try {
    for (const name of names.length > 0 ? names : Object.keys(ENTRIES)) await bundle(name);
  } catch (error) {
    // `npm ci --omit=dev` has no esbuild: the install goes on and bin/docker, bin/notary run the
    // sources through tsx instead (slower start, same behaviour).
    if (prepare && (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write(`client/build.ts: esbuild is not installed; client bundles not built\n`);
    } else {
      throw error;
    }
  }
}
