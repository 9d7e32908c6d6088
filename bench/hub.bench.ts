/**
 * The hub benchmark: TrustLab's hub beside the real docker-registry (2.8) and notary-server (0.7),
 * all started in this run, each as its own process on 127.0.0.1 over TLS.
 *
 * 1. Blob upload (POST, then PUT with the whole body) and download (GET) of 1, 10 and 100 MB blobs
 *    (MB = 10^6 bytes; random content, a new blob per repetition, digests computed before timing),
 *    one at a time and 4 at a time: MB/s, median over the repetitions.
 * 2. Manifest PUT (a new tag and new content each time) and GET (by tag) per second with 50
 *    concurrent clients for BENCH_SECONDS per round; p50/p99 latency.
 * 3. Notary metadata GET (timestamp.json and targets.json, alternating) per second with 50
 *    concurrent clients, on a trust repository published with trust-core on both servers.
 *
 * Why it is fair: one load generator (bench/hub/load.ts: node:https, a keep-alive Agent with
 * maxSockets 50 trusting only the target's CA) and the same request code for every target; each
 * round runs the targets back to back in alternating order so machine noise hits both, after an
 * untimed warm-up; throughput is the median over BENCH_ROUNDS rounds and latency percentiles are
 * over every request of every round. The hub needs Docker token auth on registry requests
 * (docker-registry runs without auth): every client gets its token before timing starts, as docker
 * keeps a token until it expires, so only the hub's per-request token check is in the figures.
 * Notary metadata is read anonymously on both (the hub serves trust data without a token).
 * Differences that cannot be configured away are printed with the environment (durability: the hub
 * fsyncs, docker-registry does not, notary-server stores metadata in memory). Every response is
 * checked; a failed request aborts the run with a non-zero exit. A missed goal is reported, with a
 * CPU profile of the hub per phase (BENCH_HUB_PROFILE=auto|1|0|only), but is not an error.
 *
 * Run: npm run bench:hub   (BENCH_ROUNDS=3, BENCH_SECONDS=5, BENCH_BLOB_REPS=1 scales repetitions;
 *      BENCH_HUB_PROFILE=only profiles the hub without the comparison, BENCH_HUB_PROFILE_DIR keeps
 *      the .cpuprofile files)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';

import type { NotaryServer } from '../tests/support/index.js';
import {
  findBinary,
  makeTempDir,
  removeTempDir,
  startNotaryServer,
  startRegistry,
} from '../tests/support/index.js';
import { formatSummary, monotonicUs, summarize } from './hub/cpu-profile.js';
import type { CpuProfile, Window } from './hub/cpu-profile.js';
import type { LoadResult } from './hub/load.js';
import { closedLoop, LoadClient } from './hub/load.js';
import type { HubChild } from './hub/servers.js';
import { fetchHubToken, startHubChild } from './hub/servers.js';
import { fmt, formatTable, median, percentile } from './hub/stats.js';
import { countSyncCalls } from './hub/syscalls.js';
import type { ManifestBase, MetadataTarget, RegistryTarget } from './hub/workloads.js';
import {
  downloadBlob,
  getManifest,
  getMetadata,
  GUN,
  hubRegistryTarget,
  manifestBody,
  notaryApiAvailable,
  openRegistryTarget,
  prepareManifestBase,
  publishTrustRepository,
  putManifest,
  sha256Digest,
  uploadBlob,
} from './hub/workloads.js';

const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const SECONDS = positiveInt('BENCH_SECONDS', 5);
const BLOB_REPS = positiveInt('BENCH_BLOB_REPS', 1);
const PROFILE = process.env.BENCH_HUB_PROFILE ?? 'auto';
const CLIENTS = 50;
const MAX_REQUESTS = 500_000;
const WARMUP_MS = 1_000;
const MB = 1_000_000;
/** Blob sizes and repetitions (times BENCH_BLOB_REPS). */
const BLOB_PLAN = [
  { mb: 1, reps: 10 },
  { mb: 10, reps: 5 },
  { mb: 100, reps: 3 },
];
const CONCURRENT_BLOBS = { mb: 10, streams: 4, reps: 3 };
const GET_TAGS = 100;
const TRUST_TARGETS = 20;
const THROUGHPUT_GOAL = 0.8;
const P99_GOAL = 2;

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const log = (message: string) => process.stderr.write(`[bench:hub] ${message}\n`);

