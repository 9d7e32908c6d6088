/**
 * Crash safety of the Notary API: the hub runs as a child process
 * (`node --import tsx hub/src/main.ts`, so SIGKILL hits the server itself)
 * and is killed during publishes. After a restart every stored metadata file
 * must parse and hash to its recorded sha256, the repository must verify end
 * to end with trust-core's client, and its state must be one of the
 * published states (a prefix of the tags signed so far), never a mix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, fixedPassphraseRetriever, type MetadataType } from '../../trust-core/src/index.js';
import { NotaryRepository } from '../../trust-core/src/node/index.js';
import { userAdd } from '../../hub/src/cli/user-add.js';
import { TEST_PASSPHRASE } from '../support/index.js';
import { HubClient } from './helpers.js';
import { sha256Hex, signWithTrustCore, type Credentials } from './trust-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALICE: Credentials = { user: 'alice', password: 'alice-password' };

interface Child {
  proc: ChildProcess;
  client: HubClient;
  url: string;
  ca: string;
}

let dataDir: string;
let work: string;
const children: ChildProcess[] = [];

async function startChild(): Promise<Child> {
  const args = ['--import', 'tsx', path.join(ROOT, 'hub/src/main.ts'), '--data-dir', dataDir, '--port', '0'];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`hub exited early with ${code}`)));
  });
  const { url, caCertificatePath } = JSON.parse(line) as { url: string; caCertificatePath: string };
  const ca = await readFile(caCertificatePath, 'utf8');
  return { proc, url, ca, client: new HubClient(url, ca) };
}

async function kill(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.kill('SIGKILL');
  await exited;
}

const GUN = 'localhost:5000/alice/crash';
const manifest = (tag: string) => Buffer.from(`{"manifest-for":"${tag}"}`);

function publish(child: Child, tag: string, trustDir: string) {
  return signWithTrustCore({
    client: child.client,
    serverUrl: child.url,
    ca: child.ca,
    gun: GUN,
    trustDir,
    credentials: ALICE,
    tags: { [tag]: manifest(tag) },
  });
}

const TYPES: Record<string, MetadataType> = {
  root: 'Root',
  targets: 'Targets',
  snapshot: 'Snapshot',
  timestamp: 'Timestamp',
};

/** Every stored file parses and matches its recorded sha256; returns the current targets' tags. */
async function checkStoredState(child: Child): Promise<string[]> {
  const db = new Database(path.join(dataDir, 'hub', 'hub.db'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT role, version, sha256, content FROM tuf_files WHERE gun = ?')
      .all(GUN) as {
      role: string;
      version: number;
      sha256: string;
      content: Buffer;
    }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(sha256Hex(row.content)).toBe(row.sha256);
      const md = Metadata.parse(row.content, TYPES[row.role] ?? 'Targets', row.role);
      expect(md.signed.version).toBe(row.version);
    }
  } finally {
    db.close();
  }
  // The whole chain verifies with trust-core's client, from nothing cached.
  const repo = new NotaryRepository({
    server: child.url,
    gun: GUN,
    trustDir: await mkdtemp(path.join(work, 'verify-')),
    ca: child.ca,
    passphrases: fixedPassphraseRetriever({ root: TEST_PASSPHRASE }),
  });
  try {
    const trusted = await repo.update();
    return Object.keys(trusted.targets.signed.targets).sort(
      (a, b) => Number(a.slice(1)) - Number(b.slice(1)),
    );
  } finally {
    repo.close();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-notary-faults-'));
  work = await mkdtemp(path.join(os.tmpdir(), 'trustlab-notary-faults-work-'));
  await userAdd(dataDir, ALICE.user, `${ALICE.password}\n`);
});

afterAll(async () => {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('publish under SIGKILL', () => {
  it('a publish cut off mid-upload leaves the previous state', async () => {
    const child = await startChild();
    const trustDir = path.join(work, 'signer');
    await publish(child, 'v1', trustDir);
    const before = await child.client.request('GET', `/v2/${GUN}/_trust/tuf/targets.json`);

    // A multipart publish whose body never finishes: the hub is killed while it waits.
    const token = await child.client.token([`repository:${GUN}:push,pull`], ALICE);
    const head = `--b\r\nContent-Disposition: form-data; name="files"; filename="targets"\r\n\r\n${before.body.toString()}`;
    const base = new URL(child.url);
    const req = https.request({
      method: 'POST',
      host: base.hostname,
      port: base.port,
      path: `/v2/${GUN}/_trust/tuf/`,
      ca: child.ca,
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'multipart/form-data; boundary=b',
        'Content-Length': String(head.length + 10_000),
      },
    });
    req.on('error', () => undefined);
    req.write(head);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await kill(child);
    req.destroy();

    const restarted = await startChild();
    expect(await checkStoredState(restarted)).toEqual(['v1']);
    const after = await restarted.client.request('GET', `/v2/${GUN}/_trust/tuf/targets.json`);
    expect(after.body.equals(before.body)).toBe(true);
    await kill(restarted);
  });

  it('killing the hub at random points of a publish loop leaves a published state', async () => {
    const trustDir = path.join(work, 'signer');
    let signed = 1; // v1 from the previous test
    for (let round = 0; round < 2; round++) {
      const child = await startChild();
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const tag = `v${signed + 1}`;
          try {
            await publish(child, tag, trustDir);
            signed++;
          } catch {
            return; // the hub died under this publish
          }
        }
      })();
      // Kill only once this round has published at least once (a slow machine
      // can take a second per publish), then at a random point of a later one.
      const before = signed;
      const waitUntil = performance.now() + 20_000;
      while (signed === before && performance.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(signed).toBeGreaterThan(before);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 900)));
      stop = true;
      await kill(child);
      await loop;

      const restarted = await startChild();
      const tags = await checkStoredState(restarted);
      // Old or new: every tag acknowledged so far, plus at most the one in flight.
      const expected = Array.from({ length: signed }, (_v, i) => `v${i + 1}`);
      expect([expected, [...expected, `v${signed + 1}`]]).toContainEqual(tags);
      signed = tags.length;
      await kill(restarted);
    }
    expect(signed).toBeGreaterThan(1);
  }, 120_000);
});
