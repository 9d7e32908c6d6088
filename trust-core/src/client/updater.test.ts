/**
 * The client update workflow against an in-memory repository, including the
 * attack suite: each case plays a misbehaving server with the simulator and
 * asserts the typed error the client refuses with.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { utf8, fromUtf8 } from '../encoding/bytes.js';
import { PrivateKey } from '../crypto/signatures.js';
import { FileMeta } from '../models/file-meta.js';
import { Metadata, Snapshot, Timestamp } from '../models/metadata.js';
import { MemoryCache, RepositorySimulator } from '../testing/simulator.js';
import type { UpdateWarning } from './interfaces.js';
import { Updater } from './updater.js';
import { verifyTargetContent } from './target-content.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const later = (days: number) => new Date(NOW.getTime() + days * 86_400_000);

let sim: RepositorySimulator;
let cache: MemoryCache;
let warnings: UpdateWarning[];

function updater(now = NOW): Updater {
  return new Updater({
    gun: sim.gun,
    remote: sim,
    cache,
    clock: { now: () => now },
    onWarning: (w) => warnings.push(w),
  });
}

beforeEach(async () => {
  sim = await RepositorySimulator.create('docker.io/alice/app', NOW);
  cache = new MemoryCache();
  warnings = [];
});

describe('update workflow', () => {
  it('trusts the root on first use and verifies every role', async () => {
    sim.addTarget('v1', utf8('manifest one'));
    await sim.publish();
    const repo = await updater().refresh();
    expect(repo.lookupTarget('v1')?.role).toBe('targets');
    expect(sim.fetched).toEqual([
      'root',
      'timestamp',
      expect.stringMatching(/^snapshot\.[0-9a-f]{64}$/),
      expect.stringMatching(/^targets\.[0-9a-f]{64}$/),
    ]);
    expect([...cache.files.keys()].sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
  });

  it('with a warm cache fetches only the timestamp', async () => {
    await updater().refresh();
    sim.fetched.length = 0;
    await updater().refresh();
    expect(sim.fetched).toEqual(['timestamp']);
  });

  it('says the server has no trust data, in notary words', async () => {
    sim.missing.add('root');
    await expect(updater().refresh()).rejects.toMatchObject({
      code: 'TRUST_DATA_MISSING',
      message: 'notary.test does not have trust data for docker.io/alice/app',
    });
  });

  it('uses the cached timestamp with a warning when the server is unreachable', async () => {
    await updater().refresh();
    sim.offline = true;
    const repo = await updater().refresh();
    expect(repo.timestamp.signed.version).toBe(1);
    expect(warnings.map((w) => w.code)).toContain('TIMESTAMP_FROM_CACHE');
  });

  it('looks up releases before targets, as docker pull does', async () => {
    sim.addTarget('v1', utf8('from targets'));
    sim.delegate('targets/releases', ['']);
    sim.addTarget('v1', utf8('from releases'), 'targets/releases');
    await sim.publish();
    const repo = await updater().refresh();
    const found = repo.lookupForPull('v1');
    expect(found?.role).toBe('targets/releases');
    expect(found?.meta.length).toBe('from releases'.length);
  });

  it('does not find a tag signed only in targets/<user>', async () => {
    sim.delegate('targets/releases', ['']);
    sim.delegate('targets/alice', ['']);
    sim.addTarget('only-alice', utf8('x'), 'targets/alice');
    await sim.publish();
    const repo = await updater().refresh();
    // notary's walk finds it under targets/alice; docker then refuses that role.
    expect(repo.lookupTarget('only-alice')?.role).toBe('targets/alice');
    expect(repo.lookupForPull('only-alice')).toBeUndefined();
  });

  it('follows a root rotation signed by the old and the new key', async () => {
    await updater().refresh();
    await sim.rotateRootKey();
    const repo = await updater().refresh();
    expect(repo.root.signed.version).toBe(2);
    expect(fromUtf8(cache.files.get('root')!)).toBe(fromUtf8(sim.files.get('root')!));
  });

  it('walks root versions one at a time', async () => {
    await updater().refresh();
    await sim.rotateRootKey();
    await sim.rotateRootKey();
    await sim.rotateRootKey();
    // root.json (v4) is not signed by v1's key: the client walks 2, 3, 4.
    const repo = await updater().refresh();
    expect(repo.root.signed.version).toBe(4);
    expect(sim.fetched).toEqual(expect.arrayContaining(['2.root', '3.root', '4.root']));
  });
});

type Attack = {
  name: string;
  /** Set the scene; the client has refreshed once before unless `fresh`. */
  attack: () => Promise<void>;
  code: string;
  message?: RegExp;
  fresh?: boolean;
};

async function oldFiles(): Promise<Map<string, Uint8Array>> {
  const files = new Map(sim.files);
  await sim.publish();
  await sim.publish();
  return files;
}

