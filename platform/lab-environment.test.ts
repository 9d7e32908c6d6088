import { describe, expect, it } from 'vitest';
import { loadLabs } from '../labs/engine/index.js';
import type { HubRepositoryView } from './api.js';
import { assertHubImages, missingHubImages } from './lab-environment.js';

const signedTag = (tag: string) => ({
  tag,
  digest: `sha256:${'a'.repeat(64)}`,
  signed: true,
  signers: ['targets'],
});

describe('lab environment on the hub', () => {
  it("finds nothing missing when the hub holds every lab's images, signed", async () => {
    const { labs } = await loadLabs();
    const hub: HubRepositoryView[] = [
      { name: 'library/busybox', tags: [signedTag('latest')] },
      { name: 'library/alpine', tags: [signedTag('latest')] },
    ];
    expect(missingHubImages(labs, hub)).toEqual([]);
    expect(() => assertHubImages(labs, hub)).not.toThrow();
  });

  it('names the lab, the image and what is wrong', async () => {
    const { labs } = await loadLabs();
    const hub: HubRepositoryView[] = [
      { name: 'library/busybox', tags: [{ ...signedTag('latest'), signed: false }] },
    ];
    const problems = missingHubImages(labs, hub);
    expect(problems).toContain('lab content-trust: library/alpine:latest is not on the hub');
    expect(problems).toContain('lab content-trust: library/busybox:latest is on the hub but not signed');
    expect(() => assertHubImages(labs, hub)).toThrow(/the hub lacks images a lab needs/);
  });
});
