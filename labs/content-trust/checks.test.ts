/**
 * The Content Trust checks on synthetic sessions. The record sequences
 * follow what the hub recorded for the lab's real `docker` (see
 * tests/labs/content-trust-workshop.test.ts for the same flow live); the
 * forged ones are what a learner could produce without doing the work:
 * events written by hand, files created by hand, the wrong pulls.
 */
import { describe, expect, it } from 'vitest';
import { PrivateKey, encodeKeyFile } from '../../trust-core/src/index.js';
import type { Check, TrustDataFacts } from '../engine/index.js';
import { FakeSessionFacts } from '../engine/testing.js';
import { createRepo, enableTrust, pullImages, pushSigned, yubikey } from './checks.js';

const USER = 'alice';
const REPO = 'alice/dctrust';
const GUN = 'docker.io/alice/dctrust';
const BUSYBOX = `sha256:${'b'.repeat(64)}`;
const OTHER = `sha256:${'c'.repeat(64)}`;
const ROOT_ID = '1'.repeat(64);
const TARGETS_ID = '2'.repeat(64);

const run = (check: Check, facts: FakeSessionFacts) => check({ facts, attendee: { username: USER } });

/** The requests the lab's docker makes, as the hub records them (with the session's attribution). */
class Learner {
  constructor(readonly f: FakeSessionFacts) {}

  private auth() {
    this.f.record({ method: 'GET', path: '/v2/', status: 401 });
    this.f.record({ method: 'GET', path: '/token', account: USER });
  }

