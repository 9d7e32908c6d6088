/**
 * notary-server re-signs the timestamp when a GET finds it expired or out of
 * sync with the snapshot (server/timestamp/timestamp.go); the hub also
 * renews it shortly before it expires.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Metadata } from '../models/metadata.js';
import { RepositorySimulator } from '../testing/simulator.js';
import { serverTimestamp } from './validation.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const DAY = 86_400_000;
let sim: RepositorySimulator;

beforeEach(async () => {
  sim = await RepositorySimulator.create('docker.io/alice/app', NOW);
});

function input(now: Date, renewBeforeMs?: number) {
  return {
    gun: sim.gun,
    root: sim.files.get('root')!,
    snapshot: sim.files.get('snapshot')!,
    timestamp: sim.files.get('timestamp')!,
    serverSigners: { timestamp: sim.keys.timestamp[0]!.signer() },
    now,
    ...(renewBeforeMs === undefined ? {} : { renewBeforeMs }),
  };
}

describe('serverTimestamp', () => {
  it('keeps a current timestamp that matches the snapshot', async () => {
    const result = await serverTimestamp(input(new Date(NOW.getTime() + DAY)));
    expect(result.changed).toBe(false);
    expect(result.timestamp).toBe(sim.files.get('timestamp'));
  });

  it('re-signs an expired timestamp: next version, 14 days from now', async () => {
    const later = new Date(NOW.getTime() + 15 * DAY);
    const result = await serverTimestamp(input(later));
    expect(result.changed).toBe(true);
    const ts = Metadata.parse(result.timestamp, 'Timestamp');
    expect(ts.signed.version).toBe(2);
    expect(ts.signed.expiresAt.getTime()).toBe(later.getTime() + 14 * DAY);
  });

  it('renews a timestamp within the renewal window', async () => {
    const almost = new Date(NOW.getTime() + 13.5 * DAY);
    expect((await serverTimestamp(input(almost))).changed).toBe(false);
    const renewed = await serverTimestamp(input(almost, DAY));
    expect(renewed.changed).toBe(true);
    expect(Metadata.parse(renewed.timestamp, 'Timestamp').signed.version).toBe(2);
  });

  it('re-signs a timestamp that no longer matches the snapshot', async () => {
    const stale = sim.files.get('timestamp')!;
    sim.addTarget('v2', new TextEncoder().encode('two'));
    await sim.publish();
    const result = await serverTimestamp({ ...input(NOW), timestamp: stale });
    expect(result.changed).toBe(true);
    const ts = Metadata.parse(result.timestamp, 'Timestamp');
    expect(ts.signed.snapshotMeta.length).toBe(sim.files.get('snapshot')!.length);
  });
});
