/**
 * The whole path a workshop attendee takes, with nothing faked: the terminal
 * server with the bwrap driver, the real hub serving the session's socket,
 * and the real client bundles inside the sandbox. The attendee's `docker`
 * reaches the hub only through the socket, the hub records every request as
 * the session's, and the lab environment is what the lab text promises
 * (bash with a prompt, docker, notary and node on PATH, no credentials in
 * the environment, the events channel configured).
 *
 * Needs root and bubblewrap; skipped with a note locally without them, a
 * failure under CI=true.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, ENTRIES } from '../../client/build.js';
import type { RequestRecord } from '../../hub/src/index.js';
import { hubSocketProvider } from '../../hub/src/index.js';
import { createBwrapDriver } from '../../terminal-server/src/sandbox/bwrap/index.js';
import { startHub, type TestHub } from '../hub/helpers.js';
import { requireBinariesForSuite } from '../support/index.js';
import { requireProgramsForSuite, requireRootForSuite } from './sandbox-support.js';
import {
  openTerminal,
  run,
  startTestServer,
  waitUntil,
  type Screen,
  type TestTerminalServer,
} from './support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const canRun =
  requireRootForSuite('the sandboxed lab test') &&
  requireBinariesForSuite(['bwrap']) &&
  requireProgramsForSuite({ setpriv: 'util-linux', losetup: 'util-linux', 'mkfs.ext4': 'e2fsprogs' });

const ATTENDEE = 'ada';
const PASSWORD = 'ada-hub-password-1';

describe.skipIf(!canRun)('a sandboxed lab session against the real hub', () => {
  let hub: TestHub;
  let terminal: TestTerminalServer;
  let runtimeRoot: string;
  let screen: Screen;
  const records: RequestRecord[] = [];

  beforeAll(async () => {
    for (const name of Object.keys(ENTRIES)) await bundle(name);
    hub = await startHub();
    await hub.hub.accounts.createAccount(ATTENDEE, PASSWORD);
    hub.hub.records.on('record', (record) => records.push(record));
    runtimeRoot = await mkdtemp(path.join(os.tmpdir(), 'trustlab-lab-run-'));
    const hubUrl = hub.client.url;
    terminal = await startTestServer({
      driver: (dataDir) =>
        createBwrapDriver({
          dataDir,
          runtimeRoot,
          uidPool: { first: 232000, last: 232009 },
          cgroup: { prefix: 'trustlab-labtest-' },
          clientDir: path.join(root, 'dist', 'client'),
          limits: { homeBytes: 64 * 1024 * 1024, homeInodes: 4096 },
        }),
      config: {
        hubSocketProvider: hubSocketProvider(hub.hub),
        hubCaFile: path.join(hub.dataDir, 'hub', 'ca.crt'),
        sandboxEnv: { TRUSTLAB_HUB: hubUrl },
      },
    });
    screen = await openTerminal(terminal, ATTENDEE);
    await screen.waitFor(/\$ $/, 30_000);
  }, 120_000);

  afterAll(async () => {
    await terminal?.close();
    await hub?.close();
    if (runtimeRoot) await rm(runtimeRoot, { recursive: true, force: true });
  }, 60_000);

  it('offers the lab environment: docker, notary and node on PATH, no hub credentials, the events channel', async () => {
    await run(
      screen,
      'command -v docker notary node; echo "events=$TRUSTLAB_EVENTS"; env | grep -ci password',
      1,
    );
    expect(screen.text).toMatch(/\/docker\r?\n/);
    expect(screen.text).toMatch(/\/notary\r?\n/);
    expect(screen.text).toMatch(/\/node\r?\n/);
    expect(screen.text).toMatch(/events=\/\S+events\.sock/);
    // grep -c prints 0 when no variable mentions a password.
    expect(screen.text).toMatch(/\r\n0\r\n/);
  });

  it('reaches the hub only through the session socket, and the hub records the session', async () => {
    const from = records.length;
    await run(screen, `echo '${PASSWORD}' | docker login -u ${ATTENDEE} --password-stdin`, 10);
    expect(screen.text).toContain('Login Succeeded');
    await run(screen, 'docker pull busybox', 20);
    expect(screen.text).toMatch(/Status: (Downloaded newer image|Image is up to date) for busybox:latest/);
    await waitUntil(() => records.slice(from).some((r) => r.path.includes('/manifests/')), 10_000);
    const seen = records.slice(from);
    expect(seen.length).toBeGreaterThan(0);
    const sessions = new Set(seen.map((r) => r.session));
    expect(sessions.size).toBe(1);
    const [session] = [...sessions];
    expect(session).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    expect(seen.find((r) => r.path === '/token')?.account).toBe(ATTENDEE);
  });

  it('keeps the pulled image and the login in the persistent home', async () => {
    await run(screen, 'ls ~/.docker/config.json && docker images busybox', 30);
    expect(screen.text).toMatch(/busybox +latest +[0-9a-f]{12}/);
  });

  it('sends the client’s events to the server, attributed to the session', async () => {
    await waitUntil(
      () => terminal.events.some((e) => e.attendee === ATTENDEE),
      10_000,
      () => `no events; got ${JSON.stringify(terminal.events)}`,
    );
    const pulled = terminal.events.filter((e) => e.attendee === ATTENDEE);
    expect(pulled.length).toBeGreaterThan(0);
  });
});
