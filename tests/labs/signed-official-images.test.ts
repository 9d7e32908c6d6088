/**
 * The second lab against the real client: it proves that a lab is only its
 * two folders, and its checks hold for real records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import signedOfficialImages from '../../labs/signed-official-images/index.js';
import { runDocker } from '../client/docker-helpers.js';
import { startLabHarness, type LabHarness } from './lab-harness.js';

describe('signed-official-images lab', () => {
  let h: LabHarness;

  beforeAll(async () => {
    h = await startLabHarness(signedOfficialImages, 'labs/signed-official-images/index.ts');
    await h.session.start();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('ticks inspect-busybox after docker trust inspect, not after a pull', async () => {
    const pulled = await h.step(() =>
      runDocker(['pull', 'busybox'], { ...h.env, DOCKER_CONTENT_TRUST: '1' }),
    );
    expect(pulled['inspect-busybox']).toBe('pending');
    const inspected = await h.step(() => runDocker(['trust', 'inspect', '--pretty', 'busybox'], h.env));
    expect(inspected['inspect-busybox']).toBe('done');
  });

  it('ticks pull-verified after a pull with trust, not after a plain one', async () => {
    const plain = await h.step(() => runDocker(['pull', 'alpine'], h.env));
    expect(plain['pull-verified']).toBe('pending');
    const verified = await h.step(() =>
      runDocker(['pull', 'alpine'], { ...h.env, DOCKER_CONTENT_TRUST: '1' }),
    );
    expect(verified['pull-verified']).toBe('done');
  });
});
