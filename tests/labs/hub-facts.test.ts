/**
 * The session facts adapters on a real hub: records of one session only,
 * oldest first, with a signal per new record; and trust data verified with
 * trust-core over what the hub stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_HEADER, trustedHeaderSessionResolver } from '../../hub/src/index.js';
import { hubSessionRecords, hubTrustData } from '../../labs/engine/index.js';
import { startHub, type TestHub } from '../hub/helpers.js';

describe('hub facts', () => {
  let t: TestHub;

  beforeAll(async () => {
    t = await startHub({ sessionResolver: trustedHeaderSessionResolver(() => true) });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('gives a session its own records, oldest first, and signals only its own', async () => {
    const mine = hubSessionRecords(t.hub.records, 'mine');
    let signals = 0;
    const stop = mine.watch(() => signals++);
    await t.client.request('GET', '/v2/library/busybox/manifests/latest', {
      headers: { [SESSION_HEADER]: 'mine' },
    });
    await t.client.request('GET', '/v2/library/busybox/manifests/latest', {
      headers: { [SESSION_HEADER]: 'theirs' },
    });
    await t.client.request('GET', '/v2/docker.io/library/busybox/_trust/tuf/root.json', {
      headers: { [SESSION_HEADER]: 'mine' },
    });
    await expect.poll(() => signals).toBe(2);
    stop();
    await t.client.request('GET', '/v2/', { headers: { [SESSION_HEADER]: 'mine' } });
    const records = await mine.records({ repository: 'library/busybox' });
    expect(records.map((r) => [r.session, r.path])).toEqual([
      ['mine', '/v2/library/busybox/manifests/latest'],
      ['mine', '/v2/docker.io/library/busybox/_trust/tuf/root.json'],
    ]);
    expect((await mine.records()).at(-1)?.path).toBe('/v2/');
    expect(signals).toBe(2);
  });

  it('verifies the trust data the hub stores, and tells missing trust data apart', async () => {
    const trustData = hubTrustData(() => t.hub.notary);
    const busybox = await trustData('docker.io/library/busybox');
    expect(busybox.state).toBe('verified');
    const token = await t.client.token(['repository:library/busybox:pull']);
    const manifest = await t.client.request('GET', '/v2/library/busybox/manifests/latest', { token });
    expect(manifest.status).toBe(200);
    const latest =
      busybox.state === 'verified' ? busybox.targets.find((target) => target.name === 'latest') : undefined;
    expect(latest?.digest).toBe(manifest.header('docker-content-digest'));
    expect(latest?.role).toBe('targets');
    expect(busybox.state === 'verified' && busybox.rootKeyIds).toHaveLength(1);
    expect(await trustData('docker.io/nobody/nothing')).toEqual({ state: 'missing' });
    expect(await hubTrustData(() => undefined)('docker.io/library/busybox')).toMatchObject({
      state: 'invalid',
    });
  });

  it('reports trust data that no longer verifies as invalid', async () => {
    // A clock past the root certificate's ten years: notary no longer accepts the root.
    const later = hubTrustData(() => t.hub.notary, { now: () => new Date('2200-01-01T00:00:00Z') });
    const result = await later('docker.io/library/alpine');
    expect(result).toMatchObject({ state: 'invalid', reason: expect.stringContaining('trusted root') });
  });
});
