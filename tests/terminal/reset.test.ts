/**
 * An instructor's reset through the real server and real shells: the old
 * shell and everything it started are killed, a fresh home is empty, the
 * next shell starts in it, and a page reconnecting while the home is being
 * emptied waits for it rather than racing it. Once with the local driver,
 * once with bwrap (an ext4 image per home; needs root and bubblewrap:
 * skipped with a note locally without them, a failure under CI=true).
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, createLocalDriver, defaultHomeKey, STATUS } from '../../terminal-server/src/index.js';
import { createBwrapDriver, probeBwrap } from '../../terminal-server/src/sandbox/bwrap/index.js';
import {
  findProgram,
  mountsUnder,
  readMounts,
  runProgram,
} from '../../terminal-server/src/sandbox/bwrap/host.js';
import { isCi, requireBinariesForSuite } from '../support/index.js';
import { requireProgramsForSuite, requireRootForSuite } from './sandbox-support.js';
import { openTerminal, run, startTestServer, waitUntil, type TestTerminalServer } from './support.js';

/** Alive and not a zombie (in a container, nobody may reap orphans promptly). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Live (not zombie) processes whose real, effective or saved uid is `uid`. */
async function processesOf(uid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    const uids = /^Uid:\s*(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (uids.includes(uid) && !/^State:\s*Z/m.test(status)) found.push(Number(name));
  }
  return found;
}

describe('resetting an attendee (local driver)', () => {
  let harness: TestTerminalServer;
  let releaseWipe: (() => void) | undefined;
  let holdWipe: Promise<void> | undefined;

  beforeAll(async () => {
    harness = await startTestServer({
      driver: (dataDir) => {
        const local = createLocalDriver({ dataDir, warn: () => undefined, killGraceMs: 200 });
        return {
          ...local,
          info: local.info,
          // A test may hold the wipe back, to reconnect while it runs.
          resetHome: async (homeKey) => {
            await holdWipe;
            await local.resetHome!(homeKey);
          },
        };
      },
    });
  });

  afterAll(async () => {
    releaseWipe?.();
    await harness?.close();
  });

  it('kills the old shell and what it started; the next shell starts in an empty home', async () => {
    const screen = await openTerminal(harness, 'ada');
    await run(
      screen,
      'echo kept > notes.txt; mkdir -p .docker/trust; echo $$ > shell.pid; sleep 900 & echo $! > bg.pid',
      10,
    );
    const before = harness.server.session('ada')!;
    const homeDir = before.homeDir!;
    const pids = await Promise.all(
      ['shell.pid', 'bg.pid'].map(async (file) => Number(await readFile(path.join(homeDir, file), 'utf8'))),
    );
    for (const pid of pids) expect(isRunning(pid)).toBe(true);

    expect(await harness.server.resetAttendee('ada', { home: 'fresh' })).toEqual({
      sessionEnded: true,
      home: 'fresh',
    });
    const closed = await screen.waitForClose();
    expect(closed.code).toBe(CLOSE.sessionEnded);
    expect(screen.statuses.at(-1)?.reason).toContain('reset');
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(await readdir(homeDir)).toEqual([]);

    const next = await openTerminal(harness, 'ada');
    await run(next, 'pwd; ls -A | wc -l', 20);
    expect(next.text).toContain(`${homeDir}\r\n0\r\n`);
    expect(harness.server.session('ada')!.id).not.toBe(before.id);
    await next.client.close();
  });

  it("keeps the home's content when asked to", async () => {
    const screen = await openTerminal(harness, 'bo');
    await run(screen, 'echo kept > notes.txt', 30);
    expect(await harness.server.resetAttendee('bo', { home: 'keep' })).toEqual({
      sessionEnded: true,
      home: 'kept',
    });
    const next = await openTerminal(harness, 'bo');
    await run(next, 'cat notes.txt', 40);
    expect(next.text).toContain('kept\r\n');
    await next.client.close();
  });

  it('holds a page that reconnects during the reset at "starting", then gives it the new shell in the empty home', async () => {
    const screen = await openTerminal(harness, 'cy');
    await run(screen, 'touch old-work.txt', 50);
    holdWipe = new Promise<void>((resolve) => (releaseWipe = resolve));
    const resetting = harness.server.resetAttendee('cy', { home: 'fresh' });
    await screen.waitForClose();

    const again = await openTerminal(harness, 'cy');
    again.client.input('ls -A | wc -l; echo "listed-$((7 * 7))"\r');
    await waitUntil(() => again.statuses.length > 0);
    // The old session is gone; the new one waits for the wipe, with the keystrokes kept.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(harness.server.session('cy')!.state).toBe('starting');
    expect(again.statuses.map((status) => status.code)).toEqual([STATUS.starting]);

    releaseWipe!();
    holdWipe = undefined;
    await resetting;
    await again.waitFor('listed-49');
    expect(again.text).toMatch(/[^0-9]0\r\nlisted-49/);
    await again.client.close();
  });
});

