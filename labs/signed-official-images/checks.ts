/**
 * Checks of the official-images lab: reading signatures with
 * `docker trust inspect`, and a pull verified against them. As everywhere,
 * the hub's records are the proof and the client's event only says which
 * command a group of records belongs to.
 */
import {
  attemptsOf,
  done,
  isManifestRead,
  isManifestServed,
  isSuccess,
  isTrustMetadataGet,
  normaliseReference,
  namesTag,
  pending,
  type Attempt,
  type Check,
  type CheckContext,
} from '../engine/index.js';

async function attemptsFor(context: CheckContext, repository: string): Promise<Attempt[]> {
  const records = await context.facts.records({ repository });
  return attemptsOf(records, await context.facts.events());
}

export const inspectBusybox: Check = async (context) => {
  const repository = 'library/busybox';
  const gun = `docker.io/${repository}`;
  const attempts = await attemptsFor(context, repository);
  const inspected = attempts.some(
    (a) =>
      a.event.command === 'trust inspect' &&
      // The client's inspect event names no image today; when one is named it must be busybox.
      (a.event.reference === undefined || normaliseReference(a.event.reference)?.name === gun) &&
      a.records.some((r) => isTrustMetadataGet(r, gun) && isSuccess(r)) &&
      !a.records.some((r) => isManifestRead(r, repository)),
  );
  if (inspected) return done();
  return pending(
    'The hub has not been asked for the signatures of busybox by docker trust inspect yet.',
    'Run docker trust inspect --pretty busybox.',
  );
};

export const pullAlpineVerified: Check = async (context) => {
  const repository = 'library/alpine';
  const gun = `docker.io/${repository}`;
  const trust = await context.facts.trustData(gun);
  const signed = trust.state === 'verified' ? trust.targets.find((t) => t.name === 'latest') : undefined;
  if (signed === undefined) {
    return pending('The hub has no verified signature for alpine:latest right now.', 'Ask your instructor.');
  }
  const attempts = await attemptsFor(context, repository);
  const verified = attempts.some((a) => {
    if (a.event.command !== 'pull' || !namesTag(a.event.reference, gun, 'latest')) return false;
    const firstTrust = a.records.findIndex((r) => isTrustMetadataGet(r, gun) && isSuccess(r));
    const byDigest = a.records.findIndex((r) => isManifestServed(r, repository, signed.digest));
    return firstTrust >= 0 && byDigest > firstTrust;
  });
  if (verified) return done();
  return pending(
    'No pull of alpine verified against its signature has been seen yet.',
    'Run DOCKER_CONTENT_TRUST=1 docker pull alpine.',
  );
};
