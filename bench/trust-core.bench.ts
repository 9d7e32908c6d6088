/**
 * The trust-core benchmark: trust-core beside the real notary 0.7 CLI, on the same repository of
 * 10,000 targets on the same real notary-server (loopback, TLS), measured in the same run.
 *
 * 1. Verify from a cold cache: `notary -d <fresh dir> list <gun>` against trust-core's
 *    update() + listTargets() with a fresh trust dir, (a) in this process and (b) as a fresh
 *    process (bench/trust-core-list.ts), which is the like-for-like comparison with the CLI.
 * 2. Sign and publish one new target, warm cache: `notary -d <dir with keys> add <gun> <name>
 *    <file> -p` against trust-core's edit() + addTarget() + publish(), again in-process and as a
 *    fresh process (bench/trust-core-add.ts). Both sides decrypt their key files every run.
 *
 * Why it is fair: both sides talk to the same server over the same TLS loopback, both process
 * figures are wall time from spawn to exit with the same minimal environment (the harness's
 * runCommand, same passphrase variables), every measured round runs all sides back to back in a
 * rotating order so machine noise hits them alike, the first round is a discarded warm-up (OS page
 * cache, tsx's transpile cache, the server's first requests), and the figures are medians and
 * minimums over BENCH_RUNS rounds. The ratio is ours / notary (below 1.0: we are faster). Every
 * timed run is checked (exit code, number of targets listed) so a failing step never looks like a
 * result; the process exits non-zero on any failure.
 *
 * Run: npm run bench:trust-core   (BENCH_RUNS=7 measured rounds by default; BENCH_TARGETS=10000;
 * BENCH_PROFILE=<dir> adds an untimed profile pass afterwards, see bench/profile.ts)
 */
import { cpus, totalmem } from 'node:os';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { FileMeta } from '../trust-core/src/models/file-meta.js';
import type { NotaryServer, RunResult } from '../tests/support/index.js';
import {
  baseEnv,
  makeTempDir,
  notaryPassphraseEnv,
  removeTempDir,
  requireBinary,
  runCommand,
  startNotaryServer,
} from '../tests/support/index.js';
import { runProfilePass } from './profile.js';
import type { Stats } from './support.js';
import {
  bundle,
  formatTable,
  mib,
  ms,
  openRepository,
  parseChildReport,
  passphrasesFromEnv,
  PROJECT_ROOT,
  stats,
} from './support.js';

const RUNS = positiveInt('BENCH_RUNS', 7);
const TARGETS = positiveInt('BENCH_TARGETS', 10_000);
const GUN = 'example.com/trustlab/bench';
const CHILD_TIMEOUT_MS = 120_000;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** GC between runs (never inside a timed section), so one run's garbage is not billed to the next. */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const tagName = (i: number) => `tag-${String(i).padStart(5, '0')}`;
const encoder = new TextEncoder();

function check(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code ?? result.signal}\nstdout:\n${result.stdout.slice(-2000)}\nstderr:\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** Rows of `notary list`: name, 64-hex sha256, size, role. */
function countListRows(stdout: string): number {
  let rows = 0;
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length === 4 && /^[0-9a-f]{64}$/.test(cols[1]!)) rows++;
  }
  return rows;
}

/** Samples this process's RSS while our in-process runs execute (peak, for the memory note). */
class RssSampler {
  peakRss = 0;
  peakHeapUsed = 0;
  private timer: NodeJS.Timeout | undefined;

  sample(): void {
    const usage = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, usage.rss);
    this.peakHeapUsed = Math.max(this.peakHeapUsed, usage.heapUsed);
  }

  async during<T>(work: () => Promise<T>): Promise<T> {
    this.timer = setInterval(() => this.sample(), 5);
    try {
      return await work();
    } finally {
      clearInterval(this.timer);
      this.sample();
    }
  }
}

interface Context {
  server: NotaryServer;
  caPem: string;
  work: string;
  notary: string;
  /** The environment of every child, ours and notary's alike. */
  env: NodeJS.ProcessEnv;
  sampler: RssSampler;
  /** Our fresh-process sides, bundled ahead of time as a shipped command would be. */
  bundles: { list: string; add: string };
}

