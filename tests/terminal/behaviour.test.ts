/**
 * What a learner relies on, through the real server, node-pty and bash
 * (local driver): the screen comes back exactly once after a reconnect,
 * nothing typed is lost or reordered, large pastes arrive whole, resizes
 * reach the pty, a flood is held back without hurting anyone else, and
 * sessions end cleanly.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEventLine } from '../../client/src/cli/events.js';
import { WebSocket } from 'ws';
import {
  CLOSE,
  createLocalDriver,
  frames,
  RUNTIME_SOCKETS,
  STATUS,
} from '../../terminal-server/src/index.js';
import { openTerminal, ORIGIN, run, startTestServer, waitUntil, type TestTerminalServer } from './support.js';

let harness: TestTerminalServer;

beforeAll(async () => {
  harness = await startTestServer({ config: { limits: { reconnectGraceMs: 60_000 } } });
});

afterAll(async () => {
  await harness?.close();
});

describe('reconnect', () => {
  it('restores the screen exactly once on a fresh page, and continues exactly on a kept one', async () => {
    const first = await openTerminal(harness, 'rita');
    await run(first, 'echo "before-$((6 * 7))"', 10);
    expect(first.count('before-42')).toBe(1);
    const resume = first.client.resumePoint()!;
    // Output produced while nobody is connected must be on the next screen too.
    const homeDir = harness.server.session('rita')!.homeDir!;
    first.client.input('sleep 0.3; echo "while-away-$((2 * 50))"; touch away.done\r');
    first.client.terminate();
    await waitUntil(() => existsSync(join(homeDir, 'away.done')));
    expect(harness.server.session('rita')!.attached).toBe(false);

    // A reloaded page has no screen: it gets the whole buffer after a reset, once.
    const reloaded = await openTerminal(harness, 'rita');
    await reloaded.waitFor('while-away-100');
    expect(reloaded.replays).toHaveLength(1);
    expect(reloaded.replays[0]!.mode).toBe('reset');
    expect(Buffer.from(reloaded.replays[0]!.data).toString()).toContain('while-away-100');
    await run(reloaded, 'echo "after-$((3 * 3))"', 20);
    expect(reloaded.count('before-42')).toBe(1);
    expect(reloaded.count('while-away-100')).toBe(1);
    expect(reloaded.count('after-9')).toBe(1);

    // A page that kept its screen resumes from its offset: only what it lacks, nothing twice.
    reloaded.client.terminate();
    const kept = await openTerminal(harness, 'rita', { resume });
    await kept.waitFor('after-9');
    expect(kept.replays).toHaveLength(1);
    expect(kept.replays[0]!).toMatchObject({ mode: 'continue', startOffset: resume.offset });
    expect(kept.count('before-42')).toBe(0);
    expect(kept.count('while-away-100')).toBe(1);
    expect(kept.count('after-9')).toBe(1);
    await kept.client.close();
  });

  it('gives the terminal to the newest connection; the older one is told and closed', async () => {
    const older = await openTerminal(harness, 'sam');
    await run(older, 'true', 30);
    const newer = await openTerminal(harness, 'sam');
    expect((await older.waitForClose()).code).toBe(CLOSE.replaced);
    expect(older.statuses.at(-1)?.code).toBe(CLOSE.replaced);
    await run(newer, 'echo "newer-$((1 + 1))"', 40);
    expect(older.text).not.toContain('newer-2');
    await newer.client.close();
  });

  it('drops a connection that stops answering pings, and keeps the session for a reconnect', async () => {
    const pinging = await startTestServer({ config: { limits: { heartbeatIntervalMs: 100 } } });
    try {
      const { ticket } = pinging.server.issueTicket({ attendee: 'ivy' });
      const mute = new WebSocket(pinging.url, { origin: ORIGIN, autoPong: false });
      await new Promise((resolve) => mute.once('open', resolve));
      mute.send(frames.encodeHello({ cols: 80, rows: 24, ticket: Buffer.from(ticket, 'base64url') }));
      await waitUntil(() => pinging.server.session('ivy')?.attached === true);
      const closed = await new Promise<number>((resolve) => mute.once('close', (code) => resolve(code)));
      expect(closed).toBe(1006); // terminated, no closing handshake
      await waitUntil(() => pinging.server.session('ivy')?.attached === false);
      expect(pinging.server.session('ivy')?.state).not.toBe('ended');
      const back = await openTerminal(pinging, 'ivy');
      await run(back, 'true', 45);
      await back.client.close();
    } finally {
      await pinging.close();
    }
  });

  it('ends the session when the grace period passes without a connection', async () => {
    const short = await startTestServer({ config: { limits: { reconnectGraceMs: 300 } } });
    try {
      const screen = await openTerminal(short, 'tom');
      await run(screen, 'sleep 600 & true', 50);
      const runtimeDir = join(short.dataDir, 'run', short.server.session('tom')!.id);
      expect(existsSync(runtimeDir)).toBe(true);
      screen.client.terminate();
      await waitUntil(() => short.server.session('tom') === undefined);
      await waitUntil(() => short.server.health().sessions.ending === 0);
      expect(existsSync(runtimeDir)).toBe(false);
      // The home stays for the next session.
      expect(existsSync(join(short.dataDir, 'homes'))).toBe(true);
    } finally {
      await short.close();
    }
  });
});

describe('input', () => {
  it('keeps keystrokes sent while the sandbox starts, in order', async () => {
    // The sandbox is held back until the keystrokes are known to be waiting on the server.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const gated = await startTestServer({
      driver: (dataDir) => {
        const local = createLocalDriver({ dataDir, warn: () => undefined });
        return { ...local, info: local.info, create: async (spec) => (await held, local.create(spec)) };
      },
    });
    try {
      const screen = await openTerminal(gated, 'uma');
      const keystrokes = ['echo "ea', 'rly-$((5 ', '* 5))"\r'];
      for (const part of keystrokes) screen.client.input(part);
      const typed = keystrokes.join('').length;
      await waitUntil(() => gated.server.session('uma')?.pendingInputBytes === typed);
      expect(gated.server.session('uma')!.state).toBe('starting');
      release();
      await screen.waitFor('early-25');
      expect(screen.statuses.map((status) => status.code)).toEqual([STATUS.starting, STATUS.ready]);
      await screen.client.close();
    } finally {
      release();
      await gated.close();
    }
  });

  it('delivers a 100 KB paste intact', async () => {
    const screen = await openTerminal(harness, 'vic');
    const lines: string[] = [];
    for (let i = 0; lines.join('').length < 100_000; i++) {
      lines.push(
        `${i.toString().padStart(6, '0')} ${createHash('sha256').update(String(i)).digest('base64')}\n`,
      );
    }
    const paste = lines.join('');
    expect(paste.length).toBeGreaterThanOrEqual(100_000);
    // No echo, so the screen stays small; `cat` starts right after the marker is printed.
    screen.client.input('stty -echo; echo "go-$((4 * 4))"; cat > paste.txt; stty echo\r');
    await screen.waitFor('go-16');
    screen.client.input(paste);
    screen.client.input('\x04');
    await run(screen, 'wc -c < paste.txt; sha256sum paste.txt', 60);
    const digest = createHash('sha256').update(paste).digest('hex');
    expect(screen.text).toContain(`${paste.length}\r\n`);
    expect(screen.text).toContain(`${digest}  paste.txt`);
    const homeDir = harness.server.session('vic')!.homeDir!;
    expect(await readFile(join(homeDir, 'paste.txt'), 'utf8')).toBe(paste);
    await screen.client.close();
  });
});

describe('resize', () => {
  it('starts at the HELLO size and follows RESIZE', async () => {
    const screen = await openTerminal(harness, 'wes', { cols: 97, rows: 31 });
    await run(screen, 'stty size', 70);
    expect(screen.text).toContain('31 97\r\n');
    screen.client.resize(150, 45);
    await run(screen, 'stty size', 80);
    expect(screen.text).toContain('45 150\r\n');
    // A window that takes the session over brings its own size.
    const other = await openTerminal(harness, 'wes', { cols: 60, rows: 20 });
    await run(other, 'stty size', 85);
    expect(other.text).toContain('20 60\r\n');
    await other.client.close();
  });
});

describe('flow control', () => {
  it('holds a flood back while its client does not acknowledge, and another session stays responsive', async () => {
    const { flowHighWaterBytes } = harness.server.config.limits;
    const flood = await openTerminal(harness, 'xena', { autoAck: false });
    flood.client.input('yes\r');
    await waitUntil(() => harness.server.session('xena')?.outputPaused === true);
    const producedAtPause = harness.server.session('xena')!.outputBytes;

    const other = await openTerminal(harness, 'yann');
    await run(other, 'echo "other-$((3 * 3))"', 90);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const produced = harness.server.session('xena')!.outputBytes;
    // Read no further than the high watermark plus what one read of the pty returns (64 KiB).
    expect(produced).toBeLessThanOrEqual(flowHighWaterBytes + 65536);
    expect(produced).toBe(producedAtPause);
    expect(harness.server.session('xena')!.outputPaused).toBe(true);

    // Acknowledging lets it run again; Ctrl-C stops it.
    flood.client.ack();
    await waitUntil(() => harness.server.session('xena')!.outputBytes > produced);
    flood.client.input('\x03');
    await harness.server.endSession('xena');
    await other.client.close();
  });
});

describe('events', () => {
  it('relays valid events from inside the sandbox with the session and attendee attached', async () => {
    const screen = await openTerminal(harness, 'zoe');
    const script =
      'const s = require("net").createConnection(process.env.TRUSTLAB_EVENTS, () => s.end(JSON.stringify(' +
      '{ command: "docker push", outcome: "SIGNED", reference: "zoe/app:1", time: new Date().toISOString() }) + "\\n"))';
    await run(screen, `node -e '${script}'`, 100);
    await waitUntil(() => harness.events.some((event) => event.attendee === 'zoe'));
    const session = harness.server.session('zoe')!;
    expect(harness.events.find((event) => event.attendee === 'zoe')).toMatchObject({
      sessionId: session.id,
      attendee: 'zoe',
      event: { command: 'docker push', outcome: 'SIGNED', reference: 'zoe/app:1' },
    });

    // The lab's own sender, as `docker` and `notary` use it, speaks the same format.
    await sendEventLine(join(harness.dataDir, 'run', session.id, RUNTIME_SOCKETS.events), {
      command: 'notary list',
      outcome: 'OK',
      gun: 'docker.io/zoe/app',
      role: undefined,
    });
    await waitUntil(() => harness.events.some((event) => event.event.command === 'notary list'));
    await screen.client.close();
  });
});

describe('lifetime', () => {
  it('ends with 1000 when the shell exits, and kills what it left running', async () => {
    const screen = await openTerminal(harness, 'abe');
    await run(screen, 'sleep 900 & echo $! > bg.pid', 110);
    const homeDir = harness.server.session('abe')!.homeDir!;
    const pid = Number(await readFile(join(homeDir, 'bg.pid'), 'utf8'));
    expect(isRunning(pid)).toBe(true);
    screen.client.input('exit\r');
    const closed = await screen.waitForClose();
    expect(closed.code).toBe(CLOSE.normal);
    await waitUntil(() => harness.server.health().sessions.ending === 0);
    expect(harness.server.session('abe')).toBeUndefined();
    expect(isRunning(pid)).toBe(false);
  });

  it('ends a session on request (an instructor reset) with 4410', async () => {
    const screen = await openTerminal(harness, 'bea');
    await run(screen, 'true', 120);
    expect(await harness.server.endSession('bea')).toBe(true);
    expect((await screen.waitForClose()).code).toBe(CLOSE.sessionEnded);
    expect(await harness.server.endSession('bea')).toBe(false);
  });

  it('reports the driver and the sessions for the health endpoint', async () => {
    const screen = await openTerminal(harness, 'cy');
    await run(screen, 'true', 130);
    const health = harness.server.health();
    expect(health).toMatchObject({
      status: 'ok',
      mode: 'self-paced',
      driver: { name: 'local', isolated: false },
      connections: { attached: expect.any(Number) },
    });
    expect(health.sessions.running).toBeGreaterThanOrEqual(1);
    expect(harness.warnings.filter((warning) => warning.includes('no isolation'))).toHaveLength(1);
    await screen.client.close();
  });
});

/** Alive and not a zombie (in a container, nobody may reap orphans promptly). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
