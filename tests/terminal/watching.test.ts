/**
 * Shadowing through the real server, node-pty and bash (local driver): an
 * instructor's watch ticket shows the attendee's screen live and read only,
 * the attendee is told who watches, typing needs the attendee's consent and
 * ends with it, a slow watcher is dropped rather than holding the attendee
 * back, and a watch ticket opens nothing of its own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, TerminalClient, WATCH_CLOSE, WATCH_STATUS } from '../../terminal-server/src/index.js';
import {
  openTerminal,
  openWatcher,
  ORIGIN,
  run,
  Screen,
  startTestServer,
  waitUntil,
  type TestTerminalServer,
} from './support.js';

let harness: TestTerminalServer;

beforeAll(async () => {
  harness = await startTestServer({
    // A small bound, so that a slow watcher is found out after little output.
    config: { limits: { replayBufferBytes: 64 * 1024, watcherMaxLagBytes: 128 * 1024 } },
  });
});

afterAll(async () => {
  await harness?.close();
});

/** Connects with a ticket already issued, recording into a new Screen. */
async function connectWith(ticket: string): Promise<Screen> {
  const screen = new Screen();
  screen.client = await TerminalClient.connect({
    url: harness.url,
    ticket,
    origin: ORIGIN,
    ...screen.options(),
  });
  return screen;
}

describe('watching an attendee', () => {
  it("shows the attendee's screen and typing live, and tells the attendee who watches", async () => {
    const attendee = await openTerminal(harness, 'ann');
    await run(attendee, 'echo "before-$((2 * 3))"', 10);
    const watcher = await openWatcher(harness, 'ann', 'Ines (instructor)');
    await watcher.waitForStatus(WATCH_STATUS.watching);
    // The screen so far, then what the attendee types, as they type it.
    await watcher.waitFor('before-6');
    await attendee.waitForStatus(WATCH_STATUS.watcherJoined, { reason: 'Ines (instructor)' });
    attendee.client.input('echo "typed-');
    await watcher.waitFor('echo "typed-');
    attendee.client.input('$((6 * 7))"\r');
    await watcher.waitFor('typed-42');
    expect(harness.server.session('ann')!.watchers).toEqual([{ label: 'Ines (instructor)', control: false }]);

    await watcher.client.close();
    await attendee.waitForStatus(WATCH_STATUS.watchersLeft, { reason: 'Ines (instructor)' });
    await attendee.client.close();
  });

  it("refuses a watcher's typing until the attendee consents, and again once consent ends", async () => {
    const attendee = await openTerminal(harness, 'moe', { cols: 90, rows: 30 });
    await run(attendee, 'true', 20);
    const homeDir = harness.server.session('moe')!.homeDir!;
    const watcher = await openWatcher(harness, 'moe', 'Ines', { cols: 40, rows: 10 });
    await watcher.waitForStatus(WATCH_STATUS.watching);

    // Before consent: told why, nothing reaches the shell, and its size changes nothing.
    watcher.client.input('touch refused.txt\r');
    watcher.client.resize(33, 11);
    await watcher.waitForStatus(WATCH_STATUS.inputRefused);
    await run(attendee, 'stty size', 30);
    expect(attendee.text).toContain('30 90\r\n');
    expect(existsSync(join(homeDir, 'refused.txt'))).toBe(false);
    expect(attendee.text).not.toContain('refused.txt');
    expect(watcher.closeEvent).toBeUndefined();

    // The attendee accepted in their page; the web app grants.
    harness.server.grantControl('moe', { watcher: 'Ines' });
    await watcher.waitForStatus(WATCH_STATUS.controlGranted);
    await attendee.waitForStatus(WATCH_STATUS.watcherControlGranted, { reason: 'Ines' });
    watcher.client.input('echo "from-watcher-$((10 + 11))"; touch granted.txt\r');
    await attendee.waitFor('from-watcher-21');
    await waitUntil(() => existsSync(join(homeDir, 'granted.txt')));

    // Revoked: refused again.
    expect(harness.server.revokeControl('moe')).toBe(1);
    await watcher.waitForStatus(WATCH_STATUS.controlRevoked);
    await attendee.waitForStatus(WATCH_STATUS.watcherControlEnded, { reason: 'Ines' });
    let seen = watcher.statuses.length;
    watcher.client.input('touch after-revoke.txt\r');
    await watcher.waitForStatus(WATCH_STATUS.inputRefused, { after: seen });

    // Granted again, then the attendee reloads their page: that page did not consent.
    harness.server.grantControl('moe', { watcher: 'Ines' });
    await watcher.waitForStatus(WATCH_STATUS.controlGranted, { after: seen });
    seen = watcher.statuses.length;
    const reloaded = await openTerminal(harness, 'moe');
    await reloaded.waitForStatus(WATCH_STATUS.watcherJoined, { reason: 'Ines' });
    await watcher.waitForStatus(WATCH_STATUS.controlRevoked, { after: seen });
    watcher.client.input('touch after-reload.txt\r');
    await watcher.waitForStatus(WATCH_STATUS.inputRefused, { after: seen });
    await run(reloaded, 'ls', 40);
    expect(existsSync(join(homeDir, 'after-revoke.txt'))).toBe(false);
    expect(existsSync(join(homeDir, 'after-reload.txt'))).toBe(false);
    expect(() => harness.server.grantControl('moe', { watcher: 'Omar' })).toThrow(
      expect.objectContaining({ code: 'WATCHER_NOT_FOUND' }),
    );
    await watcher.client.close();
    await reloaded.client.close();
  });

  it('drops a watcher that does not keep up, and the attendee never waits for it', async () => {
    const attendee = await openTerminal(harness, 'sol');
    await run(attendee, 'true', 50);
    const slow = await openWatcher(harness, 'sol', 'Ines', { autoAck: false });
    await slow.waitForStatus(WATCH_STATUS.watching);
    // Far more than the watcher's bound (128 KiB) and the flow control window (256 KiB).
    await run(attendee, "head -c 1500000 /dev/zero | tr '\\0' y | fold -w 100", 60);
    const closed = await slow.waitForClose();
    expect(closed.code).toBe(WATCH_CLOSE.fellBehind);
    expect(slow.statuses.at(-1)?.code).toBe(WATCH_CLOSE.fellBehind);
    await attendee.waitForStatus(WATCH_STATUS.watchersLeft);
    expect(attendee.closeEvent).toBeUndefined();
    await attendee.client.close();
  });

  it('closes the watchers with the session when it ends', async () => {
    const attendee = await openTerminal(harness, 'ted');
    await run(attendee, 'true', 70);
    const watcher = await openWatcher(harness, 'ted', 'Ines');
    await watcher.waitForStatus(WATCH_STATUS.watching);
    await harness.server.resetAttendee('ted', { home: 'keep' });
    expect((await watcher.waitForClose()).code).toBe(CLOSE.sessionEnded);
    expect((await attendee.waitForClose()).code).toBe(CLOSE.sessionEnded);
  });
});

