/**
 * The hub keeps timestamps fresh: a GET of timestamp.json re-signs it when it
 * has expired (as notary-server does) or expires within a day, and the result
 * still verifies for a client.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Metadata } from '../../trust-core/src/index.js';
import type { TestHub } from './helpers.js';
import { startHub } from './helpers.js';

const DAY = 86_400_000;
const PATH = '/v2/docker.io/library/busybox/_trust/tuf/timestamp.json';

describe('timestamp renewal', () => {
  let hub: TestHub;
  let now = new Date();

  beforeAll(async () => {
    hub = await startHub({ clock: () => now });
  });
  afterAll(async () => {
    await hub?.close();
  });

  async function timestamp() {
    const res = await hub.client.request('GET', PATH);
    expect(res.status).toBe(200);
    return Metadata.parse(new Uint8Array(res.body), 'Timestamp').signed;
  }

  it('serves the same timestamp while it is fresh', async () => {
    const first = await timestamp();
    now = new Date(now.getTime() + 5 * DAY);
    expect((await timestamp()).version).toBe(first.version);
  });

  it('reads a fresh timestamp without unsealing any server key', async () => {
    const keys = hub.hub.notary?.keys;
    if (!keys) throw new Error('notary not started');
    const signers = vi.spyOn(keys, 'signers');
    try {
      const first = await timestamp();
      const again = await Promise.all([timestamp(), timestamp(), timestamp()]);
      expect(again.map((t) => t.version)).toEqual([first.version, first.version, first.version]);
      expect(signers).not.toHaveBeenCalled();
    } finally {
      signers.mockRestore();
    }
  });

  it('re-signs it a day before it expires, with a new 14-day expiry', async () => {
    const before = await timestamp();
    now = new Date(before.expiresAt.getTime() - 12 * 60 * 60 * 1000);
    const renewed = await timestamp();
    expect(renewed.version).toBe(before.version + 1);
    expect(renewed.expiresAt.getTime()).toBe(now.getTime() + 14 * DAY);
    expect((await timestamp()).version).toBe(renewed.version);
  });

  it('re-signs an expired one', async () => {
    const before = await timestamp();
    now = new Date(before.expiresAt.getTime() + 30 * DAY);
    const renewed = await timestamp();
    expect(renewed.version).toBe(before.version + 1);
    expect(renewed.isExpired(now)).toBe(false);
  });
});
