/**
 * Unit tests of notary-server's publish validation (validation.ts): accepted publishes and every
 * refusal of notary-server server/handlers, whose bodies are compared byte for byte with the real notary-server
 * responses in tests/vectors/notary/http/post_*.txt. The differential test against the running
 * binary is tests/interop/server-validation.test.ts.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import type { PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signatures.js';
import { PrivateKey } from '../crypto/signatures.js';
import { createRootCertificate, rootPublicKey } from '../crypto/x509.js';
import { countValidSignatures } from '../client/verify.js';
import { expiresIn } from '../models/expires.js';
import { FileMeta, checkHashes } from '../models/file-meta.js';
import {
  DelegatedRole,
  Delegations,
  Metadata,
  RoleKeys,
  Root,
  Snapshot,
  Targets,
} from '../models/metadata.js';
import type { StoredRepository, UploadedPart, ValidatedUpdate } from './index.js';
import {
  ServerValidationError,
  compareRoleNames,
  decodeSignedMeta,
  generateSnapshot,
  generateTimestamp,
  goJsonString,
  serverTimestamp,
  validateUpdate,
} from './index.js';

const enc = new TextEncoder();
const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-11-26T12:43:11Z');
const GUN = 'example.com/lab/app';

/** The body of a recorded notary-server response (headers, blank line, body). */
function sampleBody(name: string): string {
  const text = readFileSync(new URL(`../../../tests/vectors/notary/http/${name}`, import.meta.url), 'utf8');
  const at = text.search(/\r?\n\r?\n/);
  return text.slice(at).replace(/^\r?\n\r?\n/, '');
}

interface Keys {
  root: PrivateKey;
  rootPub: PublicKey;
  targets: PrivateKey;
  snapshot: PrivateKey;
  releases: PrivateKey;
  serverTimestamp: PrivateKey;
  serverSnapshot: PrivateKey;
}

function makeKeys(gun = GUN): Keys {
  const root = PrivateKey.generate('ecdsa');
  return {
    root,
    rootPub: rootPublicKey(createRootCertificate(root, gun, { now: new Date(NOW.getTime() - DAY) })),
    targets: PrivateKey.generate('ecdsa'),
    snapshot: PrivateKey.generate('ecdsa'),
    releases: PrivateKey.generate('ecdsa'),
    serverTimestamp: PrivateKey.generate('ed25519'),
    serverSnapshot: PrivateKey.generate('ed25519'),
  };
}

const rootSigner = (k: Keys): Signer => k.root.signer(k.rootPub);

async function buildRoot(
  k: Keys,
  o: {
    version?: number;
    serverSnapshot?: boolean;
    rootPub?: PublicKey;
    extra?: PublicKey[];
    signers?: Signer[];
  } = {},
): Promise<Uint8Array> {
  const rootPub = o.rootPub ?? k.rootPub;
  const snap = (o.serverSnapshot ? k.serverSnapshot : k.snapshot).publicKey();
  const keys: Record<string, PublicKey> = {};
  for (const key of [rootPub, k.targets.publicKey(), snap, k.serverTimestamp.publicKey(), ...(o.extra ?? [])])
    keys[key.id] = key;
  const root = new Root(o.version ?? 1, expiresIn(NOW, 3650), keys, {
    root: new RoleKeys([rootPub.id], 1),
    targets: new RoleKeys([k.targets.id], 1),
    snapshot: new RoleKeys([snap.id], 1),
    timestamp: new RoleKeys([k.serverTimestamp.id], 1),
  });
  return (await Metadata.create(root).sign(o.signers ?? [rootSigner(k)])).toBytes();
}