describe('watch tickets', () => {
  it('cannot start a session: none is issued for an attendee without one, and one for an ended session opens nothing', async () => {
    expect(() => harness.server.issueWatchTicket('nobody', { watcher: 'Ines' })).toThrow(
      expect.objectContaining({ code: 'SESSION_NOT_FOUND' }),
    );
    const attendee = await openTerminal(harness, 'kim');
    await run(attendee, 'true', 80);
    const { ticket } = harness.server.issueWatchTicket('kim', { watcher: 'Ines' });
    await harness.server.endSession('kim');
    const late = await connectWith(ticket);
    expect((await late.waitForClose()).code).toBe(WATCH_CLOSE.noSession);
    expect(late.statuses.at(-1)?.code).toBe(WATCH_CLOSE.noSession);
    expect(late.replays).toEqual([]);
    expect(harness.server.session('kim')).toBeUndefined();

    // Nor does it watch a later session of the same attendee.
    const next = await openTerminal(harness, 'kim');
    await run(next, 'true', 90);
    const { ticket: old } = harness.server.issueWatchTicket('kim', { watcher: 'Ines' });
    await harness.server.endSession('kim');
    const again = await openTerminal(harness, 'kim');
    await run(again, 'true', 100);
    const stale = await connectWith(old);
    expect((await stale.waitForClose()).code).toBe(WATCH_CLOSE.noSession);
    expect(harness.server.session('kim')!.watchers).toEqual([]);
    await again.client.close();
  });

  it('are single-use and expire', async () => {
    const attendee = await openTerminal(harness, 'lee');
    await run(attendee, 'true', 110);
    const { ticket } = harness.server.issueWatchTicket('lee', { watcher: 'Ines' });
    const first = await connectWith(ticket);
    await first.waitForStatus(WATCH_STATUS.watching);
    const second = await connectWith(ticket);
    expect((await second.waitForClose()).code).toBe(CLOSE.unauthorized);

    const { ticket: expiring } = harness.server.issueWatchTicket('lee', { watcher: 'Omar' });
    harness.advanceClock(31_000);
    try {
      const late = await connectWith(expiring);
      expect((await late.waitForClose()).code).toBe(CLOSE.unauthorized);
    } finally {
      harness.advanceClock(-31_000);
    }
    expect(harness.server.session('lee')!.watchers).toEqual([{ label: 'Ines', control: false }]);
    await first.client.close();
    await attendee.client.close();
  });

  it('are refused beyond the watchers a session may have', async () => {
    const attendee = await openTerminal(harness, 'uma');
    await run(attendee, 'true', 120);
    const { maxWatchers } = harness.server.config.limits;
    const watchers: Screen[] = [];
    for (let i = 0; i < maxWatchers; i++) {
      const watcher = await openWatcher(harness, 'uma', `watcher ${i}`);
      await watcher.waitForStatus(WATCH_STATUS.watching);
      watchers.push(watcher);
    }
    const extra = await openWatcher(harness, 'uma', 'one too many');
    expect((await extra.waitForClose()).code).toBe(WATCH_CLOSE.tooManyWatchers);
    for (const watcher of watchers) await watcher.client.close();
    await attendee.client.close();
  });
});
