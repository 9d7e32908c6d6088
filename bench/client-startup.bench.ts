/**
 * Start-up benchmark of the lab's client commands: `bin/docker images` and
 * `bin/notary -d <trustDir> key list` must start and finish in under 150 ms (median). Each is
 * timed as a fresh process (wall time from spawn to exit), beside references measured in the same
 * rounds: the real notary 0.7 CLI doing the same `key list` on the same trust dir (the ratio
 * column), `node -e ''` (the floor of any Node program) and the real `docker --version` when it is
 * installed (the real docker client has no daemon here, so its `docker images` cannot run and
 * cannot be the reference for ours). The bundles are also run directly with `node`, so the cost of
 * the sh wrappers shows, and the wrappers' staleness check (sh sourcing `dist/client/<name>.inputs`
 * and testing each listed file with `-nt`) is timed on its own.
 *
 * Set-up, untimed: a temp HOME with DOCKER_CONFIG, an in-process hub (tests/hub/helpers.ts), our
 * own `bin/docker` pulling the official busybox and alpine and tagging them (5 images in the image
 * store, `$HOME/.local/share/trustlab/images`), and 4 keys written into `$DOCKER_CONFIG/trust` with
 * trust-core's FileKeyStore (root, and targets, snapshot, targets/releases of one GUN). The hub is
 * closed before timing. The wrappers run from a snapshot of the checkout in the temp dir (see
 * snapshotCheckout), built with client/build.ts before anything runs; the bundles are checked to be
 * newer than every source, and every round re-runs the wrappers' staleness check, which must find
 * nothing, so no timed run rebuilds or falls back to tsx. One round is a discarded warm-up.
 *
 * Every round runs every command once, in a rotating order, so machine noise hits them alike.
 * Every run is checked (exit code 0, expected rows / key IDs); any failure or timeout ends the
 * benchmark with `BENCHMARK FAILED (no result)` and exit status 1. When the goal is missed (or
 * BENCH_BREAKDOWN=1), an untimed pass shows where the time goes: node's own marks
 * (`performance.nodeTiming`, through a `--require` preload), CPU profiles (`node --cpu-prof`) and
 * the size of the JavaScript each command loads.
 *
 * Run: npm run bench:client   (BENCH_RUNS=30 measured rounds; BENCH_BREAKDOWN=auto|1|0;
 * BENCH_TIMEOUT_S=600 bound on the whole benchmark)
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { fixedPassphraseRetriever } from '../trust-core/src/crypto/index.js';
import { PrivateKey } from '../trust-core/src/crypto/signatures.js';
import { FileKeyStore } from '../trust-core/src/node/file-key-store.js';
import { startHub } from '../tests/hub/helpers.js';
import type { RunResult } from '../tests/support/process.js';
import { runCommand } from '../tests/support/process.js';
import type { CpuProfile } from './cpu-profile-summary.js';
import { summarize } from './cpu-profile-summary.js';
import { PROJECT_ROOT, formatTable, ms, stats } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const BREAKDOWN = process.env.BENCH_BREAKDOWN ?? 'auto';
const TOTAL_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 600) * 1000;
const RUN_TIMEOUT_MS = 15_000;
const SETUP_TIMEOUT_MS = 120_000;
const GOAL_MS = 150;
const PASSPHRASE = 'bench-client-passphrase';

/**
 * The benchmark runs the wrappers from a snapshot of the checkout (bin/, client/, trust-core/
 * sources and build script, with node_modules linked), built once before timing: colleagues edit
 * client/src while a benchmark runs, and a newer source would make a timed run rebuild the bundle.
 * The snapshot has the same files, so the wrappers' staleness check tests the same list.
 */
class Checkout {
  constructor(readonly root: string) {}
  get dockerWrapper() {
    return path.join(this.root, 'bin', 'docker');
  }
  get notaryWrapper() {
    return path.join(this.root, 'bin', 'notary');
  }
  get dist() {
    return path.join(this.root, 'dist', 'client');
  }
  get dockerBundle() {
    return path.join(this.dist, 'docker.cjs');
  }
  get notaryBundle() {
    return path.join(this.dist, 'notary.cjs');
  }
  get sourceDirs() {
    return [path.join(this.root, 'client', 'src'), path.join(this.root, 'trust-core', 'src')];
  }
}

