import { describe, expect, it } from 'vitest';
import { TerminalError } from '../../terminal-server/src/index.js';
import { isPlatformError } from '../errors.js';
import type { ControlChange, ControlRequest } from './types.js';
import { CONTROL_REQUEST_MS, Watching, watcherLabel } from './watching.js';

const session = { tokenDigest: 'a'.repeat(64), csrfToken: 'x', expiresAt: new Date(0).toISOString() };

function setup(grant: (watcher: string) => void = () => undefined) {
  let now = 1_000_000;
  const changes: ControlChange[] = [];
  const granted: string[] = [];
  const watching = new Watching({
    workshops: {
      assertAttendee: () => ({}) as never,
      controlChanged: (change) => void changes.push(change),
    },
    terminal: {
      session: () => ({}) as never,
      issueWatchTicket: () => ({ ticket: 't', expiresAt: new Date(now) }) as never,
      grantControl: (_attendee, { watcher }) => {
        grant(watcher);
        granted.push(watcher);
      },
      revokeControl: () => 0,
    },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => now,
  });
  return { watching, changes, granted, advance: (ms: number) => (now += ms) };
}

const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
  } catch (error) {
    if (isPlatformError(error)) return error.code;
    throw error;
  }
  return undefined;
};

describe('Watching', () => {
  it('labels a watcher by its session without showing the session', () => {
    const label = watcherLabel(session);
    expect(label).toMatch(/^Instructor [0-9a-f]{4}$/);
    expect(watcherLabel(session)).toBe(label);
    expect(watcherLabel({ tokenDigest: 'b'.repeat(64) })).not.toBe(label);
  });

  it('keeps one request per attendee, the newest, for two minutes', () => {
    const { watching, advance } = setup();
    const seen: ControlRequest[] = [];
    const unsubscribe = watching.watchRequests('l1', (request) => seen.push(request));
    const first = watching.requestControl('w', 'l1', session, {});
    const second = watching.requestControl('w', 'l1', session, {});
    expect(seen.map((request) => request.requestId)).toEqual([first.requestId, second.requestId]);
    expect(watching.pendingRequest('l1')?.requestId).toBe(second.requestId);
    expect(codeOf(() => watching.answer('l1', { requestId: first.requestId, accept: true }))).toBe(
      'UNKNOWN_REQUEST',
    );
    expect(watching.pendingRequest('l2')).toBeUndefined();
    advance(CONTROL_REQUEST_MS);
    expect(watching.pendingRequest('l1')).toBeUndefined();
    expect(codeOf(() => watching.answer('l1', { requestId: second.requestId, accept: true }))).toBe(
      'UNKNOWN_REQUEST',
    );
    unsubscribe();
  });

  it('grants the label recorded with the request, and keeps it when the attendee’s terminal is not ready', () => {
    let failure: TerminalError | undefined = new TerminalError('ATTENDEE_NOT_CONNECTED', 'no page');
    const { watching, changes, granted } = setup(() => {
      if (failure) throw failure;
    });
    const { requestId, watcher } = watching.requestControl('w', 'l1', session, {});
    expect(codeOf(() => watching.answer('l1', { requestId, accept: true }))).toBe('NO_TERMINAL');
    expect(changes).toEqual([]);
    failure = undefined;
    expect(watching.answer('l1', { requestId, accept: true })).toEqual({ granted: true });
    expect(granted).toEqual([watcher]);
    expect(changes).toEqual([{ learnerId: 'l1', watcher, granted: true }]);
    expect(watching.pendingRequest('l1')).toBeUndefined();
  });

  it('drops a request whose watcher left, and tells the dashboard', () => {
    const { watching, changes } = setup(() => {
      throw new TerminalError('WATCHER_NOT_FOUND', 'gone');
    });
    const { requestId, watcher } = watching.requestControl('w', 'l1', session, {});
    expect(codeOf(() => watching.answer('l1', { requestId, accept: true }))).toBe('WATCHER_GONE');
    expect(watching.pendingRequest('l1')).toBeUndefined();
    expect(changes).toEqual([{ learnerId: 'l1', watcher, granted: false }]);
  });

  it('refuses bodies other than the documented ones', () => {
    const { watching } = setup();
    expect(codeOf(() => watching.requestControl('w', 'l1', session, { watcher: 'me' }))).toBe(
      'INVALID_INPUT',
    );
    expect(codeOf(() => watching.answer('l1', { requestId: 'x' }))).toBe('INVALID_INPUT');
    expect(codeOf(() => watching.revoke('l1', null))).toBe('INVALID_INPUT');
  });
});