const attacks: Attack[] = [
  {
    name: 'rollback of the timestamp',
    attack: async () => {
      const old = await oldFiles();
      await updater().refresh();
      sim.serve('timestamp', old.get('timestamp')!);
    },
    code: 'ROLLBACK',
    message: /^version 1 is lower than current version 3$/,
  },
  {
    name: 'rollback of the snapshot (fresh timestamp over an old snapshot)',
    attack: async () => {
      const old = await oldFiles();
      await updater().refresh();
      sim.serve('snapshot', old.get('snapshot')!);
      await sim.publishTimestamp(old.get('snapshot')!);
    },
    code: 'ROLLBACK',
  },
  {
    name: 'rollback of targets (fresh snapshot over old targets)',
    attack: async () => {
      const old = await oldFiles();
      await updater().refresh();
      const oldTargets = old.get('targets')!;
      sim.serve('targets', oldTargets);
      const meta = { ...sim.snapshot.meta, targets: FileMeta.forBytes(oldTargets) };
      const snap = new Snapshot(sim.snapshot.version + 1, sim.snapshot.expires, meta);
      const bytes = await sim.signBytes('snapshot', snap);
      sim.serve('snapshot', bytes);
      await sim.publishTimestamp(bytes);
    },
    code: 'ROLLBACK',
  },
  {
    name: 'rollback of the root',
    attack: async () => {
      const v1 = sim.files.get('root')!;
      sim.settings.set('root', {});
      await sim.publish({ root: true });
      await updater().refresh();
      // Serve root v1 and force a root update by breaking the timestamp.
      sim.serve('root', v1);
      sim.settings.set('timestamp', { signers: [PrivateKey.generate('ed25519').signer()] });
      await sim.publishTimestamp();
    },
    code: 'ROLLBACK',
    message: /version 1 is lower than current version 2/,
  },
  ...(['timestamp', 'snapshot', 'targets'] as const).map((role): Attack => ({
    name: `freeze: expired ${role}`,
    attack: async () => {
      sim.settings.set(role, { expires: later(-1) });
      await sim.publish();
    },
    code: 'EXPIRED',
    message: new RegExp(`^${role} expired at \\w{3} \\w{3} \\d+ \\d\\d:\\d\\d:\\d\\d UTC \\d{4}$`),
    fresh: true,
  })),
  {
    name: 'freeze: expired root',
    attack: async () => {
      sim.settings.set('root', { expires: later(-1) });
      await sim.publish({ root: true });
    },
    code: 'EXPIRED',
    message: /^root expired at/,
    fresh: true,
  },
  {
    name: 'mix-and-match: targets from another version than the snapshot names',
    attack: async () => {
      const old = await oldFiles();
      // Every checksum name for targets now answers with the old file.
      for (const n of [...sim.served.keys()])
        if (n.startsWith('targets.')) sim.served.set(n, old.get('targets')!);
    },
    code: 'HASH_MISMATCH',
    fresh: true,
  },
  {
    name: "snapshot bytes that do not match the timestamp's hashes",
    attack: async () => {
      const other = await sim.signBytes('snapshot', new Snapshot(9, sim.snapshot.expires, sim.snapshot.meta));
      for (const n of [...sim.served.keys()]) if (n.startsWith('snapshot.')) sim.served.set(n, other);
    },
    code: 'HASH_MISMATCH',
    fresh: true,
  },
  {
    name: 'snapshot longer than the timestamp says',
    attack: async () => {
      const meta = { ...sim.snapshot.meta, extra: FileMeta.forBytes(utf8('padding')) };
      const other = await sim.signBytes('snapshot', new Snapshot(9, sim.snapshot.expires, meta));
      for (const n of [...sim.served.keys()]) if (n.startsWith('snapshot.')) sim.served.set(n, other);
    },
    code: 'TOO_LARGE',
    fresh: true,
  },
  {
    name: 'signatures below threshold',
    attack: async () => {
      sim.keys.targets.push(PrivateKey.generate('ecdsa'));
      sim.thresholds.targets = 2;
      sim.settings.set('targets', { signers: [sim.keys.targets[0]!.signer()] });
      await sim.publish({ root: true });
    },
    code: 'THRESHOLD_NOT_MET',
    message: /valid signatures did not meet threshold for targets/,
    fresh: true,
  },
  {
    name: 'signature by an unknown key',
    attack: async () => {
      sim.settings.set('snapshot', { signers: [PrivateKey.generate('ecdsa').signer()] });
      await sim.publish();
    },
    code: 'THRESHOLD_NOT_MET',
    fresh: true,
  },
  {
    name: 'the same key signing twice does not meet a threshold of 2',
    attack: async () => {
      sim.keys.targets.push(PrivateKey.generate('ecdsa'));
      sim.thresholds.targets = 2;
      await sim.publish({ root: true });
      const md = Metadata.parse(sim.files.get('targets')!, 'Targets');
      const first = md.signatures[0]!;
      const doubled = utf8(
        fromUtf8(md.toBytes()).replace(/"signatures":\[.*\]\}$/, () => {
          const one = first.toJSONText();
          return `"signatures":[${one},${one}]}`;
        }),
      );
      sim.files.set('targets', doubled);
      sim.serve('targets', doubled);
      const meta = { ...sim.snapshot.meta, targets: FileMeta.forBytes(doubled) };
      const snap = await sim.signBytes(
        'snapshot',
        new Snapshot(sim.snapshot.version + 1, sim.snapshot.expires, meta),
      );
      sim.serve('snapshot', snap);
      await sim.publishTimestamp(snap);
    },
    code: 'THRESHOLD_NOT_MET',
    fresh: true,
  },
  {
    name: 'a root rotation without the old root key signature',
    attack: async () => {
      await updater().refresh();
      await sim.rotateRootKey({ signWithOld: false });
    },
    code: 'ROOT_ROTATION_FAILED',
    message: /could not rotate trust to a new trusted root/,
  },
  {
    name: 'oversized timestamp',
    attack: async () => {
      const big = new Timestamp(5, sim.timestamp.expires, sim.timestamp.meta, {
        pad: 'x'.repeat(1024 * 1024),
      });
      sim.served.set('timestamp', await sim.signBytes('timestamp', big));
    },
    code: 'TOO_LARGE',
    fresh: true,
  },
  {
    name: 'malformed JSON timestamp',
    attack: () => {
      sim.served.set('timestamp', utf8('{"signed":{"_type":"Timestamp"'));
      return Promise.resolve();
    },
    code: 'MALFORMED_JSON',
    fresh: true,
  },
  {
    name: 'wrong _type served as timestamp',
    attack: () => {
      sim.served.set('timestamp', sim.files.get('snapshot')!);
      return Promise.resolve();
    },
    code: 'WRONG_TYPE',
    fresh: true,
  },
];