/**
 * Writes every dirty page to disk (`sync`), untimed, before each timed section: docker-registry does
 * not fsync, so without this the kernel's write-back of its blobs would land in whatever runs next
 * (often an fsync of the hub's) and one target's writes would be billed to the other.
 */
function flushDirtyPages(): void {
  const sync = findBinary('sync');
  if (sync !== undefined) execFileSync(sync, [], { timeout: 120_000, stdio: 'ignore' });
}

interface Row {
  metric: string;
  unit: string;
  hub: number | undefined;
  ref: number;
  refName: string;
  hubLatency?: { p50: number; p99: number };
  refLatency?: { p50: number; p99: number };
  /** Why the hub has no figure. */
  missing?: string;
}

/** The same round structure for every rate metric: warm-up, then ROUNDS rounds in alternating order. */
async function measureRate<T extends { label: string }>(
  what: string,
  targets: readonly [T, T],
  op: (target: T, round: number) => (client: number, seq: number) => Promise<void>,
): Promise<Map<T, { perSecond: number; latencies: number[]; rounds: LoadResult[] }>> {
  const results = new Map<T, { perSecond: number; latencies: number[]; rounds: LoadResult[] }>();
  for (const target of targets) {
    await closedLoop({
      clients: CLIENTS,
      durationMs: WARMUP_MS,
      maxRequests: MAX_REQUESTS,
      op: op(target, -1),
    });
    results.set(target, { perSecond: 0, latencies: [], rounds: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? targets : ([targets[1], targets[0]] as const);
    for (const target of order) {
      flushDirtyPages();
      const result = await closedLoop({
        clients: CLIENTS,
        durationMs: SECONDS * 1000,
        maxRequests: MAX_REQUESTS,
        op: op(target, round),
      });
      const entry = results.get(target)!;
      entry.rounds.push(result);
      for (const latency of result.latencies) entry.latencies.push(latency);
      log(
        `${what} round ${round + 1}/${ROUNDS} ${target.label}: ${fmt(result.perSecond)}/s, ` +
          `p99 ${fmt(percentile(result.latencies, 99))} ms, load generator CPU ${(100 * result.clientCpu).toFixed(0)}%`,
      );
    }
  }
  for (const entry of results.values()) entry.perSecond = median(entry.rounds.map((r) => r.perSecond));
  return results;
}

function rateRow(
  metric: string,
  hub: { perSecond: number; latencies: number[] },
  ref: { perSecond: number; latencies: number[] },
  refName: string,
): Row {
  const lat = (l: number[]) => ({ p50: percentile(l, 50), p99: percentile(l, 99) });
  return {
    metric,
    unit: 'req/s',
    hub: hub.perSecond,
    ref: ref.perSecond,
    refName,
    hubLatency: lat(hub.latencies),
    refLatency: lat(ref.latencies),
  };
}

/** A distinct blob of `size` bytes: the shared random buffer with a unique prefix, digest up front. */
function makeBlob(buffer: Buffer, tag: string): { bytes: Buffer; digest: string } {
  const prefix = Buffer.from(`${tag}:${randomBytes(16).toString('hex')}:`);
  prefix.copy(buffer, 0);
  return { bytes: buffer, digest: sha256Digest(buffer) };
}

async function benchBlobs(targets: readonly [RegistryTarget, RegistryTarget], rows: Row[]): Promise<void> {
  // Warm-up: one small upload and download on each target (connections, first-request paths).
  for (const target of targets) {
    await target.prepareAuth(CONCURRENT_BLOBS.streams);
    const blob = makeBlob(randomBytes(MB), `warmup-${target.label}`);
    await uploadBlob(target, 0, blob.bytes, blob.digest);
    await downloadBlob(target, 0, blob.digest, MB, true);
  }

  for (const { mb, reps: baseReps } of BLOB_PLAN) {
    const reps = baseReps * BLOB_REPS;
    const size = mb * MB;
    const buffer = randomFillSync(Buffer.allocUnsafe(size));
    const up = new Map<RegistryTarget, number[]>(targets.map((t) => [t, []]));
    const down = new Map<RegistryTarget, number[]>(targets.map((t) => [t, []]));
    const stored = new Map<RegistryTarget, string[]>(targets.map((t) => [t, []]));
    for (const target of targets) await target.prepareAuth(CONCURRENT_BLOBS.streams);
    for (let rep = 0; rep < reps; rep++) {
      for (const target of rep % 2 === 0 ? targets : [targets[1], targets[0]]) {
        const blob = makeBlob(buffer, `${target.label}-${mb}-${rep}`);
        flushDirtyPages();
        const t0 = performance.now();
        await uploadBlob(target, 0, blob.bytes, blob.digest);
        up.get(target)!.push(size / MB / ((performance.now() - t0) / 1000));
        stored.get(target)!.push(blob.digest);
      }
    }
    for (const target of targets) await downloadBlob(target, 0, stored.get(target)![0]!, size, true);
    for (let rep = 0; rep < reps; rep++) {
      for (const target of rep % 2 === 0 ? targets : [targets[1], targets[0]]) {
        flushDirtyPages();
        const t0 = performance.now();
        await downloadBlob(target, 0, stored.get(target)![rep]!, size);
        down.get(target)!.push(size / MB / ((performance.now() - t0) / 1000));
      }
    }
    const [hub, ref] = targets;
    for (const [kind, map] of [
      ['upload', up],
      ['download', down],
    ] as const) {
      log(
        `blob ${kind} ${mb} MB: ${targets.map((t) => `${t.label} ${map.get(t)!.map(fmt).join(' ')}`).join(' | ')} MB/s`,
      );
      rows.push({
        metric: `blob ${kind} ${mb} MB, 1 stream (${reps} reps)`,
        unit: 'MB/s',
        hub: median(map.get(hub)!),
        ref: median(map.get(ref)!),
        refName: ref.label,
      });
    }
  }

  // 4 uploads (then 4 downloads) at once, aggregate MB/s.
  const { mb, streams, reps } = CONCURRENT_BLOBS;
  const size = mb * MB;
  const buffers = Array.from({ length: streams }, () => randomFillSync(Buffer.allocUnsafe(size)));
  const up = new Map<RegistryTarget, number[]>(targets.map((t) => [t, []]));
  const down = new Map<RegistryTarget, number[]>(targets.map((t) => [t, []]));
  const stored = new Map<RegistryTarget, string[][]>(targets.map((t) => [t, []]));
  for (const target of targets) await target.prepareAuth(streams);
  for (let rep = 0; rep < reps * BLOB_REPS; rep++) {
    for (const target of rep % 2 === 0 ? targets : [targets[1], targets[0]]) {
      const blobs = buffers.map((b, i) => makeBlob(b, `${target.label}-c${mb}-${rep}-${i}`));
      flushDirtyPages();
      const t0 = performance.now();
      await Promise.all(blobs.map((blob, i) => uploadBlob(target, i, blob.bytes, blob.digest)));
      up.get(target)!.push((streams * size) / MB / ((performance.now() - t0) / 1000));
      stored.get(target)!.push(blobs.map((b) => b.digest));
    }
  }
  for (let rep = 0; rep < reps * BLOB_REPS; rep++) {
    for (const target of rep % 2 === 0 ? targets : [targets[1], targets[0]]) {
      const digests = stored.get(target)![rep]!;
      flushDirtyPages();
      const t0 = performance.now();
      await Promise.all(digests.map((digest, i) => downloadBlob(target, i, digest, size)));
      down.get(target)!.push((streams * size) / MB / ((performance.now() - t0) / 1000));
    }
  }
  const [hub, ref] = targets;
  for (const [kind, map] of [
    ['upload', up],
    ['download', down],
  ] as const) {
    log(
      `blob ${kind} ${streams}x${mb} MB: ${targets.map((t) => `${t.label} ${map.get(t)!.map(fmt).join(' ')}`).join(' | ')} MB/s`,
    );
    rows.push({
      metric: `blob ${kind} ${mb} MB, ${streams} streams (${reps * BLOB_REPS} reps)`,
      unit: 'MB/s',
      hub: median(map.get(hub)!),
      ref: median(map.get(ref)!),
      refName: ref.label,
    });
  }
}

interface ManifestState {
  base: ManifestBase;
  getLengths: number[];
}

async function prepareManifests(target: RegistryTarget): Promise<ManifestState> {
  await target.prepareAuth(CLIENTS);
  const base = await prepareManifestBase(target, randomBytes(16));
  const getLengths: number[] = [];
  for (let i = 0; i < GET_TAGS; i++) {
    const body = manifestBody(base, `get-${i}`);
    await putManifest(target, 0, `get-${i}`, body);
    getLengths.push(body.length);
  }
  return { base, getLengths };
}

const putOp = (state: Map<RegistryTarget, ManifestState>) => (target: RegistryTarget, round: number) => {
  const { base } = state.get(target)!;
  const r = round < 0 ? 'w' : String(round);
  return (client: number, seq: number) =>
    putManifest(
      target,
      client,
      `p${r}-${client}-${seq}`,
      manifestBody(base, `${target.label}/${r}/${client}/${seq}`),
    );
};

const getOp = (state: Map<RegistryTarget, ManifestState>) => (target: RegistryTarget) => {
  const { getLengths } = state.get(target)!;
  return (client: number, seq: number) => {
    const n = (client * 7 + seq) % GET_TAGS;
    return getManifest(target, client, `get-${n}`, getLengths[n]!);
  };
};

async function benchManifests(
  targets: readonly [RegistryTarget, RegistryTarget],
  rows: Row[],
): Promise<void> {
  const state = new Map<RegistryTarget, ManifestState>();
  for (const target of targets) state.set(target, await prepareManifests(target));
  for (const target of targets) await target.prepareAuth(CLIENTS);
  const put = await measureRate('manifest PUT', targets, putOp(state));
  rows.push(
    rateRow('manifest PUT, 50 clients', put.get(targets[0])!, put.get(targets[1])!, targets[1].label),
  );
  for (const target of targets) await target.prepareAuth(CLIENTS);
  const get = await measureRate('manifest GET', targets, getOp(state));
  rows.push(
    rateRow('manifest GET, 50 clients', get.get(targets[0])!, get.get(targets[1])!, targets[1].label),
  );
}

async function benchMetadata(
  hub: HubChild,
  hubClient: LoadClient,
  notary: NotaryServer,
  notaryClient: LoadClient,
  rows: Row[],
): Promise<{ hubAvailable: boolean; detail: string }> {
  const trustDir = await makeTempDir('bench-hub-trust');
  try {
    const reference = await publishTrustRepository({
      label: 'notary-server',
      client: notaryClient,
      url: notary.url,
      caPem: notary.caPem,
      trustDir: path.join(trustDir, 'notary-server'),
      targets: TRUST_TARGETS,
    });
    const probe = await notaryApiAvailable(hubClient);
    if (!probe.ok) {
      // Still measure the reference, so the run shows what the hub will be compared with.
      const only = await closedLoop({
        clients: CLIENTS,
        durationMs: SECONDS * 1000,
        maxRequests: MAX_REQUESTS,
        op: (_c, seq) => getMetadata(reference, seq),
      });
      rows.push({
        metric: 'notary metadata GET, 50 clients',
        unit: 'req/s',
        hub: undefined,
        ref: only.perSecond,
        refName: 'notary-server',
        refLatency: { p50: percentile(only.latencies, 50), p99: percentile(only.latencies, 99) },
        missing: 'hub notary API: not available',
      });
      return { hubAvailable: false, detail: probe.detail };
    }
    const token = await fetchHubToken(hubClient, `repository:${GUN}:push,pull`);
    const ours = await publishTrustRepository({
      label: 'hub',
      client: hubClient,
      url: hub.url,
      caPem: hub.caPem,
      trustDir: path.join(trustDir, 'hub'),
      targets: TRUST_TARGETS,
      token,
    });
    const sizes = (t: MetadataTarget) =>
      t.files.map((f) => `${path.basename(f.path)} ${f.length} B`).join(', ');
    log(`trust data: hub ${sizes(ours)}; notary-server ${sizes(reference)}`);
    const result = await measureRate(
      'metadata GET',
      [ours, reference] as const,
      (target) => (_c, seq) => getMetadata(target, seq),
    );
    rows.push(
      rateRow('notary metadata GET, 50 clients', result.get(ours)!, result.get(reference)!, 'notary-server'),
    );
    return { hubAvailable: true, detail: probe.detail };
  } finally {
    await removeTempDir(trustDir);
  }
}

function goalOf(row: Row): { text: string; met: boolean | undefined } {
  if (row.hub === undefined) return { text: 'n/a', met: undefined };
  const ratio = row.hub / row.ref;
  const misses: string[] = [];
  if (ratio < THROUGHPUT_GOAL) misses.push(`throughput < ${THROUGHPUT_GOAL}`);
  if (row.hubLatency && row.refLatency && row.hubLatency.p99 / row.refLatency.p99 > P99_GOAL) {
    misses.push(`p99 > ${P99_GOAL}x`);
  }
  return misses.length === 0
    ? { text: 'met', met: true }
    : { text: `MISSED (${misses.join(', ')})`, met: false };
}

function printTable(rows: Row[]): void {
  const latency = (l: { p50: number; p99: number } | undefined) =>
    l ? `${fmt(l.p50)} / ${fmt(l.p99)}` : '-';
  const table = rows.map((row) => [
    row.metric,
    row.unit,
    row.hub === undefined ? (row.missing ?? 'n/a') : fmt(row.hub),
    `${fmt(row.ref)} (${row.refName})`,
    row.hub === undefined ? '-' : (row.hub / row.ref).toFixed(2),
    latency(row.hubLatency),
    latency(row.refLatency),
    row.hubLatency && row.refLatency ? (row.hubLatency.p99 / row.refLatency.p99).toFixed(2) : '-',
    goalOf(row).text,
  ]);
  console.log(
    formatTable(
      [
        'metric',
        'unit',
        'hub',
        'reference',
        'ratio',
        'hub p50/p99 ms',
        'ref p50/p99 ms',
        'p99 ratio',
        'goal',
      ],
      table,
    ),
  );
  console.log(
    `\nratio = hub / reference throughput (goal >= ${THROUGHPUT_GOAL}); p99 ratio = hub p99 / reference p99 (goal <= ${P99_GOAL}).`,
  );
}

function versionOf(binary: string, args: string[]): string {
  const found = findBinary(binary);
  if (found === undefined) return 'missing';
  try {
    const out = execFileSync(found, args, {
      encoding: 'utf8',
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.trim().split('\n')[0] ?? '';
  } catch (error) {
    const out = (error as { stdout?: string; stderr?: string }).stdout ?? '';
    return out.trim().split('\n')[0] ?? 'unknown';
  }
}

function printEnvironment(): void {
  const cpu = cpus();
  console.log('environment:');
  console.log(
    `  CPU: ${cpu.length} x ${cpu[0]?.model ?? 'unknown'}, memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  );
  console.log(
    `  node ${process.version}; docker-registry: ${versionOf('docker-registry', ['--version'])}; notary-server: ${versionOf('notary-server', ['-version'])}`,
  );
  console.log(
    `  load generator: this process, node:https keep-alive Agent (maxSockets ${CLIENTS}) per target, ${CLIENTS} closed-loop clients for rate metrics`,
  );
  console.log(
    `  rounds: ${ROUNDS} x ${SECONDS} s per rate metric and target (after a ${WARMUP_MS} ms warm-up), alternating order; rate = median round, latency = all requests`,
  );
  console.log('  all servers: separate processes on 127.0.0.1, TLS with ECDSA P-256 certificates');
  console.log(
    '  auth: hub ON (Docker bearer tokens, fetched before timing; verified per request), docker-registry OFF; notary metadata read anonymously on both',
  );
  console.log(
    '  durability: hub fsyncs blobs and commits SQLite (WAL, synchronous=FULL) for content (request records: batched, synchronous=NORMAL); docker-registry filesystem driver does not fsync; notary-server uses its in-memory store; `sync` (untimed) before every timed section',
  );
}

// --- profile pass --------------------------------------------------------------------------------

interface PhaseRun {
  requests: number;
  window: Window;
}

interface ProfilePhase {
  name: string;
  run: (target: RegistryTarget, hub: HubChild, client: LoadClient) => Promise<PhaseRun>;
}

/** Runs the timed part of a profile phase, noting its span on the monotonic clock. */
async function timedWindow(work: () => Promise<number>): Promise<PhaseRun> {
  const startUs = monotonicUs();
  const requests = await work();
  return { requests, window: { startUs, endUs: monotonicUs() } };
}

const loadFor = (op: (client: number, seq: number) => Promise<void>) => async () =>
  (await closedLoop({ clients: CLIENTS, durationMs: SECONDS * 1000, maxRequests: MAX_REQUESTS, op })).count;

const PROFILE_PHASES: ProfilePhase[] = [
  {
    name: 'manifest PUT',
    run: async (target) => {
      const state = new Map([[target, await prepareManifests(target)]]);
      await target.prepareAuth(CLIENTS);
      return timedWindow(loadFor(putOp(state)(target, 0)));
    },
  },
  {
    name: 'manifest GET',
    run: async (target) => {
      const state = new Map([[target, await prepareManifests(target)]]);
      await target.prepareAuth(CLIENTS);
      return timedWindow(loadFor(getOp(state)(target)));
    },
  },
  {
    name: 'notary metadata GET',
    run: async (_target, hub, client) => {
      const trustDir = await makeTempDir('bench-hub-trust');
      try {
        const probe = await notaryApiAvailable(client);
        if (!probe.ok) throw new Error(`hub notary API: not available (${probe.detail})`);
        const token = await fetchHubToken(client, `repository:${GUN}:push,pull`);
        const meta = await publishTrustRepository({
          label: 'hub',
          client,
          url: hub.url,
          caPem: hub.caPem,
          trustDir,
          targets: TRUST_TARGETS,
          token,
        });
        return timedWindow(loadFor((_c, seq) => getMetadata(meta, seq)));
      } finally {
        await removeTempDir(trustDir);
      }
    },
  },
  {
    name: 'blob upload+download 10 MB x 10',
    run: async (target) => {
      await target.prepareAuth(1);
      const buffer = randomFillSync(Buffer.allocUnsafe(10 * MB));
      const blobs = Array.from({ length: 10 }, (_, i) => {
        const blob = makeBlob(buffer, `profile-${i}`);
        return { bytes: Buffer.from(blob.bytes), digest: blob.digest };
      });
      return timedWindow(async () => {
        for (const blob of blobs) {
          await uploadBlob(target, 0, blob.bytes, blob.digest);
          await downloadBlob(target, 0, blob.digest, blob.bytes.length);
        }
        return 2 * blobs.length;
      });
    },
  },
];

/** One profiled hub child per phase (fresh data dir), then fsync counts per request under strace. */
async function profileHub(): Promise<void> {
  const keep = process.env.BENCH_HUB_PROFILE_DIR;
  const dir = keep ? path.resolve(keep) : await makeTempDir('bench-hub-profile');
  if (keep) await mkdir(dir, { recursive: true });
  try {
    for (const phase of PROFILE_PHASES) {
      const profileDir = path.join(dir, phase.name.replace(/[^a-z0-9]+/gi, '-'));
      const hub = await startHubChild({ cpuProfileDir: profileDir });
      const client = new LoadClient(hub.url, hub.caPem, CLIENTS);
      let run: PhaseRun;
      try {
        run = await phase.run(hubRegistryTarget('hub', client), hub, client);
      } finally {
        client.close();
        await hub.stop();
      }
      // One profile per thread: the main thread's is the one with the hub's request handling in it
      // (tsx's module loader thread writes its own).
      const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
      let profile: CpuProfile | undefined;
      for (const file of files) {
        const candidate = JSON.parse(await readFile(path.join(profileDir, file), 'utf8')) as CpuProfile;
        if (candidate.nodes.some((n) => n.callFrame.url.endsWith('/hub/src/server.ts'))) profile = candidate;
      }
      if (profile === undefined) throw new Error(`no main-thread profile of the hub in ${profileDir}`);
      console.log(
        `\n${formatSummary(`profile: ${phase.name}`, summarize(profile, run.window), run.requests)}`,
      );
    }

    // fsync census: one unprofiled hub, strace attached, a fixed number of each request kind.
    const hub = await startHubChild();
    const client = new LoadClient(hub.url, hub.caPem, CLIENTS);
    try {
      const target = hubRegistryTarget('hub', client);
      const state = new Map([[target, await prepareManifests(target)]]);
      await target.prepareAuth(CLIENTS);
      const census: string[] = [];
      const count = async (name: string, n: number, op: (c: number, seq: number) => Promise<void>) => {
        const sync = await countSyncCalls(hub.daemon.pid, async () => {
          await closedLoop({ clients: 10, durationMs: 60_000, maxRequests: n, op });
        });
        census.push(
          sync === undefined
            ? `${name}: strace unavailable`
            : `${name}: ${((sync.fsync + sync.fdatasync) / n).toFixed(2)} fsync+fdatasync per request ` +
                `(${sync.fsync} fsync, ${sync.fdatasync} fdatasync over ${n}; ${sync.meanUs.toFixed(0)} µs each, wall, under strace)`,
        );
      };
      await count('manifest PUT', 200, putOp(state)(target, 99));
      await count('manifest GET', 200, getOp(state)(target));
      const buffer = randomFillSync(Buffer.allocUnsafe(MB));
      await count('blob upload 1 MB (POST+PUT)', 20, async (c, seq) => {
        const blob = makeBlob(Buffer.from(buffer), `census-${c}-${seq}`);
        await uploadBlob(target, c, blob.bytes, blob.digest);
      });
      console.log(
        `\nfsync census on the hub (strace -c, outside every timed section):\n  ${census.join('\n  ')}`,
      );
    } finally {
      client.close();
      await hub.stop();
    }
  } finally {
    if (keep) console.log(`\nprofiles kept in ${dir}`);
    else await removeTempDir(dir);
  }
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const started = performance.now();
  if (PROFILE === 'only') {
    await profileHub();
    return 0;
  }
  try {
    log('starting the hub child, docker-registry and notary-server');
    const [hub, registry, notary] = await Promise.all([
      startHubChild(),
      startRegistry(),
      startNotaryServer(),
    ]);
    cleanups.push(
      () => hub.stop(),
      () => registry.stop(),
      () => notary.stop(),
    );
    const hubClient = new LoadClient(hub.url, hub.caPem, CLIENTS);
    const registryClient = new LoadClient(registry.url, registry.caPem, CLIENTS);
    const notaryClient = new LoadClient(notary.url, notary.caPem, CLIENTS);
    cleanups.push(
      () => hubClient.close(),
      () => registryClient.close(),
      () => notaryClient.close(),
    );
    const targets = [
      hubRegistryTarget('hub', hubClient),
      openRegistryTarget('docker-registry', registryClient),
    ] as const;

    const rows: Row[] = [];
    log('blobs');
    await benchBlobs(targets, rows);
    log('manifests');
    await benchManifests(targets, rows);
    log('notary metadata');
    const notaryStatus = await benchMetadata(hub, hubClient, notary, notaryClient, rows);

    console.log(`\nhub benchmark (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    printEnvironment();
    console.log(
      `  hub Notary API: ${notaryStatus.hubAvailable ? 'available' : 'NOT available'} (${notaryStatus.detail})\n`,
    );
    printTable(rows);
    if (!notaryStatus.hubAvailable) console.log('hub notary API: not available');

    const missed = rows.filter((row) => goalOf(row).met === false);
    console.log(
      missed.length === 0
        ? '\nall goals met'
        : `\n${missed.length} of ${rows.length} rows miss the goal: ${missed.map((r) => r.metric).join('; ')}`,
    );
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    if (PROFILE === '1' || (PROFILE === 'auto' && missed.length > 0)) {
      log('profiling the hub child per phase (BENCH_HUB_PROFILE=0 to skip)');
      await profileHub();
    }
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('[bench:hub] cleanup failed:', error);
      }
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    console.error('BENCHMARK FAILED (no result)');
    process.exit(1);
  },
);
