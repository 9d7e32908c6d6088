import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkshopWatch, type WorkshopWatchOptions } from './live.js';
import type { AttendeeRow } from './store.js';
import type { AttendeeView, WorkshopChange } from './types.js';

const row = (learnerId: string): AttendeeRow => ({
  workshopId: 'w',
  learnerId,
  displayName: learnerId,
  joinedAt: 0,
  username: `learner-${learnerId}`,
});

function view(learnerId: string, done: boolean, lastProgressAt = 0, longOnTask = false): AttendeeView {
  return {
    learnerId,
    displayName: learnerId,
    hubUsername: `learner-${learnerId}`,
    joinedAt: new Date(0).toISOString(),
    online: false,
    tasks: { t: done ? { status: 'done' } : { status: 'pending' } },
    doneCount: done ? 1 : 0,
    stuck: { longOnTask, repeatedFailures: false, lastProgressAt: new Date(lastProgressAt).toISOString() },
    recentCommands: [],
  };
}

afterEach(() => vi.useRealTimers());

function setup(attendees: AttendeeRow[], overrides: Partial<WorkshopWatchOptions> = {}) {
  const state = new Map<string, AttendeeView>(attendees.map((a) => [a.learnerId, view(a.learnerId, false)]));
  const runListeners = new Map<string, () => void>();
  const unsubscribed: string[] = [];
  const computed: string[] = [];
  let disposed = false;
  const watch = new WorkshopWatch({
    workshopId: 'w',
    stuckAfterMs: 60_000,
    now: () => Date.now(),
    attendees: () => attendees,
    subscribe: (attendee, changed) => {
      runListeners.set(attendee.learnerId, changed);
      return Promise.resolve(() => unsubscribed.push(attendee.learnerId));
    },
    view: (learnerId) => {
      computed.push(learnerId);
      return state.get(learnerId);
    },
    totals: (views) => [{ taskId: 't', done: [...views].filter((v) => v.doneCount === 1).length }],
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    disposed: () => {
      disposed = true;
    },
    ...overrides,
  });
  return { watch, state, runListeners, unsubscribed, computed, isDisposed: () => disposed };
}

describe('a workshop’s live watch', () => {
  it('gathers a burst of changes into one update per attendee, with the totals, and skips what changed nothing', async () => {
    vi.useFakeTimers();
    const { watch, state, runListeners } = setup([row('a'), row('b')]);
    const changes: WorkshopChange[] = [];
    watch.listen((change) => changes.push(change));
    await vi.advanceTimersByTimeAsync(0);
    state.set('a', view('a', true));
    for (let i = 0; i < 5; i++) runListeners.get('a')!();
    await vi.advanceTimersByTimeAsync(100);
    expect(changes).toEqual([
      { kind: 'attendee', attendee: state.get('a'), totals: [{ taskId: 't', done: 1 }] },
    ]);
    // Nothing new about a: no update.
    runListeners.get('a')!();
    await vi.advanceTimersByTimeAsync(100);
    expect(changes).toHaveLength(1);
    // Events for someone who is not an attendee are ignored.
    watch.changed('stranger');
    await vi.advanceTimersByTimeAsync(100);
    expect(changes).toHaveLength(1);
  });

  it('takes in a new attendee, and flags a quiet spell once it passes the threshold', async () => {
    vi.useFakeTimers({ now: 0 });
    const { watch, state, computed } = setup([row('a')]);
    const changes: WorkshopChange[] = [];
    watch.listen((change) => changes.push(change));
    await vi.advanceTimersByTimeAsync(0);
    state.set('c', view('c', false));
    watch.add(row('c'));
    await vi.advanceTimersByTimeAsync(100);
    expect(changes.map((c) => c.kind === 'attendee' && c.attendee.learnerId)).toEqual(['c']);
    computed.length = 0;
    state.set('a', view('a', false, 0, true));
    await vi.advanceTimersByTimeAsync(76_000);
    expect(computed).toContain('a');
    expect(
      changes.some(
        (c) => c.kind === 'attendee' && c.attendee.learnerId === 'a' && c.attendee.stuck.longOnTask,
      ),
    ).toBe(true);
  });

  it('lets go of everything when the last listener leaves', async () => {
    const { watch, unsubscribed, isDisposed } = setup([row('a'), row('b')]);
    const stop = watch.listen(() => undefined);
    const other = watch.listen(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    expect(isDisposed()).toBe(false);
    other();
    expect(isDisposed()).toBe(true);
    expect(unsubscribed.sort()).toEqual(['a', 'b']);
  });
});