async function buildTargets(
  signer: Signer,
  o: { version?: number; names?: string[]; delegate?: PublicKey; expires?: string } = {},
): Promise<Uint8Array> {
  const targets: Record<string, FileMeta> = {};
  for (const n of o.names ?? []) targets[n] = FileMeta.forBytes(enc.encode(n));
  const delegations = o.delegate
    ? new Delegations({ [o.delegate.id]: o.delegate }, [
        new DelegatedRole('targets/releases', [o.delegate.id], 1, ['']),
      ])
    : new Delegations();
  const t = new Targets(o.version ?? 1, o.expires ?? expiresIn(NOW, 1095), targets, delegations);
  return (await Metadata.create(t).sign([signer])).toBytes();
}

async function buildSnapshot(signer: Signer, version: number, files: Record<string, Uint8Array>) {
  const meta: Record<string, FileMeta> = {};
  for (const [role, bytes] of Object.entries(files)) meta[role] = FileMeta.forBytes(bytes);
  return (await Metadata.create(new Snapshot(version, expiresIn(NOW, 1095), meta)).sign([signer])).toBytes();
}

function run(
  k: Keys,
  updates: UploadedPart[] | Record<string, Uint8Array>,
  current: StoredRepository = {},
  o: { serverSnapshot?: boolean; now?: Date } = {},
): Promise<ValidatedUpdate> {
  return validateUpdate({
    gun: GUN,
    current,
    updates,
    serverSigners: {
      timestamp: k.serverTimestamp.signer(),
      ...(o.serverSnapshot ? { snapshot: k.serverSnapshot.signer() } : {}),
    },
    now: o.now ?? NOW,
  });
}

async function refusal(promise: Promise<unknown>): Promise<ServerValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ServerValidationError) return error;
    throw error;
  }
  throw new Error('expected a ServerValidationError');
}

/** A repository after a first publish with a client-held snapshot key. */
async function published(k: Keys) {
  const root = await buildRoot(k);
  const targets = await buildTargets(k.targets.signer(), { names: ['v1'] });
  const snapshot = await buildSnapshot(k.snapshot.signer(), 1, { root, targets });
  const result = await run(k, { root, targets, snapshot });
  const current: StoredRepository = {
    root,
    targets,
    snapshot,
    timestamp: result.files.timestamp as Uint8Array,
  };
  return { root, targets, snapshot, current, result };
}

