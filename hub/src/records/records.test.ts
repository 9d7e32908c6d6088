import type { IncomingMessage } from 'node:http';
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