async function snapshotCheckout(dest: string): Promise<Checkout> {
  const copy = (rel: string) =>
    cp(path.join(PROJECT_ROOT, rel), path.join(dest, rel), { recursive: true, preserveTimestamps: true });
  for (const rel of ['bin/docker', 'bin/notary', 'client/src', 'client/build.ts', 'trust-core/src'])
    await copy(rel);
  for (const rel of ['package.json', 'tsconfig.json', 'tsconfig.base.json', 'trust-core/tsconfig.json']) {
    if (existsSync(path.join(PROJECT_ROOT, rel))) await copy(rel);
  }
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(dest, 'node_modules'));
  const checkout = new Checkout(dest);
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs')).href;
  const built = await runCommand(
    process.execPath,
    ['--import', tsx, path.join(dest, 'client', 'build.ts'), 'docker', 'notary'],
    { env: process.env, cwd: dest, timeoutMs: SETUP_TIMEOUT_MS },
  );
  expectOk('client/build.ts docker notary (in the snapshot)', built);
  return checkout;
}

const REAL_DOCKER = '/usr/local/bin/docker';

function findOnPath(name: string, preferred: string): string | undefined {
  if (existsSync(preferred)) return preferred;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

interface Subject {
  label: string;
  command: string;
  args: string[];
  /** Returns a problem, or undefined when the output is as expected. */
  check(result: RunResult): string | undefined;
  goal?: boolean;
}

function expectOk(label: string, result: RunResult): RunResult {
  if (result.code !== 0) {
    throw new Error(`${label}: exit ${result.code ?? result.signal}\n${result.stderr}${result.stdout}`);
  }
  return result;
}

/** The newest .ts under the client and trust-core sources. */
async function newestSourceMtime(dirs: readonly string[]): Promise<number> {
  let newest = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(full)).mtimeMs);
    }
  };
  for (const dir of dirs) await walk(dir);
  return newest;
}

/**
 * Files a bundle loads: itself and its top-level `require("./chunks/…")`, recursively (client/build.ts
 * writes CommonJS; a lazily loaded chunk is a `require` inside a function, not matched here).
 */
async function staticClosure(entry: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const text = await readFile(entry, 'utf8');
  for (const match of text.matchAll(/^var \w+ = require\("(\.{1,2}\/[^"]+\.cjs)"\);$/gm)) {
    await staticClosure(path.resolve(path.dirname(entry), match[1]!), seen);
  }
  return seen;
}

