/**
 * The benchmark's optional profile pass (BENCH_PROFILE=<dir>), run after the timed rounds and never
 * counted in the table: where the time of our two operations goes.
 *
 * - Sections, in-process: the wall time of the parts of one cold verify (HTTP fetches, cache
 *   writes, the rest = parse + verify) and of one add (edit = update + editor, addTarget, key
 *   decryption, signing, upload), by wrapping the repository's remote, cache and signer source.
 * - CPU profiles: one in-process run of each via the inspector, and one fresh-process run of each
 *   child script with `node --cpu-prof`, summarised by bench/cpu-profile-summary.ts; the raw
 *   .cpuprofile files stay in <dir> for a flame graph (Chrome DevTools, speedscope).
 *
 * The wrappers add a few microseconds per call (a handful of calls per operation), so the sections
 * add up to the plain run's time within noise.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

import type { PublicKey } from '../trust-core/src/crypto/keys.js';
import type { Signer } from '../trust-core/src/crypto/signatures.js';
import { FileMeta } from '../trust-core/src/models/file-meta.js';
import type { NotaryRepository } from '../trust-core/src/node/index.js';
import type { CpuProfile } from './cpu-profile-summary.js';
import { formatSummary, summarize, summarizeFile } from './cpu-profile-summary.js';

export interface ProfileHooks {
  /** A NotaryRepository on the benchmark's server for this trust dir. */
  open(trustDir: string): NotaryRepository;
  freshDir(label: string): Promise<string>;
  /** The trust dir holding the keys and a warm cache. */
  signerDir: string;
  /** Runs `node --cpu-prof --cpu-prof-dir <dir> --import tsx <script> ...args`; rejects on failure. */
  runChildProfiled(cpuProfDir: string, script: string, args: readonly string[]): Promise<void>;
  server: string;
  caCertPath: string;
  gun: string;
  /** Call after each add, so the caller's expected target count stays right. */
  added(): void;
}

type Sections = Map<string, number>;

function timer(sections: Sections) {
  return async <T>(name: string, work: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      sections.set(name, (sections.get(name) ?? 0) + performance.now() - started);
    }
  };
}

const sum = (sections: Sections) => [...sections.values()].reduce((a, b) => a + b, 0);

/** Times every HTTP request and cache access the repository makes, into `io`. */
function instrument(repo: NotaryRepository, io: Sections): void {
  const time = timer(io);
  const remote = repo.remote;
  const getMeta = remote.getMeta.bind(remote);
  remote.getMeta = (name, maxLength) => time(`HTTP GET ${name}`, () => getMeta(name, maxLength));
  const publish = remote.publish.bind(remote);
  remote.publish = (files) =>
    time('HTTP POST (upload, incl. notary-server validation)', () => publish(files));
  const cache = repo.cache;
  const set = cache.set.bind(cache);
  cache.set = (role, bytes) => time('cache write (disk)', () => set(role, bytes));
  const get = cache.get.bind(cache);
  cache.get = (role) => time('cache read (disk)', () => get(role));
}

const row = (ms: number, name: string, indent = '') =>
  `    ${indent}${ms.toFixed(1).padStart(8)} ms  ${name}`;

async function sectionsOfVerify(hooks: ProfileHooks): Promise<string> {
  const io: Sections = new Map();
  const repo = hooks.open(await hooks.freshDir('profile-list'));
  instrument(repo, io);
  const started = performance.now();
  let updateMs: number;
  let listMs: number;
  try {
    const verified = await repo.update();
    updateMs = performance.now() - started;
    const listing = performance.now();
    verified.listTargets();
    listMs = performance.now() - listing;
  } finally {
    repo.close();
  }
  const total = performance.now() - started;
  return [
    `sections of one in-process cold verify: ${total.toFixed(0)} ms wall`,
    row(updateMs, 'update()'),
    ...[...io].map(([name, ms]) => row(ms, name, '  ')),
    row(
      updateMs - sum(io),
      'the rest of update(): JSON parse, canonical JSON, signature checks, hashes',
      '  ',
    ),
    row(listMs, 'listTargets()'),
  ].join('\n');
}