  manifestPut(tag: string, digest = BUSYBOX, repository = REPO, status = 201) {
    this.f.record({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${tag}`,
      status,
      repository,
      reference: tag,
      digest,
      account: USER,
    });
  }

  manifestGet(reference: string, digest = BUSYBOX, repository = REPO) {
    this.f.record({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      repository,
      reference,
      digest,
      account: USER,
    });
  }

  trustGet(role: string, status = 200, gun = GUN) {
    this.f.record({
      method: 'GET',
      path: `/v2/${gun}/_trust/tuf/${role}.json`,
      status,
      repository: gun.replace(/^docker\.io\//, ''),
      gun,
      role,
      account: USER,
    });
  }

  publish(gun = GUN) {
    this.f.record({
      method: 'POST',
      path: `/v2/${gun}/_trust/tuf/`,
      repository: gun.replace(/^docker\.io\//, ''),
      gun,
      role: 'root,targets',
      account: USER,
    });
  }

  pushUnsigned(tag: string, digest = BUSYBOX, repository = REPO) {
    this.auth();
    this.f.record({ method: 'HEAD', path: `/v2/${repository}/blobs/${OTHER}`, status: 404, repository });
    this.manifestPut(tag, digest, repository);
    this.f.event({
      command: 'push',
      trust: false,
      outcome: 'PUSHED',
      reference: `docker.io/${repository}:${tag}`,
      digest,
    });
  }

  pushSigned(tag: string, digest = BUSYBOX) {
    this.auth();
    this.manifestPut(tag, digest);
    this.auth();
    this.trustGet('root', 404);
    this.publish();
    this.f.event({ command: 'push', trust: true, outcome: 'SIGNED', reference: `${GUN}:${tag}`, digest });
  }

  /** DOCKER_CONTENT_TRUST=1 docker pull, before anyone signed the repository. */
  pullRefusedNoTrustData(tag: string) {
    this.auth();
    this.trustGet('root', 404);
    this.f.event({ command: 'pull', trust: true, outcome: 'TRUST_DATA_MISSING', reference: `${GUN}:${tag}` });
  }

  /** DOCKER_CONTENT_TRUST=1 docker pull of a tag the trust data does not list. */
  pullRefusedUnsignedTag(tag: string) {
    this.auth();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) this.trustGet(role);
    this.f.event({ command: 'pull', trust: true, outcome: 'TAG_NOT_SIGNED', reference: `${GUN}:${tag}` });
  }

  pullVerified(tag: string, digest = BUSYBOX) {
    this.auth();
    this.trustGet('timestamp');
    this.auth();
    this.manifestGet(digest, digest);
    this.f.event({ command: 'pull', trust: true, outcome: 'VERIFIED', reference: `${GUN}:${tag}`, digest });
  }

  pullPlain(tag: string, digest = BUSYBOX) {
    this.auth();
    this.manifestGet(tag, digest);
    this.f.event({ command: 'pull', trust: false, outcome: 'PULLED', reference: `${GUN}:${tag}`, digest });
  }
}

function session() {
  const f = new FakeSessionFacts();
  return { f, learner: new Learner(f) };
}

function verified(targets: Array<[string, string]>): TrustDataFacts {
  return {
    state: 'verified',
    targets: targets.map(([name, digest]) => ({ name, role: 'targets', digest, length: 527 })),
    rootKeyIds: [ROOT_ID],
    targetsKeyIds: [TARGETS_ID],
  };
}

function keyFile(role: string, options: { gun?: string; encrypted?: boolean } = {}) {
  return encodeKeyFile(PrivateKey.generate('ecdsa'), {
    role,
    ...(options.gun ? { gun: options.gun } : {}),
    passphrase: options.encrypted === false ? '' : 'a-long-passphrase',
  });
}

function writeKeys(f: FakeSessionFacts, options: { encrypted?: boolean; rootId?: string } = {}) {
  f.writeFile(`.docker/trust/private/${options.rootId ?? ROOT_ID}.key`, keyFile('root', options));
  f.writeFile(`.docker/trust/private/${TARGETS_ID}.key`, keyFile('targets', { ...options, gun: GUN }));
}

describe('create-repo', () => {
  it('is done after an unsigned push of <user>/dctrust:latest', async () => {
    const { f, learner } = session();
    expect((await run(createRepo, f)).state).toBe('pending');
    learner.pushUnsigned('latest');
    expect(await run(createRepo, f)).toEqual({ state: 'done' });
  });

  it('is done when the push is closed by the next push rather than by an event', async () => {
    const { f, learner } = session();
    learner.manifestPut('latest');
    learner.manifestPut('other');
    expect((await run(createRepo, f)).state).toBe('done');
  });

  it('is not done by events alone, a refused PUT, or a push elsewhere', async () => {
    const { f, learner } = session();
    f.event({
      command: 'push',
      trust: false,
      outcome: 'PUSHED',
      reference: `${GUN}:latest`,
      digest: BUSYBOX,
    });
    learner.manifestPut('latest', BUSYBOX, REPO, 401);
    f.event({ command: 'push', trust: false, outcome: 'ERROR', reference: `${GUN}:latest` });
    learner.pushUnsigned('latest', BUSYBOX, 'alice/other');
    learner.pushUnsigned('latest', BUSYBOX, 'bob/dctrust');
    learner.pushUnsigned('v1');
    expect((await run(createRepo, f)).state).toBe('pending');
  });

  it('waits while a push is still running (it may yet sign)', async () => {
    const { f, learner } = session();
    learner.manifestPut('latest');
    const result = await run(createRepo, f);
    expect(result.state).toBe('pending');
    expect(result.state === 'pending' && result.reason).toMatch(/not finished/);
  });

  it('fails for a signed push of :latest, and keeps failing while that signature stands', async () => {
    const { f, learner } = session();
    learner.pushSigned('latest');
    f.setTrustData(GUN, verified([['latest', BUSYBOX]]));
    const result = await run(createRepo, f);
    expect(result.state).toBe('failed');
    expect(result.state === 'failed' && result.suggestion).toMatch(
      /docker trust revoke alice\/dctrust:latest/,
    );
    learner.pushUnsigned('latest');
    expect(await run(createRepo, f)).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('still signed from an earlier signed push'),
    });
    // Signature revoked: the trust data no longer lists latest, and the unsigned push counts.
    f.setTrustData(GUN, verified([]));
    expect((await run(createRepo, f)).state).toBe('done');
  });
});

describe('enable-trust', () => {
  it('is done when a pull with trust found no trust data and got no manifest', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    expect((await run(enableTrust, f)).state).toBe('pending');
    learner.pullRefusedNoTrustData('latest');
    expect(await run(enableTrust, f)).toEqual({ state: 'done' });
  });

  it('needs the unsigned push first', async () => {
    const { f, learner } = session();
    learner.pullRefusedNoTrustData('latest');
    learner.pushUnsigned('latest');
    const result = await run(enableTrust, f);
    expect(result.state).toBe('pending');
  });

  it('is not done by a forged event', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    f.event({ command: 'pull', trust: true, outcome: 'TRUST_DATA_MISSING', reference: `${GUN}:latest` });
    // The hub saw no trust request in that "pull": the claim only earns the no-trust message.
    expect(await run(enableTrust, f)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/did not ask/),
    });
  });

  it('fails for a pull without trust, and says how to turn it on', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.pullPlain('latest');
    const result = await run(enableTrust, f);
    expect(result.state).toBe('failed');
    expect(result.state === 'failed' && result.suggestion).toContain('export DOCKER_CONTENT_TRUST=1');
  });

  it('does not count a 404 when a manifest was served in the same command', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    // e.g. `notary list` without events, then a plain pull: one attempt, both kinds of records.
    learner.trustGet('root', 404);
    learner.pullPlain('latest');
    expect((await run(enableTrust, f)).state).not.toBe('done');
  });

  it('does not count a 404 for another repository', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.trustGet('root', 404, 'docker.io/alice/other');
    f.event({ command: 'pull', trust: true, outcome: 'TRUST_DATA_MISSING', reference: `${GUN}:latest` });
    expect((await run(enableTrust, f)).state).not.toBe('done');
  });

  it('fails once the repository has trust data (the refusal can no longer be shown)', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.pushSigned('signed');
    learner.pullRefusedUnsignedTag('latest');
    expect((await run(enableTrust, f)).state).toBe('failed');
  });
});

describe('push-signed', () => {
  function signedSession() {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.pushSigned('signed');
    f.setTrustData(GUN, verified([['signed', BUSYBOX]]));
    return { f, learner };
  }

  it('is done with verified trust data, the matching manifest and encrypted keys that signed it', async () => {
    const { f } = signedSession();
    writeKeys(f);
    expect(await run(pushSigned, f)).toEqual({ state: 'done' });
  });

  it('is pending without trust data, even with key files written by hand', async () => {
    const { f, learner } = session();
    writeKeys(f);
    learner.pushUnsigned('signed');
    const result = await run(pushSigned, f);
    expect(result.state).toBe('pending');
  });

  it('fails when the trust data does not verify', async () => {
    const { f } = signedSession();
    writeKeys(f);
    f.setTrustData(GUN, { state: 'invalid', reason: 'signature on targets is not valid' });
    const result = await run(pushSigned, f);
    expect(result.state).toBe('failed');
    expect(result.state === 'failed' && result.reason).toContain('signature on targets is not valid');
  });

  it('is pending when the trust data does not sign :signed', async () => {
    const { f } = signedSession();
    writeKeys(f);
    f.setTrustData(GUN, verified([['latest', BUSYBOX]]));
    expect((await run(pushSigned, f)).state).toBe('pending');
  });

  it('is pending when this session never made a signed push (events alone do not count)', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('signed');
    f.event({ command: 'push', trust: true, outcome: 'SIGNED', reference: `${GUN}:signed`, digest: BUSYBOX });
    f.setTrustData(GUN, verified([['signed', BUSYBOX]]));
    writeKeys(f);
    expect((await run(pushSigned, f)).state).toBe('pending');
  });

  it('fails when the registry holds another manifest under :signed than the signature names', async () => {
    const { f, learner } = signedSession();
    writeKeys(f);
    learner.pushUnsigned('signed', OTHER);
    const result = await run(pushSigned, f);
    expect(result.state).toBe('failed');
    expect(result.state === 'failed' && result.reason).toContain(OTHER);
  });

  it('fails without the keys, with unencrypted keys, or with keys that did not sign', async () => {
    const missing = signedSession();
    expect(await run(pushSigned, missing.f)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/No root key/),
    });

    const plain = signedSession();
    writeKeys(plain.f, { encrypted: false });
    expect(await run(pushSigned, plain.f)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/not encrypted/),
    });

    const other = signedSession();
    writeKeys(other.f, { rootId: '9'.repeat(64) });
    expect(await run(pushSigned, other.f)).toMatchObject({
      state: 'failed',
      reason: expect.stringMatching(/not the key that signed/),
    });

    const notKeys = signedSession();
    notKeys.f.writeFile(`.docker/trust/private/${ROOT_ID}.key`, 'role: root\nthis is not a key\n');
    notKeys.f.writeFile(`.docker/trust/private/${TARGETS_ID}.key`, keyFile('targets', { gun: GUN }));
    expect((await run(pushSigned, notKeys.f)).state).toBe('failed');
  });
});

describe('pull-images', () => {
  function readySession() {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.pullRefusedNoTrustData('latest');
    learner.pushSigned('signed');
    f.setTrustData(GUN, verified([['signed', BUSYBOX]]));
    return { f, learner };
  }

  it('is done after the four pulls of the workshop, in any order', async () => {
    const { f, learner } = readySession();
    learner.pullPlain('signed');
    learner.pullRefusedUnsignedTag('latest');
    learner.pullVerified('signed');
    expect((await run(pullImages, f)).state).toBe('pending');
    learner.pullPlain('latest');
    expect(await run(pullImages, f)).toEqual({ state: 'done' });
  });

  it('is pending after pulling :signed without trust alone, and names what is left', async () => {
    const { f, learner } = readySession();
    learner.pullPlain('signed');
    const result = await run(pullImages, f);
    expect(result.state).toBe('pending');
    expect(result.state === 'pending' && result.reason).toContain('with content trust on (refused)');
    expect(result.state === 'pending' && result.reason).not.toContain(
      '--disable-content-trust alice/dctrust:signed',
    );
  });

  it('is pending before anything is signed', async () => {
    const { f, learner } = session();
    learner.pushUnsigned('latest');
    learner.pullPlain('latest');
    learner.pullPlain('signed');
    expect((await run(pullImages, f)).state).toBe('pending');
  });

  it('does not take forged events for the pulls', async () => {
    const { f } = readySession();
    for (const [tag, trust, outcome] of [
      ['latest', true, 'TAG_NOT_SIGNED'],
      ['signed', true, 'VERIFIED'],
      ['latest', false, 'PULLED'],
      ['signed', false, 'PULLED'],
    ] as const) {
      f.event({ command: 'pull', trust, outcome, reference: `${GUN}:${tag}` });
    }
    expect((await run(pullImages, f)).state).toBe('pending');
  });

  it('does not take a pull by digest without trust for the verified pull', async () => {
    const { f, learner } = readySession();
    learner.pullRefusedUnsignedTag('latest');
    learner.pullPlain('latest');
    learner.pullPlain('signed');
    // docker pull alice/dctrust@sha256:…, labelled by a forged event as the trusted pull of :signed.
    learner.manifestGet(BUSYBOX, BUSYBOX);
    f.event({
      command: 'pull',
      trust: true,
      outcome: 'VERIFIED',
      reference: `${GUN}:signed`,
      digest: BUSYBOX,
    });
    expect((await run(pullImages, f)).state).toBe('pending');
  });

  it('does not count a pull with trust fetches as the pull without trust, nor a served manifest as a refusal', async () => {
    const { f, learner } = readySession();
    learner.pullVerified('signed');
    // Trust data read and the manifest served by tag in one command: neither plain nor refused.
    learner.trustGet('timestamp');
    learner.manifestGet('latest');
    f.event({ command: 'pull', trust: false, outcome: 'PULLED', reference: `${GUN}:latest` });
    learner.trustGet('timestamp');
    learner.manifestGet('signed');
    f.event({ command: 'pull', trust: true, outcome: 'TAG_NOT_SIGNED', reference: `${GUN}:latest` });
    learner.pullPlain('signed');
    const result = await run(pullImages, f);
    expect(result.state).toBe('pending');
    expect(result.state === 'pending' && result.reason).toContain('(refused)');
    expect(result.state === 'pending' && result.reason).toContain(
      '--disable-content-trust alice/dctrust:latest',
    );
  });

  it('does not count a refusal of :latest when the trust data signs it', async () => {
    const { f, learner } = readySession();
    f.setTrustData(
      GUN,
      verified([
        ['signed', BUSYBOX],
        ['latest', BUSYBOX],
      ]),
    );
    learner.pullRefusedUnsignedTag('latest');
    learner.pullVerified('signed');
    learner.pullPlain('latest');
    learner.pullPlain('signed');
    expect((await run(pullImages, f)).state).toBe('pending');
  });
});

describe('yubikey', () => {
  const ALPINE = 'alice/alpine';
  const ALPINE_GUN = 'docker.io/alice/alpine';
  const TOKEN_KEY = '7'.repeat(64);

  /** The workshop's Task 5 up to the signed push: key on the token, root.json published with it. */
  function published(rootKeyIds = [TOKEN_KEY]) {
    const { f, learner } = session();
    f.setTokenKeys([TOKEN_KEY]);
    learner.manifestPut('signed', BUSYBOX, ALPINE);
    learner.publish(ALPINE_GUN);
    f.setTrustData(ALPINE_GUN, {
      state: 'verified',
      targets: [{ name: 'signed', role: 'targets', digest: BUSYBOX, length: 527 }],
      rootKeyIds,
      targetsKeyIds: [TARGETS_ID],
    });
    return f;
  }

  const listed = (f: FakeSessionFacts, outcome = 'LISTED_YUBIKEY') =>
    f.event({ command: 'notary key list', outcome });

  it('stays pending on a server without YubiKey support, and before the token holds a key', async () => {
    const { f } = session();
    expect(await run(yubikey, f)).toMatchObject({
      state: 'pending',
      reason: expect.stringMatching(/no YubiKey/),
    });
    f.setTokenKeys([]);
    const result = await run(yubikey, f);
    expect(result).toMatchObject({
      state: 'pending',
      suggestion: expect.stringContaining('notary key generate'),
    });
  });

  it('stays pending until the hub has this session’s trust data for <user>/alpine', async () => {
    const { f } = session();
    f.setTokenKeys([TOKEN_KEY]);
    // Trust data the hub holds, but no publish by this session: not the attendee's work.
    f.setTrustData(ALPINE_GUN, {
      state: 'verified',
      targets: [],
      rootKeyIds: [TOKEN_KEY],
      targetsKeyIds: [],
    });
    expect((await run(yubikey, f)).state).toBe('pending');
  });

  it('fails when the published root key is not on the token, with the way out', async () => {
    const f = published([ROOT_ID]);
    listed(f);
    const result = await run(yubikey, f);
    expect(result.state).toBe('failed');
    expect(result.state === 'failed' && result.suggestion).toContain(
      'notary delete docker.io/alice/alpine --remote',
    );
  });

  it('fails when the trust data does not verify', async () => {
    const f = published();
    f.setTrustData(ALPINE_GUN, { state: 'invalid', reason: 'root signature invalid' });
    expect((await run(yubikey, f)).state).toBe('failed');
  });

  it('waits for a key listing that showed the token, then ticks', async () => {
    const f = published();
    expect(await run(yubikey, f)).toMatchObject({
      state: 'pending',
      reason: expect.stringContaining('notary key list'),
    });
    // A listing without the token's keys proves nothing.
    listed(f, 'OK');
    expect((await run(yubikey, f)).state).toBe('pending');
    listed(f);
    expect((await run(yubikey, f)).state).toBe('done');
  });

  it('needs the signed tag, not only a root', async () => {
    const f = published();
    f.setTrustData(ALPINE_GUN, {
      state: 'verified',
      targets: [],
      rootKeyIds: [TOKEN_KEY],
      targetsKeyIds: [],
    });
    listed(f);
    expect((await run(yubikey, f)).state).toBe('pending');
  });

  it('a forged listing event alone ticks nothing', async () => {
    const { f } = session();
    listed(f);
    expect((await run(yubikey, f)).state).toBe('pending');
  });
});