describe('validateUpdate: accepted publishes', () => {
  it('first publish root+targets+snapshot: stores the uploads and a server timestamp v1', async () => {
    const k = makeKeys();
    const { root, targets, snapshot, result } = await published(k);
    expect(result.order).toEqual(['root', 'targets', 'snapshot', 'timestamp']);
    expect(result.files.root).toBe(root);
    expect(result.files.targets).toBe(targets);
    expect(result.files.snapshot).toBe(snapshot);
    expect(result.generatedSnapshot).toBe(false);
    expect(result.versions).toEqual({ root: 1, targets: 1, snapshot: 1, timestamp: 1 });
    const ts = Metadata.parse(result.files.timestamp as Uint8Array, 'Timestamp');
    expect(ts.signed.version).toBe(1);
    expect(ts.signed.expires).toBe(expiresIn(NOW, 14));
    expect(checkHashes(snapshot, ts.signed.snapshotMeta.hashes)).toEqual({ ok: true });
    expect(ts.signed.snapshotMeta.length).toBe(snapshot.length);
    expect(Object.keys(ts.signed.snapshotMeta.hashes).sort()).toEqual(['sha256', 'sha512']);
    expect(ts.signatures.map((s) => [s.keyid, s.method])).toEqual([[k.serverTimestamp.id, 'eddsa']]);
    expect(countValidSignatures(ts, { [k.serverTimestamp.id]: k.serverTimestamp.publicKey() })).toBe(1);
  });

  it('first publish root+targets with a server-held snapshot key: the server signs snapshot v1', async () => {
    const k = makeKeys();
    const root = await buildRoot(k, { serverSnapshot: true });
    const targets = await buildTargets(k.targets.signer());
    const result = await run(
      k,
      [
        { name: 'root.json', data: root },
        { name: 'targets', data: targets },
      ],
      {},
      {
        serverSnapshot: true,
      },
    );
    expect(result.generatedSnapshot).toBe(true);
    expect(result.versions).toEqual({ root: 1, targets: 1, snapshot: 1, timestamp: 1 });
    const snap = Metadata.parse(result.files.snapshot as Uint8Array, 'Snapshot');
    expect(snap.signed.expires).toBe(expiresIn(NOW, 1095));
    expect(Object.keys(snap.signed.meta).sort()).toEqual(['root', 'targets']);
    expect(checkHashes(root, (snap.signed.meta.root as FileMeta).hashes)).toEqual({ ok: true });
    expect(checkHashes(targets, (snap.signed.meta.targets as FileMeta).hashes)).toEqual({ ok: true });
    expect(countValidSignatures(snap, { [k.serverSnapshot.id]: k.serverSnapshot.publicKey() })).toBe(1);
    const ts = Metadata.parse(result.files.timestamp as Uint8Array, 'Timestamp');
    expect(checkHashes(result.files.snapshot as Uint8Array, ts.signed.snapshotMeta.hashes)).toEqual({
      ok: true,
    });

    // A later targets-only publish: snapshot v2 keeps root's entry and re-hashes targets.
    const t2 = await buildTargets(k.targets.signer(), { version: 2, names: ['b'] });
    const current = { root, targets, snapshot: result.files.snapshot, timestamp: result.files.timestamp };
    const next = await run(k, { targets: t2 }, current, { serverSnapshot: true });
    expect(next.versions).toEqual({ targets: 2, snapshot: 2, timestamp: 2 });
    const snap2 = Metadata.parse(next.files.snapshot as Uint8Array, 'Snapshot');
    expect(checkHashes(t2, (snap2.signed.meta.targets as FileMeta).hashes)).toEqual({ ok: true });
    expect(checkHashes(root, (snap2.signed.meta.root as FileMeta).hashes)).toEqual({ ok: true });
  });

  it('a later publish of targets+snapshot, then a delegation', async () => {
    const k = makeKeys();
    const { root, current } = await published(k);
    const t2 = await buildTargets(k.targets.signer(), { version: 2, delegate: k.releases.publicKey() });
    const rel = await buildTargets(k.releases.signer(), { names: ['r'] });
    const s2 = await buildSnapshot(k.snapshot.signer(), 2, { root, targets: t2, 'targets/releases': rel });
    const result = await run(k, { 'targets/releases': rel, snapshot: s2, targets: t2 }, current);
    expect(result.order).toEqual(['targets', 'targets/releases', 'snapshot', 'timestamp']);
    expect(result.versions).toEqual({ targets: 2, 'targets/releases': 1, snapshot: 2, timestamp: 2 });
  });

  it('root rotation signed by the old and the new root key', async () => {
    const k = makeKeys();
    const { targets, current } = await published(k);
    const newKey = PrivateKey.generate('ecdsa');
    const newPub = rootPublicKey(createRootCertificate(newKey, GUN, { now: NOW }));
    const both = [rootSigner(k), newKey.signer(newPub)];
    const rotated = await buildRoot(k, { version: 2, rootPub: newPub, extra: [k.rootPub], signers: both });
    const s2 = await buildSnapshot(k.snapshot.signer(), 2, { root: rotated, targets });
    const result = await run(k, { root: rotated, snapshot: s2 }, current);
    expect(result.versions).toEqual({ root: 2, snapshot: 2, timestamp: 2 });

    const onlyNew = await buildRoot(k, {
      version: 2,
      rootPub: newPub,
      extra: [k.rootPub],
      signers: [both[1] as Signer],
    });
    const error = await refusal(run(k, { root: onlyNew, snapshot: s2 }, current));
    expect(error.detail).toEqual({
      Name: 'ErrBadRoot',
      Error: {
        Msg: 'could not rotate trust to a new trusted root: failed to validate data with current trusted certificates',
      },
    });
  });
});