function bwrapCanRun(): boolean {
  const ready =
    requireRootForSuite('the bwrap reset test') &&
    requireBinariesForSuite(['bwrap']) &&
    requireProgramsForSuite({ losetup: 'mount', 'mkfs.ext4': 'e2fsprogs' });
  if (!ready) return false;
  const probe = probeBwrap({ trialUid: 234000 });
  if (probe.available) return true;
  const message = `the bwrap sandbox cannot run on this host: ${probe.reason}`;
  if (isCi()) throw new Error(message);
  console.warn(`[sandbox] SKIPPED, not passed: ${message}`);
  return false;
}

describe.skipIf(!bwrapCanRun())('resetting an attendee (bwrap driver)', () => {
  let harness: TestTerminalServer;
  let runtimeRoot: string;
  let clientDir: string;

  beforeAll(async () => {
    runtimeRoot = await mkdtemp(path.join(os.tmpdir(), 'trustlab-rst-run-'));
    clientDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-rst-client-'));
    // The bundles must be readable by the attendee's uid; these tests run none of them.
    await chmod(clientDir, 0o755);
    for (const command of ['docker', 'notary']) await writeFile(path.join(clientDir, `${command}.mjs`), '');
    harness = await startTestServer({
      driver: (dataDir) =>
        createBwrapDriver({
          dataDir,
          runtimeRoot,
          clientDir,
          uidPool: { first: 234000, last: 234009 },
          cgroup: { prefix: `trustlab-rst${process.pid}-` },
          spareHomeImages: 0,
          limits: { homeBytes: 16 * 1024 * 1024, homeInodes: 256 },
        }),
    });
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    for (const dir of [runtimeRoot, clientDir]) {
      if (dir === undefined) continue;
      for (const point of mountsUnder(await readMounts(), dir)) {
        await runProgram(findProgram('umount') ?? 'umount', [point]).catch(() => undefined);
      }
      // Never delete through a mount.
      if (mountsUnder(await readMounts(), dir).length === 0) await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('kills every process of the old sandbox; the next shell starts in a blank home with the same uid', async () => {
    const screen = await openTerminal(harness, 'ada');
    // A background job, and one that left the shell's session: the cgroup holds both.
    await run(
      screen,
      'echo kept > ~/notes.txt; sleep 900 & setsid sleep 901 > /dev/null 2>&1 < /dev/null & true',
      10,
    );
    const homeDir = harness.server.session('ada')!.homeDir!;
    const uid = (await stat(homeDir)).uid;
    const image = path.join(harness.dataDir, 'homes', `${defaultHomeKey('ada')}.img`);
    expect(existsSync(image)).toBe(true);
    expect(uid).toBeGreaterThanOrEqual(234000);
    expect((await processesOf(uid)).length).toBeGreaterThanOrEqual(3);

    await harness.server.resetAttendee('ada', { home: 'fresh' });
    expect((await screen.waitForClose()).code).toBe(CLOSE.sessionEnded);
    expect(await processesOf(uid)).toEqual([]);
    // The old file system is gone: the next session gets a new one, not the old one emptied.
    expect(existsSync(image)).toBe(false);

    const next = await openTerminal(harness, 'ada');
    await run(next, 'pwd; ls -A ~ | wc -l; id -u', 20);
    expect(next.text).toMatch(/\/home\/learner\r\n0\r\n1000\r\n/);
    const nextHome = harness.server.session('ada')!.homeDir!;
    expect(await readdir(nextHome)).toEqual([]);
    expect((await stat(nextHome)).uid).toBe(uid);
    await next.client.close();
  }, 60_000);
});