let dirCounter = 0;
async function freshDir(ctx: Context, label: string): Promise<string> {
  const dir = path.join(ctx.work, `${label}-${++dirCounter}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function runNotaryTimed(ctx: Context, trustDir: string, args: readonly string[]): Promise<RunResult> {
  return runCommand(
    ctx.notary,
    ['-d', trustDir, '-s', ctx.server.url, '--tlscacert', ctx.server.caCertPath, ...args],
    { env: ctx.env, cwd: ctx.work, timeoutMs: CHILD_TIMEOUT_MS },
  );
}

function runNodeTimed(ctx: Context, args: readonly string[]): Promise<RunResult> {
  return runCommand(process.execPath, args, { env: ctx.env, cwd: PROJECT_ROOT, timeoutMs: CHILD_TIMEOUT_MS });
}

function repoFor(ctx: Context, trustDir: string) {
  return openRepository({
    server: ctx.server.url,
    caPem: ctx.caPem,
    gun: GUN,
    trustDir,
    passphrases: passphrasesFromEnv(ctx.env),
  });
}

/** One publish of TARGETS targets, made by trust-core (not timed against anything). */
async function createRepository(ctx: Context, trustDir: string): Promise<number> {
  const started = performance.now();
  const repo = repoFor(ctx, trustDir);
  try {
    const editor = await repo.initialize();
    for (let i = 1; i <= TARGETS; i++) {
      const name = tagName(i);
      editor.addTarget(name, FileMeta.forBytes(encoder.encode(`content of ${name}\n`)));
    }
    const files = await repo.publish(editor);
    if (!files.has('targets')) throw new Error('the initial publish uploaded no targets.json');
  } finally {
    repo.close();
  }
  return performance.now() - started;
}

async function oursListInProcess(ctx: Context): Promise<number> {
  const trustDir = await freshDir(ctx, 'ours-list');
  collectGarbage();
  const started = performance.now();
  const count = await ctx.sampler.during(async () => {
    const repo = repoFor(ctx, trustDir);
    try {
      return (await repo.update()).listTargets().length;
    } finally {
      repo.close();
    }
  });
  const elapsed = performance.now() - started;
  if (count !== expectedCount.value) fail(`ours listed ${count} targets`);
  return elapsed;
}

/** How many targets the repository holds right now (grows by one per add). */
const expectedCount = { value: TARGETS };

function fail(message: string): never {
  throw new Error(`${message}, expected ${expectedCount.value}`);
}

/** Per fresh-process run: peak RSS, time until our code ran (start-up), and time of our work. */
interface ChildFigures {
  rss: number[];
  startupMs: number[];
  workMs: number[];
}
const childFigures = (): ChildFigures => ({ rss: [], startupMs: [], workMs: [] });

function record(figures: ChildFigures, stdout: string, round: number) {
  const report = parseChildReport(stdout);
  if (round > 0) {
    figures.rss.push(report.maxRssKiB * 1024);
    figures.startupMs.push(report.sections?.startupMs ?? NaN);
    figures.workMs.push(report.sections?.workMs ?? NaN);
  }
  return report;
}

async function oursListProcess(ctx: Context, figures: ChildFigures, round: number): Promise<number> {
  const trustDir = await freshDir(ctx, 'ours-proc-list');
  const result = check(
    await runNodeTimed(ctx, [ctx.bundles.list, ctx.server.url, ctx.server.caCertPath, GUN, trustDir]),
    'bench/trust-core-list.ts',
  );
  const report = record(figures, result.stdout, round);
  if (report.count !== expectedCount.value) fail(`bench/trust-core-list.ts listed ${report.count}`);
  return result.durationMs;
}

async function theirsList(ctx: Context): Promise<number> {
  const trustDir = await freshDir(ctx, 'notary-list');
  const result = check(await runNotaryTimed(ctx, trustDir, ['list', GUN]), 'notary list');
  const rows = countListRows(result.stdout);
  if (rows !== expectedCount.value) fail(`notary list printed ${rows} rows`);
  return result.durationMs;
}

async function startupFloor(ctx: Context, withTsx: boolean): Promise<number> {
  const args = withTsx ? ['--import', 'tsx', '-e', ''] : ['-e', ''];
  return check(await runNodeTimed(ctx, args), `node ${args.join(' ')}`).durationMs;
}

async function payload(ctx: Context, name: string): Promise<string> {
  const file = path.join(ctx.work, `${name}.bin`);
  await writeFile(file, `payload of ${name}\n`);
  return file;
}

async function oursAddInProcess(ctx: Context, trustDir: string, name: string): Promise<number> {
  const file = await payload(ctx, name);
  collectGarbage();
  const started = performance.now();
  await ctx.sampler.during(async () => {
    const repo = repoFor(ctx, trustDir);
    try {
      const meta = FileMeta.forBytes(new Uint8Array(await readFile(file)));
      const editor = await repo.edit();
      editor.addTarget(name, meta);
      const files = await repo.publish(editor);
      if (!files.has('targets')) throw new Error('our publish uploaded no targets.json');
    } finally {
      repo.close();
    }
  });
  const elapsed = performance.now() - started;
  expectedCount.value++;
  return elapsed;
}

async function oursAddProcess(
  ctx: Context,
  trustDir: string,
  name: string,
  figures: ChildFigures,
  round: number,
) {
  const file = await payload(ctx, name);
  const result = check(
    await runNodeTimed(ctx, [
      ctx.bundles.add,
      ctx.server.url,
      ctx.server.caCertPath,
      GUN,
      trustDir,
      name,
      file,
    ]),
    'bench/trust-core-add.ts',
  );
  record(figures, result.stdout, round);
  expectedCount.value++;
  return result.durationMs;
}

async function theirsAdd(ctx: Context, trustDir: string, name: string): Promise<number> {
  const file = await payload(ctx, name);
  const result = check(await runNotaryTimed(ctx, trustDir, ['add', GUN, name, file, '-p']), 'notary add -p');
  expectedCount.value++;
  return result.durationMs;
}

/** Runs each side once per round, rotating who goes first; round 0 is the discarded warm-up. */
async function alternate(
  label: string,
  sides: ReadonlyArray<{ key: string; run: (round: number) => Promise<number> }>,
): Promise<Map<string, Stats>> {
  const samples = new Map(sides.map((s) => [s.key, [] as number[]]));
  for (let round = 0; round <= RUNS; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    const line: string[] = [];
    for (const side of order) {
      const elapsed = await side.run(round);
      if (round > 0) samples.get(side.key)!.push(elapsed);
      line.push(`${side.key} ${ms(elapsed)}`);
    }
    console.log(`  ${label} ${round === 0 ? 'warm-up' : `round ${round}/${RUNS}`}: ${line.join(', ')} ms`);
  }
  return new Map([...samples].map(([key, values]) => [key, stats(values)]));
}

function ratio(ours: number, theirs: number): string {
  return (ours / theirs).toFixed(2);
}

async function main(): Promise<void> {
  const notary = requireBinary('notary');
  requireBinary('notary-server');
  const cpuList = cpus();
  console.log('trust-core benchmark');
  console.log(
    `  node ${process.version}, ${process.platform}/${process.arch}, ${cpuList.length} CPU(s) (${cpuList[0]?.model.trim() ?? 'unknown'}), ${mib(totalmem())} MiB RAM`,
  );
  console.log(`  notary: ${notary}; ${TARGETS} targets; ${RUNS} measured rounds + 1 warm-up per operation`);

  const server = await startNotaryServer({ maxLifetimeMs: 60 * 60_000 });
  const work = await makeTempDir('bench-trust-core');
  const home = path.join(work, 'home');
  await mkdir(home);
  const ctx: Context = {
    server,
    caPem: server.caPem,
    work,
    notary,
    env: { ...baseEnv(home), ...notaryPassphraseEnv() },
    sampler: new RssSampler(),
    bundles: {
      list: await bundle('bench/trust-core-list.ts', work),
      add: await bundle('bench/trust-core-add.ts', work),
    },
  };
  try {
    // 1. The repository: one trust-core publish of TARGETS targets, then sanity checks (not timed).
    const creatorDir = path.join(work, 'creator');
    const setupMs = await createRepository(ctx, creatorDir);
    console.log(
      `  setup: trust-core created and published ${TARGETS} targets in ${ms(setupMs)} ms (not compared)`,
    );
    const sanity = check(
      await runNotaryTimed(ctx, await freshDir(ctx, 'sanity'), ['list', GUN]),
      'notary list',
    );
    const rows = countListRows(sanity.stdout);
    if (rows !== TARGETS) throw new Error(`sanity: notary list printed ${rows} rows, expected ${TARGETS}`);
    console.log(`  sanity: real notary list shows ${rows} targets`);

    // 2. Verify from a cold cache.
    const listChild = childFigures();
    const verify = await alternate('verify', [
      { key: 'notary', run: () => theirsList(ctx) },
      { key: 'ours', run: () => oursListInProcess(ctx) },
      { key: 'ours-proc', run: (r) => oursListProcess(ctx, listChild, r) },
      { key: 'node', run: () => startupFloor(ctx, false) },
      { key: 'node+tsx', run: () => startupFloor(ctx, true) },
    ]);

    // 3. Sign and publish one new target, warm cache. Each side keeps its own trust dir holding the
    //    same key files (copied from the creator), its cache warmed once before the warm-up round.
    const theirsDir = path.join(work, 'notary-signer');
    await cp(path.join(creatorDir, 'private'), path.join(theirsDir, 'private'), { recursive: true });
    check(await runNotaryTimed(ctx, theirsDir, ['list', GUN]), 'notary list (warming its cache)');
    const warm = repoFor(ctx, creatorDir);
    await warm.update();
    warm.close();
    const addChild = childFigures();
    const add = await alternate('add', [
      { key: 'notary', run: (r) => theirsAdd(ctx, theirsDir, `new-notary-${r}`) },
      { key: 'ours', run: (r) => oursAddInProcess(ctx, creatorDir, `new-ours-${r}`) },
      { key: 'ours-proc', run: (r) => oursAddProcess(ctx, creatorDir, `new-proc-${r}`, addChild, r) },
    ]);

    // Every add landed, and both clients agree on the final repository.
    const finalNotary = countListRows(
      check(await runNotaryTimed(ctx, await freshDir(ctx, 'final'), ['list', GUN]), 'final notary list')
        .stdout,
    );
    const finalRepo = repoFor(ctx, await freshDir(ctx, 'final-ours'));
    const final = await finalRepo.update();
    finalRepo.close();
    for (let r = 0; r <= RUNS; r++) {
      for (const name of [`new-notary-${r}`, `new-ours-${r}`, `new-proc-${r}`]) {
        if (!final.lookupForPull(name)) throw new Error(`after the adds, ${name} is missing`);
      }
    }
    const finalOurs = final.listTargets().length;
    if (finalNotary !== expectedCount.value || finalOurs !== expectedCount.value) {
      throw new Error(
        `after the adds: notary lists ${finalNotary}, trust-core ${finalOurs}, expected ${expectedCount.value}`,
      );
    }
    console.log(`  sanity: after the adds both clients list ${finalOurs} targets`);

    // 4. The table.
    const v = (k: string) => verify.get(k)!;
    const a = (k: string) => add.get(k)!;
    const row = (operation: string, ours: Stats, theirs: Stats | undefined) => [
      operation,
      ms(ours.median),
      ms(ours.min),
      theirs ? ms(theirs.median) : '-',
      theirs ? ms(theirs.min) : '-',
      theirs ? ratio(ours.median, theirs.median) : '-',
      theirs ? ratio(ours.min, theirs.min) : '-',
    ];
    console.log('');
    console.log(
      formatTable(
        ['operation', 'ours med', 'ours min', 'notary med', 'notary min', 'ratio med', 'ratio min'],
        [
          row(`verify ${TARGETS} targets, cold cache, in-process`, v('ours'), v('notary')),
          row(`verify ${TARGETS} targets, cold cache, fresh process`, v('ours-proc'), v('notary')),
          row('sign + publish 1 target, warm cache, in-process', a('ours'), a('notary')),
          row('sign + publish 1 target, warm cache, fresh process', a('ours-proc'), a('notary')),
          row('(floor) start node, no work', v('node'), undefined),
          row('(floor) start node --import tsx, no work', v('node+tsx'), undefined),
        ],
      ),
    );
    console.log('  times in ms, wall clock; ratio = ours / notary (below 1.00: trust-core is faster)');
    console.log('');
    const median = (values: number[]) => stats(values).median;
    const profileDir = process.env.BENCH_PROFILE;
    console.log(
      `  memory: in-process runs peaked at ${mib(ctx.sampler.peakRss)} MiB RSS (sampled every 5 ms and after each run; ` +
        `heap used peak ${mib(ctx.sampler.peakHeapUsed)} MiB; this process also holds the setup and the harness); ` +
        `fresh-process peak RSS (median): list ${mib(median(listChild.rss))} MiB, add ${mib(median(addChild.rss))} MiB`,
    );
    for (const [what, figures] of [
      ['verify', listChild],
      ['add', addChild],
    ] as const) {
      console.log(
        `  fresh-process ${what} (median): ${ms(median(figures.startupMs))} ms until our code runs ` +
          `(node + loading the bundle), then ${ms(median(figures.workMs))} ms of work`,
      );
    }

    // 5. Optional: where our time goes (not part of the figures above).
    if (profileDir) {
      console.log(`\nprofile pass (BENCH_PROFILE=${profileDir}; not timed against notary)\n`);
      const report = await runProfilePass(path.resolve(profileDir), {
        open: (trustDir) => repoFor(ctx, trustDir),
        freshDir: (label) => freshDir(ctx, label),
        signerDir: creatorDir,
        runChildProfiled: async (dir, script, args) => {
          const flags = [
            '--cpu-prof',
            '--cpu-prof-dir',
            dir,
            '--cpu-prof-interval',
            '100',
            '--import',
            'tsx',
          ];
          check(await runNodeTimed(ctx, [...flags, script, ...args]), `${script} (profiled)`);
        },
        server: ctx.server.url,
        caCertPath: ctx.server.caCertPath,
        gun: GUN,
        added: () => expectedCount.value++,
      });
      console.log(report);
    }
  } finally {
    await server.stop();
    await removeTempDir(work);
  }
}

main().catch((error: unknown) => {
  console.error(
    '\nBENCHMARK FAILED (no result):',
    error instanceof Error ? (error.stack ?? error.message) : error,
  );
  process.exitCode = 1;
});
