/**
 * Session sockets: the hub on a per-session unix socket, speaking TLS like
 * its TCP port, with every request through it recorded as that session's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubSocketProvider, trustedHeaderSessionResolver, type RequestRecord } from '../../hub/src/index.js';
import type { HubSocketProvider } from '../../terminal-server/src/sandbox/driver.js';
import { startHub, type TestHub } from './helpers.js';

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request through a unix socket, checking the hub's certificate for `localhost`. */
function viaSocket(
  socketPath: string,
  ca: string,
  target: string,
  headers: Record<string, string> = {},
  agent?: https.Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      socketPath,
      host: 'localhost',
      port: 4443,
      path: target,
      ca,
      headers,
      agent: agent ?? false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.end();
  });
}

/** The record of the next request answered for `path` (records are written when the response closes). */
function nextRecord(t: TestHub, requestPath: string): Promise<RequestRecord> {
  return new Promise((resolve) => {
    const listener = (record: RequestRecord) => {
      if (record.path !== requestPath) return;
      t.hub.records.off('record', listener);
      resolve(record);
    };
    t.hub.records.on('record', listener);
  });
}

async function recorded(t: TestHub, requestPath: string, send: () => Promise<Answer>) {
  const record = nextRecord(t, requestPath);
  const answer = await send();
  return { answer, record: await record };
}

/** A socket file with nobody listening, as a killed process leaves it. */
async function staleSocket(socketPath: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => child.once('exit', resolve));
  expect((await stat(socketPath)).isSocket()).toBe(true);
}

