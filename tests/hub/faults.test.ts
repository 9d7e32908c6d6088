/**
 * Crash safety: the hub runs as a child process and is SIGKILLed in the
 * middle of uploads. After a restart every blob on disk must hash to its
 * name, everything acknowledged must still be there, and interrupted
 * upload sessions must be resumable from their acknowledged offset.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userAdd } from '../../hub/src/cli/user-add.js';
import { BlobStore } from '../../hub/src/storage/blob-store.js';
import { HubClient, makeImage, sha256 } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALICE = { user: 'alice', password: 'alice-password' };

interface Child {
  proc: ChildProcess;
  client: HubClient;
}

const children: ChildProcess[] = [];
let dataDir: string;

async function startChild(): Promise<Child> {
  // node itself with tsx's loader, not the tsx CLI: the CLI runs the program in a
  // grandchild process, which SIGKILLing the CLI would leave running.
  const args = ['--import', 'tsx', path.join(ROOT, 'hub/src/main.ts'), '--data-dir', dataDir, '--port', '0'];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`hub exited early with ${code}`)));
  });
  const { url, caCertificatePath } = JSON.parse(line) as { url: string; caCertificatePath: string };
  return { proc, client: new HubClient(url, await readFile(caCertificatePath, 'utf8')) };
}

async function kill(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.kill('SIGKILL');
  await exited;
}

/** Starts a request whose body is only partly sent; the hub is killed while it waits for the rest. */
function partialRequest(
  client: HubClient,
  method: string,
  target: string,
  token: string,
  total: number,
  sent: Buffer,
) {
  const base = new URL(client.url);
  const req = https.request({
    method,
    host: base.hostname,
    port: base.port,
    path: target,
    headers: { Authorization: `Bearer ${token}`, 'Content-Length': String(total) },
    agent: (client as unknown as { agent: https.Agent }).agent,
  });
  req.on('error', () => undefined);
  req.write(sent);
  return req;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function assertBlobsIntact(): Promise<void> {
  const store = new BlobStore(path.join(dataDir, 'hub'));
  const results = await store.verifyAll();
  expect(results.filter((result) => !result.ok)).toEqual([]);
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-hub-faults-'));
  await userAdd(dataDir, ALICE.user, `${ALICE.password}\n`);
});