describe('validateUpdate: refusals with notary-server bodies', () => {
  interface Case {
    name: string;
    sample?: string;
    body?: string;
    status?: number;
    make: (
      k: Keys,
    ) => Promise<{ updates: UploadedPart[] | Record<string, Uint8Array>; current?: StoredRepository }>;
  }

  const cases: Case[] = [
    {
      name: 'a root for another GUN',
      sample: 'post_wrong_gun_root.txt',
      make: async (k) => {
        const other = rootPublicKey(createRootCertificate(k.root, 'example.com/other', { now: NOW }));
        const root = await buildRoot(k, { rootPub: other, signers: [k.root.signer(other)] });
        return { updates: { root, targets: await buildTargets(k.targets.signer()) } };
      },
    },
    {
      name: 'no stored root and none uploaded',
      sample: 'post_no_root.txt',
      make: async (k) => ({ updates: { targets: await buildTargets(k.targets.signer()) } }),
    },
    {
      name: 'a timestamp alone (the server does not hold the snapshot key)',
      sample: 'post_timestamp.txt',
      make: async (k) => {
        const { current, result } = await published(k);
        return { updates: { timestamp: result.files.timestamp as Uint8Array }, current };
      },
    },
    {
      name: 'old targets without a snapshot',
      sample: 'post_old_targets.txt',
      make: async (k) => {
        const { current, targets } = await published(k);
        return { updates: { targets }, current };
      },
    },
    {
      name: 'the same snapshot again',
      sample: 'post_same_snapshot.txt',
      make: async (k) => {
        const { current, snapshot } = await published(k);
        return { updates: { snapshot }, current };
      },
    },
    {
      name: 'old targets with a new snapshot',
      sample: 'post_same_snapshot.txt', // same VERSION body
      make: async (k) => {
        const { current, targets, root } = await published(k);
        const s2 = await buildSnapshot(k.snapshot.signer(), 2, { root, targets });
        return { updates: { targets, snapshot: s2 }, current };
      },
    },
    {
      name: 'a bad role name',
      sample: 'post_bad_role.txt',
      make: async (k) => ({ updates: [{ name: 'foo', data: await buildRoot(k) }] }),
    },
    {
      name: 'malformed JSON',
      sample: 'post_malformed.txt',
      make: () => Promise.resolve({ updates: { root: enc.encode('{"signed": nope') } }),
    },
    {
      name: 'a part without a file name',
      body: '{"errors":[{"code":"NO_FILENAME","message":"No file/role name provided."}]}\n',
      make: () => Promise.resolve({ updates: [{ name: '.json', data: enc.encode('{}') }] }),
    },
    {
      name: 'targets signed by the wrong key',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadTargets","Error":{"Msg":"valid signatures did not meet threshold for targets"}}}]}\n',
      make: async (k) => {
        const { current, root } = await published(k);
        const targets = await buildTargets(k.snapshot.signer(), { version: 2 });
        return {
          updates: { targets, snapshot: await buildSnapshot(k.snapshot.signer(), 2, { root, targets }) },
          current,
        };
      },
    },
    {
      name: 'expired targets',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadTargets","Error":{"Msg":"targets expired at Wed Jan 1 00:00:00 UTC 2020"}}}]}\n',
      make: async (k) => {
        const { current, root } = await published(k);
        const targets = await buildTargets(k.targets.signer(), {
          version: 2,
          expires: '2020-01-01T00:00:00Z',
        });
        return {
          updates: { targets, snapshot: await buildSnapshot(k.snapshot.signer(), 2, { root, targets }) },
          current,
        };
      },
    },
    {
      name: 'a delegation without its parent',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadTargets","Error":{"Msg":"targets must be loaded first"}}}]}\n',
      make: async (k) => {
        const root = await buildRoot(k);
        const rel = await buildTargets(k.releases.signer());
        const snapshot = await buildSnapshot(k.snapshot.signer(), 1, { root, 'targets/releases': rel });
        return { updates: { root, 'targets/releases': rel, snapshot } };
      },
    },
    {
      name: 'a delegation its parent does not list',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadTargets","Error":{"Msg":"tuf: invalid role targets/releases. delegation does not exist"}}}]}\n',
      make: async (k) => {
        const { current } = await published(k);
        return { updates: { 'targets/releases': await buildTargets(k.releases.signer()) }, current };
      },
    },
    {
      name: 'a root version jump',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadRoot","Error":{"Msg":"Root modifications must increment the version. Current 1, new 3"}}}]}\n',
      make: async (k) => ({ updates: { root: await buildRoot(k, { version: 3 }) } }),
    },
    {
      name: 'a snapshot missing a delegation',
      body:
        '{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":' +
        '{"Name":"ErrBadSnapshot","Error":{"Msg":"no checksums for supported algorithms were provided for targets/releases"}}}]}\n',
      make: async (k) => {
        const { current, root } = await published(k);
        const targets = await buildTargets(k.targets.signer(), {
          version: 2,
          delegate: k.releases.publicKey(),
        });
        const rel = await buildTargets(k.releases.signer());
        const snapshot = await buildSnapshot(k.snapshot.signer(), 2, { root, targets });
        return { updates: { targets, 'targets/releases': rel, snapshot }, current };
      },
    },
  ];

  it.each(cases)('$name', async ({ sample, body, make }) => {
    const k = makeKeys();
    const { updates, current } = await make(k);
    const error = await refusal(run(k, updates, current ?? {}));
    expect(error.httpStatus).toBe(400);
    expect(error.toResponseBody()).toBe(sample ? sampleBody(sample) : body);
  });

  it('checks parts in upload order: a bad role before a malformed part', async () => {
    const k = makeKeys();
    const parts = [
      { name: 'targets/x/', data: enc.encode('{}') },
      { name: 'root', data: enc.encode('not json') },
    ];
    const error = await refusal(run(k, parts));
    expect(error.code).toBe('INVALID_ROLE');
    expect(error.detail).toBe('targets/x/');
  });

  it('INVALID_GUN when the GUN is outside the configured prefixes', async () => {
    const k = makeKeys();
    const error = await refusal(
      validateUpdate({
        gun: GUN,
        current: {},
        updates: {},
        serverSigners: { timestamp: k.serverTimestamp.signer() },
        now: NOW,
        gunPrefixes: ['docker.io/'],
      }),
    );
    expect(error.toResponseBody()).toBe(
      '{"errors":[{"code":"INVALID_GUN","message":"The server does not support actions on images of this name."}]}\n',
    );
  });

  it('ErrBadRoot when the server does not hold the timestamp key', async () => {
    const k = makeKeys();
    const root = await buildRoot(k);
    const targets = await buildTargets(k.targets.signer());
    const snapshot = await buildSnapshot(k.snapshot.signer(), 1, { root, targets });
    const error = await refusal(
      validateUpdate({
        gun: GUN,
        current: {},
        updates: { root, targets, snapshot },
        serverSigners: { timestamp: PrivateKey.generate('ed25519').signer() },
        now: NOW,
      }),
    );
    expect(error.detail).toEqual({
      Name: 'ErrBadRoot',
      Error: { Msg: 'no  timestamp keys exist on the server' },
    });
  });

  it('VERSION against storedVersions even when the current file is older', async () => {
    const k = makeKeys();
    const { current, root } = await published(k);
    const targets = await buildTargets(k.targets.signer(), { version: 2 });
    const snapshot = await buildSnapshot(k.snapshot.signer(), 2, { root, targets });
    const error = await refusal(
      validateUpdate({
        gun: GUN,
        current,
        updates: { targets, snapshot },
        serverSigners: { timestamp: k.serverTimestamp.signer() },
        now: NOW,
        storedVersions: { targets: 5 },
      }),
    );
    expect(error.code).toBe('VERSION');
  });
});

