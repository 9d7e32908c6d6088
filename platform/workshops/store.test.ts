import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressStore } from '../progress-store.js';
import { KEPT_BROADCASTS, WorkshopStore } from './store.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(dir?: string) {
  const dataDir = dir ?? (await mkdtemp(path.join(tmpdir(), 'trustlab-workshops-')));
  if (dir === undefined) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const progress = new ProgressStore(dataDir);
  cleanups.push(() => progress.close());
  const store = new WorkshopStore(progress);
  for (const id of ['l1', 'l2', 'l3'])
    if (progress.learner(id) === undefined)
      progress.addLearner({
        id,
        tokenDigest: `d-${id}`,
        username: `learner-${id}`,
        password: 'p',
        createdAt: 0,
      });
  return { dataDir, progress, store };
}

const workshop = (id: string, code: string, capacity = 2) => ({
  id,
  code,
  labId: 'lab',
  title: `Workshop ${id}`,
  capacity,
  startsAt: 0,
  endsAt: 10_000,
  createdAt: 0,
});

describe('workshop store', () => {
  it('creates its tables idempotently and refuses a newer schema', async () => {
    const { dataDir, progress, store } = await open();
    store.addWorkshop(workshop('w1', 'ABC234'));
    expect(() => new WorkshopStore(progress)).not.toThrow();
    progress.close();
    const again = await open(dataDir);
    expect(again.store.workshop('w1')?.code).toBe('ABC234');
    again.progress.database.prepare("UPDATE schema_parts SET version = 99 WHERE part = 'workshops'").run();
    expect(() => new WorkshopStore(again.progress)).toThrow(/cannot open the workshop tables/);
  });

  it('never takes more attendees than the capacity, and a second join is the same attendee', async () => {
    const { store } = await open();
    store.addWorkshop(workshop('w1', 'ABC234', 2));
    expect(store.join('w1', 'l1', 'One', 2, 100)).toMatchObject({
      kind: 'joined',
      attendee: { username: 'learner-l1' },
    });
    expect(store.join('w1', 'l2', 'Two', 2, 200).kind).toBe('joined');
    expect(store.join('w1', 'l3', 'Three', 2, 300)).toEqual({ kind: 'full' });
    expect(store.join('w1', 'l1', 'Uno', 2, 400)).toMatchObject({
      kind: 'rejoined',
      attendee: { displayName: 'Uno', joinedAt: 100 },
    });
    expect(store.attendees('w1').map((a) => a.displayName)).toEqual(['Uno', 'Two']);
    expect(store.attendeeCount('w1')).toBe(2);
    expect(() => store.addWorkshop(workshop('w2', 'ABC234'))).toThrow();
  });

  it('knows each learner’s current workshop, the one a broadcast reaches them through', async () => {
    const { store } = await open();
    store.addWorkshop(workshop('w1', 'AAAAAA', 5));
    store.addWorkshop(workshop('w2', 'BBBBBB', 5));
    store.join('w1', 'l1', 'One', 5, 100);
    store.join('w1', 'l2', 'Two', 5, 100);
    store.join('w2', 'l1', 'One again', 5, 200);
    expect(store.currentAttendance('l1')?.workshopId).toBe('w2');
    expect(store.currentAttendance('l3')).toBeUndefined();
    expect(store.currentAttendees('w1')).toEqual(['l2']);
    expect(store.currentAttendees('w2')).toEqual(['l1']);
  });

  it('keeps the last few broadcasts, newest first', async () => {
    const { store } = await open();
    store.addWorkshop(workshop('w1', 'AAAAAA'));
    for (let i = 0; i < KEPT_BROADCASTS + 3; i++) store.addBroadcast('w1', `message ${i}`, i);
    const kept = store.broadcasts('w1');
    expect(kept).toHaveLength(KEPT_BROADCASTS);
    expect(kept[0]).toEqual({ message: `message ${KEPT_BROADCASTS + 2}`, at: KEPT_BROADCASTS + 2 });
    expect(store.broadcasts('w1', 1)).toHaveLength(1);
  });

  it('clears a learner’s progress in one lab and records when', async () => {
    const { progress } = await open();
    progress.addPassed('l1', 'lab', 'a', 10);
    progress.addPassed('l1', 'other', 'a', 10);
    progress.clearProgress('l1', 'lab', 50);
    expect(progress.passed('l1', 'lab')).toEqual([]);
    expect(progress.passed('l1', 'other')).toEqual(['a']);
    expect(progress.progressResetAt('l1', 'lab')).toBe(50);
    progress.clearProgress('l1', 'lab', 70);
    expect(progress.progressResetAt('l1', 'lab')).toBe(70);
    expect(progress.progressResetAt('l2', 'lab')).toBeUndefined();
  });
});
