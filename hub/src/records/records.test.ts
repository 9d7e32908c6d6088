import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../storage/database.js';
import { RequestRecords, trustedHeaderSessionResolver, type RequestRecord } from './records.js';

const base = { method: 'GET', path: '/v2/', status: 200, reference: undefined, digest: undefined };

describe('RequestRecords', () => {
  it('stores, emits and filters records, newest first', () => {
    const records = new RequestRecords(openDatabase(':memory:'));
    const seen: RequestRecord[] = [];
    records.on('record', (record) => seen.push(record));
    records.add({ ...base, time: 1000, session: 's1', account: 'alice', repository: 'alice/app' });
    records.add({ ...base, time: 2000, session: 's2', account: 'bob', repository: 'alice/app' });
    records.add({ ...base, time: 3000, session: 's1', account: undefined, repository: undefined });
    expect(seen.map((record) => record.id)).toEqual([1, 2, 3]);
    expect(records.query({ session: 's1' }).map((record) => record.time)).toEqual([3000, 1000]);
    expect(records.query({ account: 'bob' })).toHaveLength(1);
    expect(
      records.query({ repository: 'alice/app', since: new Date(1500) }).map((record) => record.account),
    ).toEqual(['bob']);
    expect(records.query({ limit: 1 })[0]?.time).toBe(3000);
  });
});

describe('RequestRecords batching', () => {
  it('writes records in batches, visible to query at once and on disk after flush', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'records-'));
    try {
      const file = path.join(dir, 'hub.db');
      const content = openDatabase(file);
      const first = new RequestRecords(openDatabase(file, { synchronous: 'NORMAL' }), {
        flushDelayMs: 60_000,
      });
      first.add({ ...base, time: 1, session: undefined, account: 'alice', repository: undefined });
      first.add({ ...base, time: 2, session: undefined, account: 'bob', repository: undefined });
      // Not written yet (the delay is long), but query() writes what is queued first.
      expect(content.prepare('SELECT COUNT(*) AS n FROM requests').get()).toEqual({ n: 0 });
      expect(first.query().map((record) => record.id)).toEqual([2, 1]);
      expect(content.prepare('SELECT COUNT(*) AS n FROM requests').get()).toEqual({ n: 2 });
      first.add({ ...base, time: 3, session: undefined, account: 'carol', repository: undefined });
      first.flush();
      // A new instance (a restart) continues the ids after the stored ones.
      const second = new RequestRecords(openDatabase(file, { synchronous: 'NORMAL' }));
      expect(
        second.add({ ...base, time: 4, session: undefined, account: undefined, repository: undefined }).id,
      ).toBe(4);
      expect(second.query().map((record) => record.account)).toEqual([undefined, 'carol', 'bob', 'alice']);
      // Without query or flush, the timer writes the batch.
      second.add({ ...base, time: 5, session: undefined, account: undefined, repository: undefined });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(content.prepare('SELECT MAX(id) AS id FROM requests').get()).toEqual({ id: 5 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('trustedHeaderSessionResolver', () => {
  const request = (header: string | undefined) =>
    ({ headers: header === undefined ? {} : { 'x-trustlab-session': header } }) as unknown as IncomingMessage;
  it('reads the header only from trusted requests, and only well-formed values', () => {
    const trusting = trustedHeaderSessionResolver(() => true);
    expect(trusting(request('lab-1'))).toBe('lab-1');
    expect(trusting(request('bad value\n'))).toBeUndefined();
    expect(trustedHeaderSessionResolver(() => false)(request('lab-1'))).toBeUndefined();
  });
});
