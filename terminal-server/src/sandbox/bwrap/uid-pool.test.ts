import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BwrapDriverError } from './errors.js';
import { UidPool } from './uid-pool.js';

describe('UidPool', () => {
  let dir: string;
  let busy: Map<number, number[]>;
  let clock: number;
  /** Every pool made by a test: their saves are written behind and must be done before cleanup. */
  let pools: UidPool[] = [];
  const pool = (first = 500000, last = 500002) => {
    const made = new UidPool({
      file: path.join(dir, 'homes', 'uids.json'),
      first,
      last,
      processesByUid: async () => busy,
      now: () => (clock += 1),
    });
    pools.push(made);
    return made;
  };
  const nobodyLive = () => false;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-uid-pool-'));
    busy = new Map();
    clock = 0;
  });
  afterEach(async () => {
    await Promise.all(pools.map((made) => made.flush()));
    pools = [];
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each home its own uid and the same one again, also after a restart', async () => {
    const first = pool();
    expect(await first.acquire('alice', nobodyLive)).toBe(500000);
    expect(await first.acquire('bob', nobodyLive)).toBe(500001);
    expect(await first.acquire('alice', nobodyLive)).toBe(500000);
    await first.flush();
    const restarted = pool();
    expect(await restarted.acquire('bob', nobodyLive)).toBe(500001);
    expect(await restarted.acquire('carol', nobodyLive)).toBe(500002);
    const file = path.join(dir, 'homes', 'uids.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).homes.alice.uid).toBe(500000);
  });

  it('hands out concurrent requests one at a time, never the same uid twice', async () => {
    const uids = pool(500000, 500009);
    const got = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => uids.acquire(key, nobodyLive)));
    expect(new Set(got).size).toBe(5);
  });

  it('shares one process scan among requests made together, and scans again for a later one', async () => {
    let scans = 0;
    const uids = new UidPool({
      file: path.join(dir, 'homes', 'uids.json'),
      first: 500000,
      last: 500009,
      processesByUid: async () => {
        scans += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return busy;
      },
    });
    pools.push(uids);
    await Promise.all(['a', 'b', 'c'].map((key) => uids.acquire(key, nobodyLive)));
    expect(scans).toBe(1);
    // A process that appeared since must be seen: a request made now gets a scan of its own.
    busy.set(500003, [999]);
    expect(await uids.acquire('d', nobodyLive)).toBe(500004);
    expect(scans).toBe(2);
  });

  it('has written every assignment once flushed, for the next start to find', async () => {
    const uids = pool(500000, 500009);
    for (const key of ['a', 'b', 'c']) await uids.acquire(key, nobodyLive);
    await uids.flush();
    const saved = JSON.parse(await readFile(path.join(dir, 'homes', 'uids.json'), 'utf8'));
    expect(Object.keys(saved.homes).sort()).toEqual(['a', 'b', 'c']);
  });

  it('skips uids that run processes it did not start, and refuses a home whose uid does', async () => {
    busy.set(500000, [1234]);
    const uids = pool();
    expect(await uids.acquire('alice', nobodyLive)).toBe(500001);
    busy.set(500001, [4321]);
    await expect(uids.acquire('alice', nobodyLive)).rejects.toMatchObject({ code: 'UID_IN_USE' });
    // A live home of this driver legitimately runs processes.
    expect(await uids.acquire('alice', (key) => key === 'alice')).toBe(500001);
  });

  it('reclaims the least recently used idle home when the pool is full, never a live one', async () => {
    const uids = pool(500000, 500001);
    await uids.acquire('alice', nobodyLive);
    await uids.acquire('bob', nobodyLive);
    await uids.acquire('alice', nobodyLive); // bob is now the least recently used
    expect(await uids.acquire('carol', (key) => key === 'alice')).toBe(500001);
    await expect(uids.acquire('dave', (key) => key === 'alice' || key === 'carol')).rejects.toSatisfy(
      (error: unknown) => error instanceof BwrapDriverError && error.code === 'UID_POOL_EXHAUSTED',
    );
  });
});