describe('session sockets', () => {
  let t: TestHub;
  let dir: string;
  let ca: string;

  beforeAll(async () => {
    // On TCP the header is believed (as a trusted local channel would be), to show
    // that the socket's identity wins over it.
    t = await startHub({ sessionResolver: trustedHeaderSessionResolver(() => true) });
    ca = t.hub.caCertificate ?? '';
    dir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-session-socket-'));
  });

  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the registry, token and Notary API over TLS, recording every request as the session', async () => {
    const socketPath = path.join(dir, 'hub.sock');
    const socket = await t.hub.listenSessionSocket('sess-1', socketPath);
    try {
      const ping = await recorded(t, '/v2/', () => viaSocket(socketPath, ca, '/v2/'));
      expect(ping.answer.status).toBe(401);
      expect(ping.record.session).toBe('sess-1');

      const tokenPath = '/token?service=trustlab-hub&scope=repository:library/busybox:pull';
      const token = await recorded(t, '/token', () => viaSocket(socketPath, ca, tokenPath));
      expect(token.answer.status).toBe(200);
      expect(token.record.session).toBe('sess-1');
      const bearer = (JSON.parse(token.answer.body) as { token: string }).token;

      const manifestPath = '/v2/library/busybox/manifests/latest';
      const manifest = await recorded(t, manifestPath, () =>
        viaSocket(socketPath, ca, manifestPath, {
          authorization: `Bearer ${bearer}`,
          accept: 'application/vnd.docker.distribution.manifest.v2+json',
        }),
      );
      expect(manifest.answer.status).toBe(200);
      expect(manifest.record).toMatchObject({ session: 'sess-1', repository: 'library/busybox' });

      const rootPath = '/v2/docker.io/library/busybox/_trust/tuf/root.json';
      const root = await recorded(t, rootPath, () => viaSocket(socketPath, ca, rootPath));
      expect(root.answer.status).toBe(200);
      expect(root.record).toMatchObject({
        session: 'sess-1',
        gun: 'docker.io/library/busybox',
        role: 'root',
      });
    } finally {
      await socket.close();
    }
  });

  it('ignores an X-TrustLab-Session header sent through the socket', async () => {
    const socketPath = path.join(dir, 'spoof.sock');
    const socket = await t.hub.listenSessionSocket('sess-2', socketPath);
    try {
      const spoofed = await recorded(t, '/v2/', () =>
        viaSocket(socketPath, ca, '/v2/', { 'x-trustlab-session': 'someone-else' }),
      );
      expect(spoofed.answer.status).toBe(401);
      expect(spoofed.record.session).toBe('sess-2');
    } finally {
      await socket.close();
    }
  });

  it('leaves TCP requests to the session resolver', async () => {
    const socketPath = path.join(dir, 'tcp.sock');
    const socket = await t.hub.listenSessionSocket('sess-3', socketPath);
    try {
      const plain = nextRecord(t, '/v2/');
      expect((await t.client.request('GET', '/v2/')).status).toBe(401);
      expect((await plain).session).toBeUndefined();

      const withHeader = nextRecord(t, '/v2/');
      expect(
        (await t.client.request('GET', '/v2/', { headers: { 'X-TrustLab-Session': 'tcp-sess' } })).status,
      ).toBe(401);
      expect((await withHeader).session).toBe('tcp-sess');
    } finally {
      await socket.close();
    }
  });

  it('checks the certificate as on the network: the lab CA is required', async () => {
    const socketPath = path.join(dir, 'tls.sock');
    const socket = await t.hub.listenSessionSocket('sess-4', socketPath);
    try {
      await expect(viaSocket(socketPath, '', '/v2/')).rejects.toMatchObject({
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
    } finally {
      await socket.close();
    }
  });

  it('creates the socket 0600, owned by the given owner', async () => {
    const socketPath = path.join(dir, 'owned.sock');
    // Only root may give a file away; anyone else can still name themselves.
    const owner =
      process.getuid?.() === 0
        ? { uid: 1234, gid: 2345 }
        : { uid: process.getuid!(), gid: process.getgid!() };
    const socket = await t.hub.listenSessionSocket('sess-5', socketPath, owner);
    try {
      const info = await stat(socketPath);
      expect(info.isSocket()).toBe(true);
      expect(info.mode & 0o777).toBe(0o600);
      expect({ uid: info.uid, gid: info.gid }).toEqual(owner);
    } finally {
      await socket.close();
    }
  });

  it('close() removes the socket file and ends live keep-alive connections', async () => {
    const socketPath = path.join(dir, 'close.sock');
    const socket = await t.hub.listenSessionSocket('sess-6', socketPath);
    const agent = new https.Agent({ keepAlive: true });
    try {
      expect((await viaSocket(socketPath, ca, '/v2/', {}, agent)).status).toBe(401);
      const [live] = Object.values(agent.freeSockets).flat();
      expect(live).toBeDefined();
      const ended = new Promise((resolve) => live!.once('close', resolve));
      await socket.close();
      await ended;
      expect(existsSync(socketPath)).toBe(false);
      await expect(viaSocket(socketPath, ca, '/v2/')).rejects.toMatchObject({ code: 'ENOENT' });
      await socket.close(); // idempotent
    } finally {
      agent.destroy();
    }
  });

  it('replaces a stale socket file, but not a live socket or another file', async () => {
    const stalePath = path.join(dir, 'stale.sock');
    await staleSocket(stalePath);
    const socket = await t.hub.listenSessionSocket('sess-7', stalePath);
    expect((await viaSocket(stalePath, ca, '/v2/')).status).toBe(401);

    const other = net.createServer();
    const livePath = path.join(dir, 'live.sock');
    await new Promise<void>((resolve) => other.listen(livePath, resolve));
    try {
      await expect(t.hub.listenSessionSocket('sess-8', livePath)).rejects.toThrow(/in use/);
      await expect(t.hub.listenSessionSocket('sess-8', stalePath)).rejects.toThrow(/already/);
      const filePath = path.join(dir, 'not-a-socket');
      await writeFile(filePath, 'keep me');
      await expect(t.hub.listenSessionSocket('sess-8', filePath)).rejects.toThrow(/not a socket/);
      expect((await stat(filePath)).isFile()).toBe(true);
    } finally {
      await new Promise((resolve) => other.close(resolve));
      await socket.close();
    }
  });

  it('refuses session ids outside the sandbox id pattern', async () => {
    for (const bad of ['', 'Upper', '-lead', 'a/b', 'x'.repeat(64), 'a b']) {
      await expect(t.hub.listenSessionSocket(bad, path.join(dir, 'bad.sock'))).rejects.toThrow(
        /invalid session id/,
      );
    }
    expect(existsSync(path.join(dir, 'bad.sock'))).toBe(false);
  });

  it('is the terminal server’s HubSocketProvider', async () => {
    const provider: HubSocketProvider = hubSocketProvider(t.hub);
    const socketPath = path.join(dir, 'provider.sock');
    const socket = await provider.open('sess-9', socketPath, undefined);
    try {
      const ping = await recorded(t, '/v2/', () => viaSocket(socketPath, ca, '/v2/'));
      expect(ping.record.session).toBe('sess-9');
    } finally {
      await socket.close();
    }
    expect(existsSync(socketPath)).toBe(false);
  });
});

describe('hub.close()', () => {
  it('closes every session socket and removes their files', async () => {
    const t = await startHub({ officialImages: false });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-session-socket-'));
    try {
      const paths = [path.join(dir, 'a.sock'), path.join(dir, 'b.sock')];
      await t.hub.listenSessionSocket('sess-a', paths[0]!);
      await t.hub.listenSessionSocket('sess-b', paths[1]!);
      expect(paths.map((p) => existsSync(p))).toEqual([true, true]);
      await t.close();
      expect(paths.map((p) => existsSync(p))).toEqual([false, false]);
      await expect(t.hub.listenSessionSocket('sess-c', path.join(dir, 'c.sock'))).rejects.toThrow(
        /not listening/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