describe('attack suite', () => {
  it.each(attacks.map((a) => [a.name, a] as const))('%s', async (_name, a) => {
    if (!a.fresh) await updater().refresh();
    await a.attack();
    const result = updater().refresh();
    await expect(result).rejects.toMatchObject({ code: a.code });
    if (a.message) await expect(updater().refresh()).rejects.toThrow(a.message);
  });

  it('a delegation cannot vouch for a name outside its paths', async () => {
    sim.delegate('targets/releases', ['app/']);
    sim.addTarget('evil', utf8('evil'), 'targets/releases');
    sim.addTarget('app/good', utf8('good'), 'targets/releases');
    await sim.publish();
    const repo = await updater().refresh();
    expect(repo.lookupTarget('app/good')?.role).toBe('targets/releases');
    expect(repo.lookupTarget('evil')).toBeUndefined();
    expect(repo.listTargets(['targets']).map((t) => t.name)).toEqual(['app/good']);
  });

  it('a rolled-back delegation is skipped with a ROLLBACK warning', async () => {
    sim.delegate('targets/releases', ['']);
    sim.addTarget('v1', utf8('one'), 'targets/releases');
    await sim.publish();
    const old = sim.files.get('targets/releases')!;
    sim.addTarget('v2', utf8('two'), 'targets/releases');
    await sim.publish();
    expect((await updater().refresh()).lookupForPull('v2')).toBeDefined();
    // A fresh snapshot and timestamp that name the old delegation file.
    sim.serve('targets/releases', old);
    const meta = { ...sim.snapshot.meta, 'targets/releases': FileMeta.forBytes(old) };
    const snap = await sim.signBytes(
      'snapshot',
      new Snapshot(sim.snapshot.version + 1, sim.snapshot.expires, meta),
    );
    sim.serve('snapshot', snap);
    await sim.publishTimestamp(snap);
    const repo = await updater().refresh();
    expect(repo.lookupForPull('v1')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toContain('ROLLBACK');
  });

  it('a delegation signed by the wrong key is skipped with a warning', async () => {
    sim.delegate('targets/releases', ['']);
    sim.addTarget('v1', utf8('x'), 'targets/releases');
    sim.settings.set('targets/releases', { signers: [PrivateKey.generate('ecdsa').signer()] });
    await sim.publish();
    const repo = await updater().refresh();
    expect(repo.lookupTarget('v1')).toBeUndefined();
    expect(warnings.map((w) => w.code)).toContain('THRESHOLD_NOT_MET');
  });

  it('target content with the wrong hash or length is refused', () => {
    const meta = FileMeta.forBytes(utf8('the signed manifest'));
    expect(() => verifyTargetContent('v1', meta, utf8('the signed manifest'))).not.toThrow();
    expect(() => verifyTargetContent('v1', meta, utf8('the signed manifesT'))).toThrow(
      expect.objectContaining({ code: 'HASH_MISMATCH' }),
    );
    expect(() => verifyTargetContent('v1', meta, utf8('the signed manifest!'))).toThrow(
      expect.objectContaining({ code: 'LENGTH_MISMATCH' }),
    );
  });

  it('keeps nothing from a refused update in the cache', async () => {
    await updater().refresh();
    const before = new Map(cache.files);
    sim.settings.set('snapshot', { expires: later(-1) });
    await sim.publish();
    await expect(updater().refresh()).rejects.toMatchObject({ code: 'EXPIRED' });
    expect(cache.files).toEqual(before);
  });
});
