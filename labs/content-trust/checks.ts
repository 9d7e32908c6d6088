/**
 * The Content Trust lab's checks. Each rests on the hub's records of the
 * session (what the hub stored and served, and when), the hub's trust data
 * as trust-core verifies it, and, for the keys, the attendee's trust
 * directory. Client events only cut the records into commands (see
 * engine/attempts.ts); no event, file or printed line can tick a task on
 * its own.
 */
import { readKeyFileHeaders } from '../../trust-core/src/index.js';
import {
  attemptsOf,
  done,
  failed,
  isManifestPush,
  isManifestRead,
  isManifestServed,
  isSuccess,
  isTrustDeletion,
  isTrustMetadataGet,
  isTrustPublish,
  namesTag,
  pending,
  pushAttempts,
  type Attempt,
  type Check,
  type CheckContext,
  type HubRecord,
  type PushAttempt,
  type SessionFacts,
  type TrustDataFacts,
  type VerifiedTarget,
} from '../engine/index.js';

export const REPOSITORY_NAME = 'dctrust';
export const UNSIGNED_TAG = 'latest';
export const SIGNED_TAG = 'signed';
/** Where docker keeps notary's private keys, relative to the home. */
export const PRIVATE_KEYS_DIR = '.docker/trust/private';

export interface LabNames {
  /** `alice/dctrust`: the repository on the hub. */
  repository: string;
  /** `docker.io/alice/dctrust`: the GUN docker signs it under. */
  gun: string;
  /** `alice/dctrust`, as the learner types it. */
  shown: string;
}

export function namesFor(username: string): LabNames {
  const repository = `${username}/${REPOSITORY_NAME}`;
  return { repository, gun: `docker.io/${repository}`, shown: repository };
}

interface History {
  names: LabNames;
  records: readonly HubRecord[];
  attempts: Attempt[];
  facts: SessionFacts;
}

async function historyOf(context: CheckContext): Promise<History> {
  const names = namesFor(context.attendee.username);
  // Registry and trust requests of the repository both carry its name (the hub maps the GUN to it).
  const records = await context.facts.records({ repository: names.repository });
  const events = await context.facts.events();
  return { names, records, attempts: attemptsOf(records, events), facts: context.facts };
}

const trustGets = (attempt: Attempt, gun: string) =>
  attempt.records.filter((r) => isTrustMetadataGet(r, gun));

/** A pull command of `tag` of the lab's repository, as the closing event names it. */
const isPullOf = (attempt: Attempt, names: LabNames, tag: string) =>
  attempt.event.command === 'pull' && namesTag(attempt.event.reference, names.gun, tag);

function targetNamed(trust: TrustDataFacts, name: string): VerifiedTarget | undefined {
  return trust.state === 'verified' ? trust.targets.find((target) => target.name === name) : undefined;
}

/**
 * Pushes of `:latest` that were unsigned and left the tag unsigned: the
 * command is over, it published no trust data, and no earlier signed push
 * of `:latest` whose signature is still in the hub's trust data came
 * before it (since the trust data was last deleted).
 */
async function unsignedLatestPushes(
  history: History,
): Promise<{ all: PushAttempt[]; unsigned: PushAttempt[] }> {
  const { names, records, facts } = history;
  const events = await facts.events();
  const all = pushAttempts(records, events, names.repository, names.gun, UNSIGNED_TAG);
  const stillSigned = targetNamed(await facts.trustData(names.gun), UNSIGNED_TAG) !== undefined;
  const unsigned = all.filter((push) => {
    if (!push.closed || push.signed) return false;
    if (!stillSigned) return true;
    let lastDeletion = -1;
    for (let i = 0; i < push.index; i++) if (isTrustDeletion(records[i]!, names.gun)) lastDeletion = i;
    return !all.some(
      (earlier) => earlier.signed && earlier.index < push.index && earlier.index > lastDeletion,
    );
  });
  return { all, unsigned };
}