async function closureBytes(files: Iterable<string>): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`BENCH_RUNS must be a positive integer`);
  const realNotary = findOnPath('notary', '/usr/bin/notary');
  if (!realNotary) throw new Error('the real notary CLI is needed as the reference (Debian package notary)');
  const realDocker = existsSync(REAL_DOCKER) ? REAL_DOCKER : undefined;

  const work = await mkdtemp(path.join(tmpdir(), 'trustlab-bench-client-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const home = path.join(work, 'home');
  const dockerConfig = path.join(home, '.docker');
  const trustDir = path.join(dockerConfig, 'trust');
  await mkdir(home, { recursive: true });

  console.error('snapshot of the checkout, build of dist/client …');
  const co = await snapshotCheckout(path.join(work, 'checkout'));

  // --- set-up (untimed): images in our image store through our own docker, keys in the trust dir.
  console.error('set-up: in-process hub, docker pull/tag, 4 keys …');
  const hub = await startHub();
  let hubClosed = false;
  const closeHub = async () => {
    if (!hubClosed) {
      hubClosed = true;
      await hub.close();
    }
  };
  cleanups.push(closeHub);
  const caFile = path.join(work, 'hub-ca.crt');
  await writeFile(caFile, hub.hub.caCertificate ?? '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: dockerConfig,
    TRUSTLAB_HUB: hub.hub.url,
    TRUSTLAB_HUB_CA: caFile,
  };
  const setup = (command: string, args: string[]) =>
    runCommand(command, args, { env, cwd: work, timeoutMs: SETUP_TIMEOUT_MS }).then((r) =>
      expectOk([path.basename(command), ...args].join(' '), r),
    );
  await setup(co.dockerWrapper, ['pull', 'busybox']);
  await setup(co.dockerWrapper, ['pull', 'alpine']);
  await setup(co.dockerWrapper, ['tag', 'busybox', 'bench/app:v1']);
  await setup(co.dockerWrapper, ['tag', 'busybox', 'bench/app:v2']);
  await setup(co.dockerWrapper, ['tag', 'alpine', 'bench/tools:1']);
  await closeHub();

  const store = new FileKeyStore(trustDir);
  const gun = 'docker.io/bench/app';
  const keyIds: string[] = [];
  for (const [role, keyGun] of [
    ['root', undefined],
    ['targets', gun],
    ['snapshot', gun],
    ['targets/releases', gun],
  ] as const) {
    const key = PrivateKey.generate('ecdsa');
    await store.save(key, keyGun ? { role, gun: keyGun } : { role }, PASSPHRASE);
    keyIds.push(key.id);
  }
  // Sanity: the keys are real key files (decrypt one with its passphrase).
  await store.load(keyIds[0]!, fixedPassphraseRetriever({ root: PASSPHRASE }));

  const imageRows = (await setup(co.dockerWrapper, ['images'])).stdout.trim().split('\n').length;
  if (imageRows !== 6)
    throw new Error(`docker images: expected a header and 5 images, got ${imageRows} lines`);
  await setup(co.notaryWrapper, ['-d', trustDir, 'key', 'list']);
  const newest = await newestSourceMtime(co.sourceDirs);
  for (const bundle of [co.dockerBundle, co.notaryBundle]) {
    if (!existsSync(bundle) || (await stat(bundle)).mtimeMs <= newest) {
      throw new Error(`${bundle} is missing or older than a source after the wrappers ran (build failed?)`);
    }
  }

  const imagesCheck = (r: RunResult) => {
    const lines = r.stdout.trim().split('\n').length;
    return lines === imageRows ? undefined : `expected ${imageRows} lines, got ${lines}`;
  };
  const keysCheck = (r: RunResult) => {
    const missing = keyIds.filter((id) => !r.stdout.includes(id));
    return missing.length === 0 ? undefined : `key IDs missing from the list: ${missing.join(' ')}`;
  };
  const none = () => undefined;
  const shortTrust = '<trustDir>';
  const subjects: Subject[] = [
    {
      label: 'bin/docker images',
      command: co.dockerWrapper,
      args: ['images'],
      check: imagesCheck,
      goal: true,
    },
    {
      label: '  node dist/client/docker.cjs images (no wrapper)',
      command: process.execPath,
      args: [co.dockerBundle, 'images'],
      check: imagesCheck,
    },
    {
      label: `bin/notary -d ${shortTrust} key list`,
      command: co.notaryWrapper,
      args: ['-d', trustDir, 'key', 'list'],
      check: keysCheck,
      goal: true,
    },
    {
      label: '  node dist/client/notary.cjs … key list (no wrapper)',
      command: process.execPath,
      args: [co.notaryBundle, '-d', trustDir, 'key', 'list'],
      check: keysCheck,
    },
    {
      label: `(reference) real notary -d ${shortTrust} key list`,
      command: realNotary,
      args: ['-d', trustDir, 'key', 'list'],
      check: keysCheck,
    },
    { label: "(floor) node -e ''", command: process.execPath, args: ['-e', ''], check: none },
    ...(realDocker
      ? [
          {
            label: '(reference) real docker --version',
            command: realDocker,
            args: ['--version'],
            check: (r: RunResult) => (/^Docker version /.test(r.stdout) ? undefined : 'no version line'),
          },
        ]
      : []),
    {
      // bin/docker's stale(), on its own: sh sources the list of files the bundle was built from
      // and tests each with -nt against the list (whose mtime is the build's start).
      label: "(part) sh + wrapper's staleness check",
      command: 'sh',
      args: [
        '-c',
        'cd "$1" && . dist/client/docker.inputs && for f do [ "$f" -nt dist/client/docker.inputs ] && echo "$f"; done; exit 0',
        'sh',
        co.root,
      ],
      check: (r: RunResult) =>
        r.stdout === '' ? undefined : `a source is newer than the bundle: ${r.stdout}`,
    },
    { label: "(part) sh -c ':'", command: 'sh', args: ['-c', ':'], check: none },
  ];

  // --- measured rounds: one discarded warm-up round, then RUNS rounds in rotating order.
  const samples = subjects.map(() => [] as number[]);
  for (let round = 0; round <= RUNS; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const i = (round + k) % subjects.length;
      const subject = subjects[i]!;
      const result = await runCommand(subject.command, subject.args, {
        env,
        cwd: work,
        timeoutMs: RUN_TIMEOUT_MS,
      });
      const problem = result.code !== 0 ? `exit ${result.code ?? result.signal}` : subject.check(result);
      if (problem) {
        throw new Error(`${subject.label} (round ${round}): ${problem}\n${result.stderr}${result.stdout}`);
      }
      if (round > 0) samples[i]!.push(result.durationMs);
    }
    if (round === 0) console.error('warm-up round done (discarded)');
    else if (round % 10 === 0 || round === RUNS) console.error(`round ${round}/${RUNS}`);
  }

  const medianOf = (i: number) => stats(samples[i]!).median;
  const refIndex = subjects.findIndex((s) => s.label.startsWith('(reference) real notary'));
  const refMedian = medianOf(refIndex);
  let missed = false;
  const rows = subjects.map((subject, i) => {
    const s = stats(samples[i]!);
    let goal = '';
    if (subject.goal) {
      const met = s.median < GOAL_MS;
      if (!met) missed = true;
      goal = met ? 'met' : 'MISSED';
    }
    return [
      subject.label,
      ms(s.median),
      ms(percentile(samples[i]!, 0.9)),
      ms(s.min),
      (s.median / refMedian).toFixed(2),
      goal,
    ];
  });

  console.log(
    `\nclient start-up, ${RUNS} rounds (+1 warm-up), ${cpus().length} CPUs, node ${process.version}, ` +
      `5 images, ${keyIds.length} keys; wall ms from spawn to exit`,
  );
  console.log(
    formatTable(
      ['command', 'median', 'p90', 'min', 'ratio to real notary key list', `goal < ${GOAL_MS} ms median`],
      rows,
    ),
  );
  console.log(
    realDocker
      ? 'real docker has no daemon here, so its `docker images` cannot run; `docker --version` is the nearest real-client figure.'
      : `${REAL_DOCKER} not present: no real docker figure.`,
  );
  const wrapperCost = (a: number, b: number) => ms(medianOf(a) - medianOf(b));
  console.log(
    `sh wrapper cost (median, wrapper - bundle): docker ${wrapperCost(0, 1)} ms, notary ${wrapperCost(2, 3)} ms`,
  );

  if (BREAKDOWN === '1' || (BREAKDOWN === 'auto' && missed)) {
    await breakdown(co, work, env, trustDir);
  }
}

