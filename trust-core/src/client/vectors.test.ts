/**
 * Every metadata file notary 0.7, notary-server and docker 28 wrote in the
 * vectors verifies through the trusted-metadata set, in load order, at the
 * time the vectors were made; and a copy of each with one byte, one
 * signature or one hash changed is refused with the right typed error.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../encoding/bytes.js';
import type { PublicKey } from '../crypto/keys.js';
import { Metadata } from '../models/metadata.js';
import { nodeRsaVerifier } from '../node/rsa-verifier.js';
import { readVector, VECTORS_TIME } from '../testing/vectors.js';
import { TrustedMetadataSet } from './trusted-set.js';
import { verifyThreshold } from './verify.js';

interface Step {
  role: string;
  path: string;
}
interface VectorSet {
  name: string;
  gun: string;
  steps: Step[];
}

const sets: VectorSet[] = [
  {
    name: 'notary init + add + publish',
    gun: 'example.com/test/repo',
    steps: [
      { role: 'root', path: 'root.json' },
      { role: 'timestamp', path: 'timestamp.json' },
      { role: 'snapshot', path: 'snapshot.json' },
      { role: 'targets', path: 'targets.json' },
    ],
  },
  {
    name: 'notary delegation add + add --roles',
    gun: 'example.com/test/repo',
    steps: [
      { role: 'root', path: 'after-delegation/root.json' },
      { role: 'timestamp', path: 'after-delegation/timestamp.json' },
      { role: 'snapshot', path: 'after-delegation/snapshot.json' },
      { role: 'targets', path: 'after-delegation/targets.json' },
      { role: 'targets/releases', path: 'after-delegation/targets_releases.json' },
    ],
  },
  {
    name: 'docker trust signer add',
    gun: 'localhost:14451/test/dockerrepo',
    steps: [
      { role: 'root', path: 'docker-signer-add/root.json' },
      { role: 'timestamp', path: 'docker-signer-add/timestamp.json' },
      { role: 'snapshot', path: 'docker-signer-add/snapshot.json' },
      { role: 'targets', path: 'docker-signer-add/targets.json' },
    ],
  },
  {
    name: 'docker trust sign',
    gun: 'localhost:14451/test/dockerrepo',
    steps: [
      { role: 'root', path: 'docker-signer-add/root.json' },
      { role: 'timestamp', path: 'docker-signer-add/after-sign-timestamp.json' },
      { role: 'snapshot', path: 'docker-signer-add/after-sign-snapshot.json' },
      { role: 'targets', path: 'docker-signer-add/after-sign-targets.json' },
      { role: 'targets/alice', path: 'docker-signer-add/after-sign-targets_alice.json' },
      { role: 'targets/releases', path: 'docker-signer-add/after-sign-targets_releases.json' },
    ],
  },
  {
    name: 'repository written by an independent script',
    gun: 'localhost:14453/synth/good',
    steps: [
      { role: 'root', path: 'synthetic-python-repo/root.json' },
      { role: 'timestamp', path: 'synthetic-python-repo/timestamp.json' },
      { role: 'snapshot', path: 'synthetic-python-repo/snapshot.json' },
      { role: 'targets', path: 'synthetic-python-repo/targets.json' },
    ],
  },
];

/** Load a set in order, with one file replaced; returns the trusted set. */
function load(set: VectorSet, replace?: { role: string; bytes: Uint8Array }): TrustedMetadataSet {
  const bytesOf = (step: Step) =>
    replace && replace.role === step.role ? replace.bytes : readVector(step.path);
  const [rootStep, ...rest] = set.steps;
  const trusted = new TrustedMetadataSet(bytesOf(rootStep!), {
    gun: set.gun,
    now: VECTORS_TIME,
    rsa: nodeRsaVerifier,
  });
  for (const step of rest) {
    const bytes = bytesOf(step);
    if (step.role === 'timestamp') trusted.updateTimestamp(bytes);
    else if (step.role === 'snapshot') trusted.updateSnapshot(bytes);
    else if (step.role === 'targets') trusted.updateTargets(bytes);
    else trusted.updateDelegatedTargets(bytes, step.role, step.role.slice(0, step.role.lastIndexOf('/')));
  }
  return trusted;
}