export const createRepo: Check = async (context) => {
  const history = await historyOf(context);
  const { names } = history;
  const { all, unsigned } = await unsignedLatestPushes(history);
  if (unsigned.length > 0) return done();
  const last = all.at(-1);
  if (last === undefined) {
    return pending(
      `The hub has not received ${names.shown}:${UNSIGNED_TAG} from you yet.`,
      `Tag busybox as ${names.shown}:${UNSIGNED_TAG} and push it with docker push.`,
    );
  }
  if (!last.closed) return pending(`Your push of ${names.shown}:${UNSIGNED_TAG} has not finished yet.`);
  const fix = `Remove the signature with docker trust revoke ${names.shown}:${UNSIGNED_TAG}, run unset DOCKER_CONTENT_TRUST, then push it again.`;
  return failed(
    last.signed
      ? `${names.shown}:${UNSIGNED_TAG} was pushed with content trust on, so it is signed: this task needs it unsigned.`
      : `${names.shown}:${UNSIGNED_TAG} is still signed from an earlier signed push, so pushing it again without trust does not make it unsigned.`,
    fix,
  );
};

export const enableTrust: Check = async (context) => {
  const history = await historyOf(context);
  const { names, attempts } = history;
  const { unsigned } = await unsignedLatestPushes(history);
  const firstPush = unsigned[0];
  if (firstPush === undefined) {
    return pending(
      `First push ${names.shown}:${UNSIGNED_TAG} without content trust (the task before this one).`,
    );
  }
  let lastProblem: { reason: string; suggestion: string } | undefined;
  for (const attempt of attempts) {
    if (attempt.event.receivedAt < firstPush.put.time || !isPullOf(attempt, names, UNSIGNED_TAG)) continue;
    const gets = trustGets(attempt, names.gun);
    const served = attempt.records.some((r) => isManifestRead(r, names.repository));
    // The proof: the hub told this session it has no trust data for the GUN, and served no manifest in that pull.
    if (gets.some((r) => r.status === 404) && !gets.some(isSuccess) && !served) return done();
    if (gets.length === 0) {
      lastProblem = {
        reason: `Your last pull of ${names.shown}:${UNSIGNED_TAG} did not ask the hub for trust data: content trust was off${served ? ', and the image was pulled' : ''}.`,
        suggestion: 'Run export DOCKER_CONTENT_TRUST=1 in the terminal, then pull again.',
      };
    } else if (gets.some(isSuccess)) {
      lastProblem = {
        reason: `The hub already has trust data for ${names.gun}, so a pull can no longer show the refusal for missing trust data.`,
        suggestion:
          'Ask for your lab to be reset to start again from an unsigned repository, or go on with the next task.',
      };
    }
  }
  if (lastProblem) return failed(lastProblem.reason, lastProblem.suggestion);
  return pending(
    `No pull of ${names.shown}:${UNSIGNED_TAG} with content trust on has been seen yet.`,
    `Run export DOCKER_CONTENT_TRUST=1, then docker pull ${names.shown}:${UNSIGNED_TAG}.`,
  );
};

interface KeyFile {
  id: string;
  role: string | undefined;
  gun: string | undefined;
  encrypted: boolean;
}

const KEY_FILE = /^([0-9a-f]{64})\.key$/;

async function privateKeys(facts: SessionFacts): Promise<KeyFile[]> {
  const entries = (await facts.listHomeDir(PRIVATE_KEYS_DIR)) ?? [];
  const keys: KeyFile[] = [];
  for (const entry of entries) {
    const id = KEY_FILE.exec(entry.name)?.[1];
    if (entry.kind !== 'file' || id === undefined) continue;
    const file = await facts.readHomeFile(`${PRIVATE_KEYS_DIR}/${entry.name}`);
    if (file === undefined) continue;
    try {
      const headers = readKeyFileHeaders(new TextDecoder().decode(file.bytes));
      keys.push({ id, role: headers.role, gun: headers.gun, encrypted: headers.encrypted });
    } catch {
      // Not a key file: it proves nothing either way.
    }
  }
  return keys;
}