afterAll(async () => {
  for (const proc of children) if (proc.exitCode === null) proc.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('kill -9 during uploads', () => {
  it('keeps acknowledged content, leaves no corrupt blob, and resumes the interrupted session', async () => {
    let hub = await startChild();
    const token = await hub.client.token(['repository:alice/crash:pull,push'], ALICE);

    // Acknowledged before the crash: an image (blobs + tag).
    const image = makeImage('before-crash');
    for (const blob of [image.config, ...image.layers]) {
      expect((await hub.client.pushBlob('alice/crash', blob, token)).status).toBe(201);
    }
    expect(
      (await hub.client.pushManifest('alice/crash', 'v1', image.manifest, image.mediaType, token)).status,
    ).toBe(201);

    // A chunked upload with one acknowledged chunk...
    const content = Buffer.alloc(512 * 1024);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7919) % 251;
    const start = await hub.client.request('POST', '/v2/alice/crash/blobs/uploads/', { token });
    const location = start.header('location') as string;
    const uuid = start.header('docker-upload-uuid') as string;
    const acknowledged = 200 * 1024;
    const first = await hub.client.request('PATCH', location, {
      token,
      body: content.subarray(0, acknowledged),
      headers: { 'Content-Range': `0-${acknowledged - 1}` },
    });
    expect(first.header('range')).toBe(`0-${acknowledged - 1}`);

    // ...then a second chunk and a monolithic upload cut off by SIGKILL.
    const secondChunk = content.subarray(acknowledged);
    partialRequest(
      hub.client,
      'PATCH',
      location,
      token,
      secondChunk.length,
      secondChunk.subarray(0, 100 * 1024),
    );
    const lost = Buffer.alloc(300 * 1024, 7);
    partialRequest(
      hub.client,
      'POST',
      `/v2/alice/crash/blobs/uploads/?digest=${sha256(lost)}`,
      token,
      lost.length,
      lost.subarray(0, 50 * 1024),
    );
    const uploadFile = path.join(dataDir, 'hub', 'uploads', uuid);
    await waitFor(async () => (await stat(uploadFile)).size > acknowledged);
    await waitFor(async () =>
      (await readdir(path.join(dataDir, 'hub', 'uploads'))).some((f) => f.startsWith('mono-')),
    );
    await kill(hub);

    hub = await startChild();
    await assertBlobsIntact();
    // Startup recovery removed the unfinished monolithic upload's bytes.
    expect(await readdir(path.join(dataDir, 'hub', 'uploads'))).toEqual([uuid]);
    expect(
      (await hub.client.request('HEAD', `/v2/alice/crash/blobs/${sha256(lost)}`, { token })).status,
    ).toBe(404);

    const pulled = await hub.client.request('GET', '/v2/alice/crash/manifests/v1', { token });
    expect(pulled.status).toBe(200);
    expect(pulled.body.equals(image.manifest)).toBe(true);
    for (const blob of [image.config, ...image.layers]) {
      const res = await hub.client.request('GET', `/v2/alice/crash/blobs/${sha256(blob)}`, { token });
      expect(res.body.equals(blob)).toBe(true);
    }

    // The session survived with its acknowledged offset and resumes from there.
    const status = await hub.client.request('GET', location, { token });
    expect(status.status).toBe(204);
    expect(status.header('range')).toBe(`0-${acknowledged - 1}`);
    const resumed = await hub.client.request('PATCH', location, {
      token,
      body: secondChunk,
      headers: { 'Content-Range': `${acknowledged}-${content.length - 1}` },
    });
    expect(resumed.status).toBe(202);
    const done = await hub.client.request('PUT', `${location}?digest=${sha256(content)}`, { token });
    expect(done.status).toBe(201);
    const blob = await hub.client.request('GET', `/v2/alice/crash/blobs/${sha256(content)}`, { token });
    expect(blob.body.equals(content)).toBe(true);
    await assertBlobsIntact();
    await kill(hub);
  });

  it('survives repeated kills at random moments of concurrent pushes', async () => {
    const acknowledged = new Map<string, Buffer>();
    for (let round = 0; round < 2; round++) {
      const hub = await startChild();
      const token = await hub.client.token(['repository:alice/storm:pull,push'], ALICE);
      let stop = false;
      const worker = async (id: number) => {
        for (let n = 0; !stop; n++) {
          const bytes = Buffer.alloc(20_000 + ((id * 7 + n * 13) % 50) * 1000, `${round}-${id}-${n}`);
          try {
            if (n % 2 === 0) {
              const res = await hub.client.pushBlob('alice/storm', bytes, token);
              if (res.status === 201) acknowledged.set(sha256(bytes), bytes);
            } else {
              const startRes = await hub.client.request('POST', '/v2/alice/storm/blobs/uploads/', { token });
              const loc = startRes.header('location') as string;
              const half = Math.floor(bytes.length / 2);
              await hub.client.request('PATCH', loc, { token, body: bytes.subarray(0, half) });
              const res = await hub.client.request('PUT', `${loc}?digest=${sha256(bytes)}`, {
                token,
                body: bytes.subarray(half),
              });
              if (res.status === 201) acknowledged.set(sha256(bytes), bytes);
            }
          } catch {
            return; // connection dropped by the kill
          }
        }
      };
      const workers = [0, 1, 2, 3].map(worker);
      await new Promise((resolve) => setTimeout(resolve, 200 + round * 150));
      await kill(hub);
      stop = true;
      await Promise.all(workers);
    }
    expect(acknowledged.size).toBeGreaterThan(0);

    const hub = await startChild();
    await assertBlobsIntact();
    const token = await hub.client.token(['repository:alice/storm:pull'], ALICE);
    for (const [digest, bytes] of acknowledged) {
      const res = await hub.client.request('GET', `/v2/alice/storm/blobs/${digest}`, { token });
      expect(res.status, digest).toBe(200);
      expect(res.body.equals(bytes)).toBe(true);
    }
    await kill(hub);
  });
});
