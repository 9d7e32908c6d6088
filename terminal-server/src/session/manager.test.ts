import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttendeeGrant, WatchGrant } from '../auth/tickets.js';
import { CLOSE, STATUS, WATCH_CLOSE } from '../protocol/constants.js';
import type { SandboxDriver } from '../sandbox/driver.js';
import { SessionManager, type JoinOutcome } from './manager.js';
import type { Session, SessionLimits } from './session.js';
import { FakeConnection, FakePty, TEST_LIMITS } from './test-fakes.js';

const limits: SessionLimits = { ...TEST_LIMITS, maxWatchers: 4, watcherMaxLagBytes: 4096 };

const hello = { cols: 80, rows: 24, resume: undefined };
const grant: AttendeeGrant = { kind: 'attendee', attendee: 'alice', homeKey: 'h-alice', env: {} };

let base: string;
/** What the driver and the reset did, in order. */
let steps: string[];
let ptys: FakePty[];
let manager: SessionManager;
/** While set, sandboxes are destroyed only once it resolves (a slow teardown). */
let holdDestroy: Promise<void> | undefined;

const driver: SandboxDriver = {
  info: { name: 'local', isolated: false },
  async create(spec) {
    steps.push(`create ${spec.homeKey}`);
    const runtimeDir = join(base, spec.sessionId);
    await mkdir(runtimeDir);
    return {
      sessionId: spec.sessionId,
      command: { file: '/bin/sh', args: [], env: {}, cwd: base },
      runtimeDir,
      runtimeDirInside: runtimeDir,
      owner: undefined,
      homeDir: join(base, 'home'),
      destroy: async () => {
        await holdDestroy;
        steps.push(`destroy ${spec.sessionId}`);
      },
    };
  },
  close: async () => undefined,
};

function sessionOf(outcome: JoinOutcome): Session {
  if (!('session' in outcome)) throw new Error(`refused: ${JSON.stringify(outcome.refusal)}`);
  return outcome.session;
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'trustlab-manager-'));
  steps = [];
  ptys = [];
  holdDestroy = undefined;
  manager = new SessionManager({
    maxSessions: 10,
    onStarted: () => undefined,
    onEnded: () => undefined,
    session: {
      hubCaFile: undefined,
      driver,
      hubSocketProvider: undefined,
      spawnPty: (_command, size) => {
        const pty = new FakePty(size.cols, size.rows);
        ptys.push(pty);
        return pty;
      },
      limits,
      now: () => Date.now(),
      onClientEvent: () => undefined,
      onEventRejected: () => undefined,
      onError: (error) => {
        throw error;
      },
    },
  });
});

afterEach(async () => {
  await manager.endAll('shutdown');
  await rm(base, { recursive: true, force: true });
});

describe('SessionManager watchers', () => {
  it('never creates a session for a watch grant', () => {
    const watch: WatchGrant = {
      kind: 'watch',
      attendee: 'alice',
      sessionId: '00aa11bb22cc33dd',
      watcher: 'Ines',
    };
    const outcome = manager.watch(watch, new FakeConnection(), hello);
    expect(outcome).toEqual({ refusal: { code: WATCH_CLOSE.noSession, reason: expect.any(String) } });
    expect(manager.get('alice')).toBeUndefined();
    expect(steps).toEqual([]);
  });

  it('watches only the session the grant names, not a later one of the same attendee', async () => {
    const first = sessionOf(manager.attach(grant, new FakeConnection(), hello));
    await first.start();
    const watch: WatchGrant = { kind: 'watch', attendee: 'alice', sessionId: first.id, watcher: 'Ines' };
    expect(sessionOf(manager.watch(watch, new FakeConnection(), hello))).toBe(first);
    expect(manager.counts().watchers).toBe(1);
    await manager.end('alice', 'ended');
    const second = sessionOf(manager.attach(grant, new FakeConnection(), hello));
    expect(second).not.toBe(first);
    expect(manager.watch(watch, new FakeConnection(), hello)).toMatchObject({
      refusal: { code: WATCH_CLOSE.noSession },
    });
  });
});

describe('SessionManager reset', () => {
  it('holds back a new session of the attendee until the old one is gone and the home is wiped', async () => {
    const first = new FakeConnection();
    const old = sessionOf(manager.attach(grant, first, hello));
    await old.start();
    let finishWipe!: () => void;
    const wiped = new Promise<void>((resolve) => (finishWipe = resolve));
    const reset = manager.reset('alice', 'h-alice', async () => {
      steps.push('wipe started');
      await wiped;
      steps.push('wipe done');
    });
    expect(first.closes).toEqual([[CLOSE.sessionEnded, expect.stringContaining('reset')]]);

    // The page reconnects at once: it is attached and told "starting", and its input is kept.
    const again = new FakeConnection();
    const next = sessionOf(manager.attach(grant, again, hello));
    expect(next).not.toBe(old);
    next.input(again, new TextEncoder().encode('ls\r'));
    await vi.waitFor(() => expect(steps).toContain('wipe started'));
    expect(next.state).toBe('starting');
    expect(again.statuses()).toEqual([STATUS.starting]);

    finishWipe();
    expect(await reset).toBe(true);
    await vi.waitFor(() => expect(next.state).toBe('running'));
    expect(steps).toEqual([
      'create h-alice',
      `destroy ${old.id}`,
      'wipe started',
      'wipe done',
      'create h-alice',
    ]);
    expect(Buffer.from(ptys[1]!.written).toString()).toBe('ls\r');
  });

  it('waits for a teardown of the same home already under way, and runs resets one after the other', async () => {
    // Another attendee's session on the same home, ending slowly.
    const other: AttendeeGrant = { ...grant, attendee: 'alice-2' };
    const session = sessionOf(manager.attach(other, new FakeConnection(), hello));
    await session.start();
    let finishTeardown!: () => void;
    holdDestroy = new Promise<void>((resolve) => (finishTeardown = resolve));
    void session.end('abandoned');
    const first = manager.reset('alice', 'h-alice', async () => void steps.push('wipe 1'));
    const second = manager.reset('alice', 'h-alice', async () => void steps.push('wipe 2'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(steps).toEqual(['create h-alice']);
    finishTeardown();
    expect(await first).toBe(false);
    expect(await second).toBe(false);
    expect(steps).toEqual(['create h-alice', `destroy ${session.id}`, 'wipe 1', 'wipe 2']);
  });

  it('reports a failed wipe, and lets the next session start', async () => {
    const failure = new Error('disk on fire');
    await expect(manager.reset('alice', 'h-alice', () => Promise.reject(failure))).rejects.toBe(failure);
    const session = sessionOf(manager.attach(grant, new FakeConnection(), hello));
    await vi.waitFor(() => expect(session.state).toBe('running'));
  });
});