function keyProblem(
  keys: readonly KeyFile[],
  wanted: { role: string; gun?: string; ids: readonly string[]; label: string },
): { reason: string; suggestion: string } | undefined {
  const ofRole = keys.filter(
    (k) => k.role === wanted.role && (wanted.gun === undefined || k.gun === wanted.gun),
  );
  const signing = ofRole.filter((k) => wanted.ids.includes(k.id));
  if (signing.some((k) => k.encrypted)) return undefined;
  if (signing.length > 0) {
    return {
      reason: `Your ${wanted.label} in ~/${PRIVATE_KEYS_DIR} is not encrypted.`,
      suggestion:
        'Keys must stay encrypted with their passphrase: sign again with docker push and content trust on.',
    };
  }
  return {
    reason:
      ofRole.length > 0
        ? `The ${wanted.label} in ~/${PRIVATE_KEYS_DIR} is not the key that signed the hub's trust data.`
        : `No ${wanted.label} was found in ~/${PRIVATE_KEYS_DIR}.`,
    suggestion: 'The keys are created by your first signed push; keep ~/.docker/trust as docker left it.',
  };
}

/** The signed push of `:signed` whose signature the hub holds, if the session made it. */
async function signedPushOf(history: History): Promise<PushAttempt | undefined> {
  const events = await history.facts.events();
  const pushes = pushAttempts(
    history.records,
    events,
    history.names.repository,
    history.names.gun,
    SIGNED_TAG,
  );
  return pushes.filter((push) => push.closed && push.signed).at(-1);
}

export const pushSigned: Check = async (context) => {
  const history = await historyOf(context);
  const { names, records, facts } = history;
  const trust = await facts.trustData(names.gun);
  const retry = `With DOCKER_CONTENT_TRUST=1 exported, tag busybox as ${names.shown}:${SIGNED_TAG} and push it, choosing the two passphrases when asked.`;
  if (trust.state === 'missing') return pending(`The hub has no trust data for ${names.gun} yet.`, retry);
  if (trust.state === 'invalid') {
    return failed(`The hub's trust data for ${names.gun} does not verify: ${trust.reason}`, retry);
  }
  const target = targetNamed(trust, SIGNED_TAG);
  if (target === undefined) {
    return pending(`The trust data for ${names.gun} has no signed tag ${SIGNED_TAG} yet.`, retry);
  }
  const push = await signedPushOf(history);
  if (push === undefined) {
    return pending(
      `The hub has not seen a signed push of ${names.shown}:${SIGNED_TAG} from this session.`,
      retry,
    );
  }
  // What the registry holds under the tag now: the last manifest the session stored there.
  const stored = records.filter((r) => isManifestPush(r, names.repository, SIGNED_TAG)).at(-1)?.digest;
  if (stored !== target.digest) {
    return failed(
      `The signature for ${SIGNED_TAG} names ${target.digest}, but the hub holds ${stored ?? 'nothing'} under ${names.shown}:${SIGNED_TAG}.`,
      `Push ${names.shown}:${SIGNED_TAG} again with content trust on so that the tag and its signature agree.`,
    );
  }
  const keys = await privateKeys(facts);
  const problem =
    keyProblem(keys, { role: 'root', ids: trust.rootKeyIds, label: 'root key' }) ??
    keyProblem(keys, { role: 'targets', gun: names.gun, ids: trust.targetsKeyIds, label: 'repository key' });
  if (problem) return failed(problem.reason, problem.suggestion);
  return done();
};

export const pullImages: Check = async (context) => {
  const history = await historyOf(context);
  const { names, records, attempts, facts } = history;
  const trust = await facts.trustData(names.gun);
  const signed = targetNamed(trust, SIGNED_TAG);
  const firstSigning = records.find((r) => isTrustPublish(r, names.gun));
  if (signed === undefined || firstSigning === undefined) {
    return pending(`Sign ${names.shown}:${SIGNED_TAG} first (the task before this one).`);
  }
  const latestSigned = targetNamed(trust, UNSIGNED_TAG) !== undefined;
  const after = attempts.filter((a) => a.event.receivedAt >= firstSigning.time);
  const noManifest = (a: Attempt) => !a.records.some((r) => isManifestRead(r, names.repository));

  // With trust: the hub's trust data was read (and it exists), and no manifest was served.
  const refusedLatest =
    !latestSigned &&
    after.some(
      (a) => isPullOf(a, names, UNSIGNED_TAG) && trustGets(a, names.gun).some(isSuccess) && noManifest(a),
    );
  // With trust: trust data read first, then the manifest fetched by the signed digest, never by tag.
  const verifiedSigned = after.some((a) => {
    if (!isPullOf(a, names, SIGNED_TAG)) return false;
    const firstTrust = a.records.findIndex((r) => isTrustMetadataGet(r, names.gun) && isSuccess(r));
    const byDigest = a.records.findIndex((r) => isManifestServed(r, names.repository, signed.digest));
    return firstTrust >= 0 && byDigest > firstTrust;
  });
  // Without trust: the manifest fetched by tag, and no trust data asked for in that command.
  const plain = (tag: string) =>
    after.some(
      (a) =>
        isPullOf(a, names, tag) &&
        a.records.some((r) => isManifestServed(r, names.repository, tag)) &&
        trustGets(a, names.gun).length === 0,
    );
  const steps: Array<[boolean, string]> = [
    [refusedLatest, `docker pull ${names.shown}:${UNSIGNED_TAG} with content trust on (refused)`],
    [verifiedSigned, `docker pull ${names.shown}:${SIGNED_TAG} with content trust on (verified)`],
    [plain(UNSIGNED_TAG), `docker pull --disable-content-trust ${names.shown}:${UNSIGNED_TAG}`],
    [plain(SIGNED_TAG), `docker pull --disable-content-trust ${names.shown}:${SIGNED_TAG}`],
  ];
  const missing = steps.filter(([ok]) => !ok).map(([, step]) => step);
  if (missing.length === 0) return done();
  return pending(`Still to do: ${missing.join('; ')}.`, `Next: ${missing[0]}.`);
};