async function sectionsOfAdd(hooks: ProfileHooks, name: string): Promise<string> {
  const io: Sections = new Map();
  const keys: Sections = new Map();
  const top: Sections = new Map();
  const time = timer(top);
  const file = path.join(await hooks.freshDir('profile-payload'), 'payload.bin');
  await writeFile(file, `payload of ${name}\n`);
  const started = performance.now();
  const repo = hooks.open(hooks.signerDir);
  instrument(repo, io);
  const ioAt = (prefix: string) => sum(new Map([...io].filter(([k]) => k.startsWith(prefix))));
  let editIo: number;
  try {
    const meta = await time('read + hash the file', async () =>
      FileMeta.forBytes(new Uint8Array(await readFile(file))),
    );
    const editor = await time('edit(): update with warm cache + open the editor', () => repo.edit());
    editIo = sum(io);
    await time('addTarget()', () => editor.addTarget(name, meta));
    // repo.publish(editor), split into signing (key decryption timed apart) and upload.
    const inner = repo.signerSource();
    const timeKeys = timer(keys);
    const source = {
      signersFor: (role: string, roleKeys: readonly PublicKey[]): Promise<Signer[]> =>
        timeKeys(`load + decrypt the ${role} key`, () => inner.signersFor(role, roleKeys)),
    };
    editor.setClock(new Date());
    const { files } = await time('sign(): targets + snapshot', () => editor.sign(source));
    await time('upload', () => repo.remote.publish(files));
    hooks.added();
  } finally {
    repo.close();
  }
  const total = performance.now() - started;
  const lines = [`sections of one in-process add: ${total.toFixed(0)} ms wall`];
  for (const [section, ms] of top) {
    lines.push(row(ms, section));
    if (section.startsWith('edit()')) {
      for (const [k, v] of io) if (!k.startsWith('HTTP POST')) lines.push(row(v, k, '  '));
      lines.push(
        row(ms - editIo, 'the rest: JSON parse, canonical JSON, signature checks, hashes, editor', '  '),
      );
    }
    if (section.startsWith('sign()')) {
      for (const [k, v] of keys) lines.push(row(v, k, '  '));
      lines.push(row(ms - sum(keys), 'the rest: canonical JSON, hashes, ECDSA signatures, serialise', '  '));
    }
    if (section === 'upload')
      lines.push(row(ioAt('HTTP POST'), 'HTTP POST (incl. notary-server validation)', '  '));
  }
  lines.push(row(total - sum(top), 'unaccounted (open/close repository)'));
  return lines.join('\n');
}

async function profileInProcess<T>(dir: string, label: string, work: () => Promise<T>): Promise<string> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await work();
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    await writeFile(path.join(dir, `${label}.cpuprofile`), JSON.stringify(profile));
    return formatSummary(`${label} (in-process CPU profile)`, summarize(profile));
  } finally {
    session.disconnect();
  }
}

export async function runProfilePass(dir: string, hooks: ProfileHooks): Promise<string> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  out.push(await sectionsOfVerify(hooks));
  out.push(await sectionsOfAdd(hooks, 'profile-sections-add'));

  out.push(
    await profileInProcess(dir, 'inproc-verify', async () => {
      const repo = hooks.open(await hooks.freshDir('profile-inproc-list'));
      try {
        (await repo.update()).listTargets();
      } finally {
        repo.close();
      }
    }),
  );
  out.push(
    await profileInProcess(dir, 'inproc-add', async () => {
      const repo = hooks.open(hooks.signerDir);
      try {
        const editor = await repo.edit();
        editor.addTarget(
          'profile-inproc-add',
          FileMeta.forBytes(new TextEncoder().encode('profile-inproc-add\n')),
        );
        await repo.publish(editor);
        hooks.added();
      } finally {
        repo.close();
      }
    }),
  );

  const listDir = path.join(dir, 'proc-verify');
  await hooks.runChildProfiled(listDir, 'bench/trust-core-list.ts', [
    hooks.server,
    hooks.caCertPath,
    hooks.gun,
    await hooks.freshDir('profile-proc-list'),
  ]);
  const payload = path.join(await hooks.freshDir('profile-proc-payload'), 'payload.bin');
  await writeFile(payload, 'profile-proc-add\n');
  const addDir = path.join(dir, 'proc-add');
  await hooks.runChildProfiled(addDir, 'bench/trust-core-add.ts', [
    hooks.server,
    hooks.caCertPath,
    hooks.gun,
    hooks.signerDir,
    'profile-proc-add',
    payload,
  ]);
  hooks.added();
  for (const sub of [listDir, addDir]) {
    for (const file of await readdir(sub)) {
      if (file.endsWith('.cpuprofile')) {
        // node names them CPU.<date>.<time>.<pid>.<thread>.<seq>; thread 0 is the main thread, the
        // others are the module-loader hooks thread tsx registers.
        const thread = file.split('.')[4] === '0' ? 'main thread' : 'tsx module-loader thread';
        const title = `${path.basename(sub)} (fresh process, node --cpu-prof, ${thread})`;
        out.push(await summarizeFile(path.join(sub, file), title));
      }
    }
  }
  return out.join('\n\n');
}
