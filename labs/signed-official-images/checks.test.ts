import { describe, expect, it } from 'vitest';
import { FakeSessionFacts } from '../engine/testing.js';
import { inspectBusybox, pullAlpineVerified } from './checks.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const run = (check: typeof inspectBusybox, facts: FakeSessionFacts) =>
  check({ facts, attendee: { username: 'u' } });

function trustGet(f: FakeSessionFacts, name: string, role: string, status = 200) {
  f.record({
    method: 'GET',
    path: `/v2/docker.io/library/${name}/_trust/tuf/${role}.json`,
    status,
    repository: `library/${name}`,
    gun: `docker.io/library/${name}`,
    role,
  });
}

function manifestGet(f: FakeSessionFacts, name: string, reference: string) {
  f.record({
    method: 'GET',
    path: `/v2/library/${name}/manifests/${reference}`,
    repository: `library/${name}`,
    reference,
    digest: DIGEST,
  });
}

describe('inspect-busybox', () => {
  it('is done when trust inspect read the trust data and no manifest', async () => {
    const f = new FakeSessionFacts();
    trustGet(f, 'busybox', 'root');
    trustGet(f, 'busybox', 'timestamp');
    f.event({ command: 'trust inspect', trust: false, outcome: 'OK' });
    expect((await run(inspectBusybox, f)).state).toBe('done');
  });

  it('is not done by a forged event, a pull, or an inspect of another image', async () => {
    const f = new FakeSessionFacts();
    f.event({ command: 'trust inspect', outcome: 'OK', reference: 'busybox' });
    trustGet(f, 'busybox', 'timestamp');
    manifestGet(f, 'busybox', DIGEST);
    f.event({ command: 'trust inspect', outcome: 'OK' });
    trustGet(f, 'alpine', 'timestamp');
    f.event({ command: 'trust inspect', outcome: 'OK', reference: 'alpine' });
    trustGet(f, 'busybox', 'timestamp', 404);
    f.event({ command: 'trust inspect', outcome: 'OK', reference: 'busybox' });
    expect((await run(inspectBusybox, f)).state).toBe('pending');
  });
});

describe('pull-verified', () => {
  function withTrust() {
    const f = new FakeSessionFacts();
    f.setTrustData('docker.io/library/alpine', {
      state: 'verified',
      targets: [{ name: 'latest', role: 'targets', digest: DIGEST, length: 500 }],
      rootKeyIds: [],
      targetsKeyIds: [],
    });
    return f;
  }

  it('is done for trust data read, then the manifest by its signed digest', async () => {
    const f = withTrust();
    trustGet(f, 'alpine', 'timestamp');
    manifestGet(f, 'alpine', DIGEST);
    f.event({
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: 'docker.io/library/alpine:latest',
    });
    expect((await run(pullAlpineVerified, f)).state).toBe('done');
  });

  it('is not done by a plain pull, a pull by digest alone, or a forged event', async () => {
    const f = withTrust();
    manifestGet(f, 'alpine', 'latest');
    f.event({
      command: 'pull',
      trust: false,
      outcome: 'PULLED',
      reference: 'docker.io/library/alpine:latest',
    });
    manifestGet(f, 'alpine', DIGEST);
    f.event({
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: 'docker.io/library/alpine:latest',
    });
    f.event({
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: 'docker.io/library/alpine:latest',
    });
    expect((await run(pullAlpineVerified, f)).state).toBe('pending');
  });
});