/** Task 5's repository: `<user>/alpine`, signed as `:signed` with the root key on the YubiKey. */
export const YUBIKEY_REPOSITORY_NAME = 'alpine';

/**
 * Task 5: the root key of `docker.io/<user>/alpine` is on the attendee's
 * YubiKey. Three facts, none from the sandbox alone:
 * - the paired token said it holds the key (the lab server heard it from
 *   the helper, or from its own module in local mode);
 * - the hub received this session's trust data for the repository, it
 *   verifies, and its root role's key (the certificate's public key) is
 *   that key, with `:signed` signed;
 * - a `notary key list` showed keys on the token (its event only marks
 *   that the command ran and listed them; the keys come from the token).
 */
export const yubikey: Check = async (context) => {
  const { facts } = context;
  const repository = `${context.attendee.username}/${YUBIKEY_REPOSITORY_NAME}`;
  const gun = `docker.io/${repository}`;
  const push = `With DOCKER_CONTENT_TRUST=1 exported, tag alpine as ${repository}:${SIGNED_TAG} and push it; touch the YubiKey when asked.`;
  if (facts.tokenKeys === undefined) {
    return pending('This lab server has no YubiKey support turned on.');
  }
  const onToken = await facts.tokenKeys();
  if (onToken.length === 0) {
    return pending(
      'No root key on your YubiKey yet, as far as your paired helper has said.',
      'Pair the YubiKey helper (the panel in this task), then run `notary key generate`: it creates the root key on the YubiKey.',
    );
  }
  const records = await facts.records({ repository });
  if (!records.some((r) => isTrustPublish(r, gun))) {
    return pending(`The hub has not received trust data for ${gun} from your terminal yet.`, push);
  }
  const trust = await facts.trustData(gun);
  if (trust.state === 'missing') return pending(`The hub has no trust data for ${gun} now.`, push);
  if (trust.state === 'invalid') {
    return failed(`The hub's trust data for ${gun} does not verify: ${trust.reason}`, push);
  }
  if (!trust.rootKeyIds.some((id) => onToken.includes(id))) {
    return failed(
      `The root key of ${gun} (${trust.rootKeyIds.map((id) => id.slice(0, 7)).join(', ')}) is not a key on your YubiKey.`,
      `A repository keeps its root key. Remove its trust data with \`notary delete ${gun} --remote\`, check that \`notary key list\` shows the YubiKey's key, and push again.`,
    );
  }
  if (targetNamed(trust, SIGNED_TAG) === undefined) {
    return pending(`The trust data for ${gun} has no signed tag ${SIGNED_TAG} yet.`, push);
  }
  const listed = (await facts.events()).some(
    (event) => event.command === 'notary key list' && event.outcome === 'LISTED_YUBIKEY',
  );
  if (!listed) {
    return pending(
      'Last step: look at your keys with `notary key list`.',
      'The root key should be listed with LOCATION yubikey, and its backup in your trust directory.',
    );
  }
  return done();
};
