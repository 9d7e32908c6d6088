/**
 * The platform with the bwrap sandbox (root on Linux with bubblewrap): the
 * learner's shell runs as an unprivileged uid of its own, the lab's files
 * are written into its home image owned by that uid, docker reaches the hub
 * only through the session's socket, and the lab engine reads what it needs
 * while the home is mounted. Skipped (with the package to install) where
 * bwrap is missing; on CI a missing package fails.
 */
import { stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, mountsUnder, readMounts } from '../../terminal-server/src/sandbox/bwrap/host.js';
import { requireBinariesForSuite } from '../support/index.js';
import {
  dockerLogin,
  LAB,
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from './support.js';

const hasBwrap = requireBinariesForSuite(['bwrap']);
const canRun = hasBwrap && process.platform === 'linux' && isRoot();
if (hasBwrap && !canRun) console.warn('[platform] bwrap suite SKIPPED, not passed: it needs root on Linux');

const UIDS = { first: 232000, last: 232019 };

describe.skipIf(!canRun)('platform (bwrap driver)', () => {
  let test: TestPlatform;
  let runtimeRoot: string;
  let screen: Screen | undefined;

  beforeAll(async () => {
    runtimeRoot = await mkdtemp(path.join(tmpdir(), 'trustlab-pt-run-'));
    test = await startTestPlatform({
      sandbox: 'bwrap',
      platform: { bwrap: { runtimeRoot, uidPool: UIDS, cgroup: { prefix: 'trustlab-pt-' } } },
    });
  }, 60_000);

  afterAll(async () => {
    screen?.close();
    await test?.platform.close();
    // Never delete through a mount: a home image still mounted would lose its files.
    for (const dir of [runtimeRoot, test?.dataDir].filter((d): d is string => d !== undefined)) {
      if (mountsUnder(await readMounts(), dir).length === 0) await rm(dir, { recursive: true, force: true });
      else console.error(`left ${dir} in place: it still has mounts`);
    }
    if (test) await removeDataDir(test.dataDir).catch(() => undefined);
  }, 60_000);

  it('reports the isolated driver in /api/health', async () => {
    const body = (await (await fetch(`${test.origin}/api/health`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, terminal: { up: true, driver: 'bwrap', isolated: true } });
  });

  it('prepares the home as the sandbox’s uid and ticks create-repo from the hub’s records', async () => {
    const visit = await fetch(`${test.origin}/labs/${LAB}`);
    const cookie = visit.headers.getSetCookie()[0]!.split(';')[0]!;
    const { learner } = await test.platform.api.learner(cookie.split('=')[1]);

    screen = await Screen.open(test, cookie);
    await screen.run('true');
    const session = test.platform.terminal.session(learner.id)!;
    const config = await stat(path.join(session.homeDir!, '.notary', 'config.json'));
    expect(config.uid).toBeGreaterThanOrEqual(UIDS.first);
    expect(config.uid).toBeLessThanOrEqual(UIDS.last);
    expect(await screen.run('cat ~/.notary/config.json')).toContain('"trust_dir": "~/.docker/trust"');

    await dockerLogin(screen, learner.username, learner.password);
    expect(await screen.run('docker pull busybox')).toMatch(/end-\d+-0/);
    await screen.run(`docker tag busybox ${learner.username}/dctrust:latest`);
    expect(await screen.run(`docker push ${learner.username}/dctrust:latest`)).toMatch(/end-\d+-0/);
    await waitUntil(
      async () =>
        (await test.platform.api.taskStates(LAB, learner)).find((s) => s.taskId === 'create-repo')?.status ===
        'done',
      15_000,
      () => 'create-repo never ticked',
    );
    const records = test.platform.hub.records.query({ account: learner.username, limit: 1000 });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((record) => record.session === session.id)).toBe(true);
  }, 120_000);

  it('binds the token socket for the sandbox’s user only, and the client reaches the lab server through it', async () => {
    const out = await screen!.run(
      'notary -D key list; stat -c "%A %u" "$TRUSTLAB_TOKEN"; echo "uid=$(id -u)"',
    );
    // The socket answered (no helper is paired): not "cannot be reached".
    expect(out).toContain(
      'No yubikey found, using alternative key storage: no YubiKey helper is paired with this terminal',
    );
    const [, mode, owner] = /^(s[rwx-]{9}) (\d+)$/m.exec(out) ?? [];
    expect(mode).toBe('srw-------');
    // Owned by the shell's own (unprivileged) user, as the sandbox sees it.
    expect(owner).toBe(/^uid=(\d+)$/m.exec(out)?.[1]);
  });
});