describe('serverTimestamp and generators', () => {
  it('keeps a valid timestamp, re-signs an expired or out-of-sync one', async () => {
    const k = makeKeys();
    const { root, targets, snapshot, result } = await published(k);
    const timestamp = result.files.timestamp as Uint8Array;
    const signers = { timestamp: k.serverTimestamp.signer() };
    const same = await serverTimestamp({
      gun: GUN,
      root,
      snapshot,
      timestamp,
      serverSigners: signers,
      now: NOW,
    });
    expect(same).toEqual({ timestamp, version: 1, changed: false });

    const later = new Date(NOW.getTime() + 15 * DAY);
    const renewed = await serverTimestamp({
      gun: GUN,
      root,
      snapshot,
      timestamp,
      serverSigners: signers,
      now: later,
    });
    expect(renewed.changed).toBe(true);
    const ts = Metadata.parse(renewed.timestamp, 'Timestamp');
    expect(ts.signed.version).toBe(2);
    expect(ts.signed.expires).toBe(expiresIn(later, 14));

    const s2 = await buildSnapshot(k.snapshot.signer(), 2, { root, targets });
    const synced = await serverTimestamp({
      gun: GUN,
      root,
      snapshot: s2,
      timestamp,
      serverSigners: signers,
      now: NOW,
    });
    expect(synced.changed).toBe(true);
    expect(checkHashes(s2, Metadata.parse(synced.timestamp, 'Timestamp').signed.snapshotMeta.hashes)).toEqual(
      {
        ok: true,
      },
    );
  });

  it('generateSnapshot needs the server snapshot key; generateTimestamp increments the version', async () => {
    const k = makeKeys();
    const root = await buildRoot(k, { serverSnapshot: true });
    const targets = await buildTargets(k.targets.signer());
    const snap = await generateSnapshot({
      root,
      roles: { targets },
      signers: k.serverSnapshot.signer(),
      now: NOW,
    });
    expect(snap.version).toBe(1);
    const again = await generateSnapshot({
      root,
      previous: snap.bytes,
      signers: k.serverSnapshot.signer(),
      now: NOW,
    });
    expect(again.version).toBe(2);
    const error = await refusal(generateSnapshot({ root, roles: { targets }, signers: undefined, now: NOW }));
    expect(error.validationName).toBe('ErrBadHierarchy');
    const t1 = await generateTimestamp({
      root,
      snapshot: snap.bytes,
      signers: k.serverTimestamp.signer(),
      now: NOW,
    });
    const t2 = await generateTimestamp({
      root,
      snapshot: again.bytes,
      previous: t1.bytes,
      signers: k.serverTimestamp.signer(),
      now: NOW,
    });
    expect([t1.version, t2.version]).toEqual([1, 2]);
  });
});

describe('helpers', () => {
  it('decodeSignedMeta follows Go: first value only, null fields, strict types', () => {
    const d = (s: string) => decodeSignedMeta(enc.encode(s));
    expect(d('{"signed":{"version":3}} trailing')).toEqual({ version: 3 });
    expect(d('null')).toEqual({ version: 0 });
    expect(d('{"Signed":{"Version":2}}')).toEqual({ version: 2 });
    expect(d('{"signed":{"version":2.0}}')).toBeUndefined();
    expect(d('{"signed":{"expires":"tomorrow"}}')).toBeUndefined();
    expect(d('{"signatures":[{"sig":"***"}]}')).toBeUndefined();
    expect(d('[]')).toBeUndefined();
    expect(d('')).toBeUndefined();
  });

  it('sorts roles like notary RoleList and escapes like Go', () => {
    expect(['targets/b', 'targets/a/x', 'targets', 'targets/a'].sort(compareRoleNames)).toEqual([
      'targets',
      'targets/a',
      'targets/b',
      'targets/a/x',
    ]);
    expect(goJsonString('x<y&z>\u2028"\\\n\u0001')).toBe(
      '"x\\u003cy\\u0026z\\u003e\\u2028\\"\\\\\\n\\u0001"',
    );
  });
});