/** Untimed: where a start-up goes, per command (node marks, CPU profile, bytes loaded). */
async function breakdown(
  co: Checkout,
  work: string,
  env: NodeJS.ProcessEnv,
  trustDir: string,
): Promise<void> {
  console.log('\nwhere the time goes (untimed pass, not in the table above)');
  const preload = path.join(work, 'marks.cjs');
  await writeFile(
    preload,
    `const { performance } = require('node:perf_hooks');
const preloadAt = performance.now();
process.on('exit', () => {
  const t = performance.nodeTiming;
  process.stderr.write('\\n@@marks ' + JSON.stringify({ bootstrap: t.bootstrapComplete, preloadAt, exitAt: performance.now() }) + '\\n');
});
`,
  );
  const cases = [
    { name: 'docker images', args: [co.dockerBundle, 'images'] },
    { name: 'notary key list', args: [co.notaryBundle, '-d', trustDir, 'key', 'list'] },
    { name: "node -e ''", args: ['-e', ''] },
  ];
  const MARK_RUNS = 11;
  const markRows: string[][] = [];
  for (const c of cases) {
    const wall: number[] = [];
    const boot: number[] = [];
    const user: number[] = [];
    const teardown: number[] = [];
    for (let i = 0; i <= MARK_RUNS; i++) {
      const r = expectOk(
        c.name,
        await runCommand(process.execPath, ['--require', preload, ...c.args], {
          env,
          cwd: work,
          timeoutMs: RUN_TIMEOUT_MS,
        }),
      );
      const line = r.stderr.split('\n').find((l) => l.startsWith('@@marks '));
      if (!line) throw new Error(`${c.name}: no marks printed`);
      const m = JSON.parse(line.slice('@@marks '.length)) as {
        bootstrap: number;
        preloadAt: number;
        exitAt: number;
      };
      if (i === 0) continue;
      wall.push(r.durationMs);
      boot.push(m.preloadAt);
      user.push(m.exitAt - m.preloadAt);
      teardown.push(r.durationMs - m.exitAt);
    }
    markRows.push([
      c.name,
      ms(stats(wall).median),
      ms(stats(boot).median),
      ms(stats(user).median),
      ms(stats(teardown).median),
    ]);
  }
  console.log(
    `\nnode marks (median of ${MARK_RUNS}, node <bundle> with a --require preload; ms from node's time origin):`,
  );
  console.log(
    formatTable(
      ['process', 'wall', 'node start → user code', 'load + run → exit event', 'exit + spawn overhead'],
      markRows,
    ),
  );

  const chunkFiles = await readdir(path.join(co.dist, 'chunks'));
  const closureWith = async (entry: string, commandChunk: string) => {
    const files = await staticClosure(entry);
    const chunk = chunkFiles.find((f) => f.startsWith(commandChunk));
    if (chunk) await staticClosure(path.join(co.dist, 'chunks', chunk), files);
    return files;
  };
  const dockerFiles = await closureWith(co.dockerBundle, 'docker-images-');
  const notaryFiles = await closureWith(co.notaryBundle, 'notary-key-list-');
  console.log(
    `\nJavaScript loaded (entry + its static chunks + the command's chunk and its static chunks): ` +
      `docker images ${dockerFiles.size} files, ${(await closureBytes(dockerFiles)) >> 10} KiB; ` +
      `notary key list ${notaryFiles.size} files, ${(await closureBytes(notaryFiles)) >> 10} KiB`,
  );

  const profDir = path.join(work, 'profiles');
  await mkdir(profDir, { recursive: true });
  for (const c of cases.slice(0, 2)) {
    const dir = path.join(profDir, c.name.replace(/\W+/g, '-'));
    expectOk(
      c.name,
      await runCommand(
        process.execPath,
        ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, ...c.args],
        { env, cwd: work, timeoutMs: RUN_TIMEOUT_MS },
      ),
    );
    const [file] = await readdir(dir);
    if (!file) throw new Error(`${c.name}: no profile written`);
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    const summary = summarize(profile);
    const byScript = selfTimeByScript(profile);
    console.log(
      `\nCPU profile, ${c.name} (one run, 100 µs sampling): ${summary.totalMs.toFixed(0)} ms profiled`,
    );
    for (const { area, ms: t } of summary.areas)
      if (t >= 1) console.log(`  ${t.toFixed(0).padStart(5)} ms  ${area}`);
    console.log('  self time by script:');
    for (const [script, t] of byScript.slice(0, 6))
      console.log(`  ${t.toFixed(0).padStart(5)} ms  ${script}`);
  }
}

function selfTimeByScript(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const url = node.callFrame.url;
    const key =
      url === ''
        ? `(no script) ${node.callFrame.functionName}`
        : url.replace(/^file:\/\/.*\/dist\//, 'dist/');
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

const cleanups: Array<() => Promise<void>> = [];
async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
}

const watchdog = setTimeout(() => {
  console.error(`\nBENCHMARK FAILED (no result): over BENCH_TIMEOUT_S=${TOTAL_TIMEOUT_MS / 1000}`);
  void cleanup().finally(() => process.exit(1));
}, TOTAL_TIMEOUT_MS);

try {
  await main();
  await cleanup();
  clearTimeout(watchdog);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  console.error('\nBENCHMARK FAILED (no result)');
  await cleanup();
  clearTimeout(watchdog);
  process.exit(1);
}