type Mutation = 'byte' | 'signature' | 'hash';

/** Change the file so that it still parses but is no longer what was signed. */
function mutate(bytes: Uint8Array, how: Mutation): Uint8Array | undefined {
  const text = fromUtf8(bytes);
  if (how === 'byte') {
    // One byte of the payload: a digit of the expiry year.
    return utf8(
      text.replace(
        /("expires":"2\d)(\d)/,
        (_m, head: string, d: string) => head + String((Number(d) + 1) % 10),
      ),
    );
  }
  if (how === 'signature') {
    return utf8(
      text.replace(/"sig":"([^"]+)"/, (_m, sig: string) => {
        const raw = fromBase64(sig);
        raw[7]! ^= 0x01;
        return `"sig":"${toBase64(raw)}"`;
      }),
    );
  }
  if (!text.includes('"sha256":"')) return undefined;
  return utf8(
    text.replace(/"sha256":"([^"]+)"/, (_m, h: string) => {
      const raw = fromBase64(h);
      raw[0]! ^= 0x80;
      return `"sha256":"${toBase64(raw)}"`;
    }),
  );
}

/** Where in a chain a changed file is first caught: by its own signature, or by its parent's hash. */
function expectedCode(role: string): string {
  if (role === 'root' || role === 'timestamp') return 'THRESHOLD_NOT_MET';
  return 'HASH_MISMATCH';
}

describe('notary vectors verify', () => {
  it.each(sets.map((s) => [s.name, s] as const))('%s', (_name, set) => {
    const trusted = load(set);
    const last = set.steps.at(-1)!.role;
    expect(trusted.delegated(last) ?? trusted.snapshot).toBeDefined();
  });

  it('the rotated root (v2) follows root v1: signed by the old and the new key', () => {
    const trusted = new TrustedMetadataSet(readVector('root.json'), {
      gun: 'example.com/test/repo',
      now: VECTORS_TIME,
    });
    const v2 = trusted.updateRoot(readVector('root_rotated_v2.json'));
    expect(v2.signed.version).toBe(2);
  });
});

describe('mutated vectors are refused', () => {
  // Root files carry no hashes, so they get the byte and signature mutations only.
  const cases = sets.flatMap((set) =>
    set.steps.flatMap((step) =>
      (['byte', 'signature', 'hash'] as const)
        .map((how) => ({ how, bytes: mutate(readVector(step.path), how) }))
        .filter((m): m is { how: Mutation; bytes: Uint8Array } => m.bytes !== undefined)
        .map(({ how, bytes }) => [`${set.name}: ${step.path} (${how})`, set, step, bytes] as const),
    ),
  );

  it.each(cases)('%s', (_name, set, step, bytes) => {
    expect(bytes).not.toEqual(readVector(step.path));
    // In the chain: caught by its own signature or by the parent's hashes.
    expect(() => load(set, { role: step.role, bytes })).toThrow(
      expect.objectContaining({ code: expectedCode(step.role) }),
    );
    // On its own: its signature no longer verifies with the role's keys.
    const trusted = load(set);
    const keys: Record<string, PublicKey> = {};
    let threshold = 1;
    if (
      step.role === 'root' ||
      step.role === 'timestamp' ||
      step.role === 'snapshot' ||
      step.role === 'targets'
    ) {
      Object.assign(keys, trusted.root.signed.roleKeys(step.role));
      threshold = trusted.root.signed.role(step.role).threshold;
    } else {
      const parent = trusted.delegated(step.role.slice(0, step.role.lastIndexOf('/')))!;
      const d = parent.signed.delegations.role(step.role)!;
      for (const id of d.keyids) keys[id] = parent.signed.delegations.keys[id]!;
      threshold = d.threshold;
    }
    const type =
      step.role === 'root'
        ? 'Root'
        : step.role === 'timestamp'
          ? 'Timestamp'
          : step.role === 'snapshot'
            ? 'Snapshot'
            : 'Targets';
    expect(() => verifyThreshold(Metadata.parse(bytes, type, step.role), keys, threshold, step.role)).toThrow(
      expect.objectContaining({ code: 'THRESHOLD_NOT_MET' }),
    );
  });
});
