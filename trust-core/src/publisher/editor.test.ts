import { describe, expect, it } from 'vitest';
import type { PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signatures.js';
import { PrivateKey } from '../crypto/signatures.js';
import { createRootCertificate, rootPublicKey } from '../crypto/x509.js';
import { TrustedMetadataSet } from '../client/trusted-set.js';
import { utf8, fromUtf8 } from '../encoding/bytes.js';
import { FileMeta } from '../models/file-meta.js';
import { Metadata } from '../models/metadata.js';
import type { SignerSource } from './editor.js';
import { RepositoryEditor } from './editor.js';
import { buildPublishRequest } from './publish-request.js';

const NOW = new Date('2026-11-26T12:00:00Z');
const GUN = 'docker.io/alice/app';

function setup(serverManagedSnapshot: boolean) {
  const root = PrivateKey.generate('ecdsa');
  const rootCert = rootPublicKey(createRootCertificate(root, GUN, { now: NOW }));
  const targets = PrivateKey.generate('ecdsa');
  const snapshot = PrivateKey.generate('ecdsa');
  const timestamp = PrivateKey.generate('ed25519');
  const held = new Map<string, PrivateKey>([
    [root.id, root],
    [targets.id, targets],
    [snapshot.id, snapshot],
  ]);
  const source: SignerSource = {
    signersFor: (_role: string, keys: readonly PublicKey[]): Promise<Signer[]> =>
      Promise.resolve(
        keys.flatMap((k) => {
          const priv = held.get(k.canonicalId());
          return priv ? [priv.signer(k)] : [];
        }),
      ),
  };
  const editor = RepositoryEditor.initialize({
    gun: GUN,
    now: NOW,
    rootKey: rootCert,
    targetsKey: targets.publicKey(),
    snapshotKey: serverManagedSnapshot ? PrivateKey.generate('ed25519').publicKey() : snapshot.publicKey(),
    timestampKey: timestamp.publicKey(),
    serverManagedSnapshot,
  });
  return { editor, source, held, timestamp };
}

const version = (bytes: Uint8Array | undefined, type: 'Root' | 'Targets' | 'Snapshot') =>
  Metadata.parse(bytes!, type).signed.version;

describe('RepositoryEditor', () => {
  it('notary init + add + publish gives root 1, targets 2, snapshot 2', async () => {
    const { editor, source } = setup(false);
    editor.addTarget('v1', FileMeta.forBytes(utf8('one')));
    const { files } = await editor.sign(source);
    expect([...files.keys()]).toEqual(['root', 'targets', 'snapshot']);
    expect(version(files.get('root'), 'Root')).toBe(1);
    expect(version(files.get('targets'), 'Targets')).toBe(2);
    expect(version(files.get('snapshot'), 'Snapshot')).toBe(2);
    // The snapshot names the exact bytes of root and targets, and everything verifies.
    const trusted = new TrustedMetadataSet(files.get('root')!, { gun: GUN, now: NOW });
    const snapshot = Metadata.parse(files.get('snapshot')!, 'Snapshot');
    expect(snapshot.signed.meta.root!.length).toBe(files.get('root')!.length);
    expect(trusted.root.signed.version).toBe(1);
  });

  it("docker's first push (server-managed snapshot) uploads root and targets 2, no snapshot", async () => {
    const { editor, source } = setup(true);
    editor.addTarget('latest', FileMeta.forBytes(utf8('{"manifest":1}')));
    const { files } = await editor.sign(source);
    expect([...files.keys()]).toEqual(['root', 'targets']);
    expect(version(files.get('targets'), 'Targets')).toBe(2);
  });

  it('later publishes bump only what changed, with a fresh expiry', async () => {
    const { editor, source } = setup(false);
    await editor.sign(source);
    editor.setClock(new Date(NOW.getTime() + 86_400_000));
    editor.addTarget('v2', FileMeta.forBytes(utf8('two')));
    const { files } = await editor.sign(source);
    expect([...files.keys()]).toEqual(['targets', 'snapshot']);
    expect(version(files.get('targets'), 'Targets')).toBe(2);
    expect(Metadata.parse(files.get('targets')!, 'Targets').signed.expires).toBe('2029-11-26T12:00:00Z');
  });

  it('adds a delegation and signs into it with the delegate key', async () => {
    const { editor, source, held } = setup(false);
    await editor.sign(source);
    const releases = PrivateKey.generate('ecdsa');
    held.set(releases.id, releases);
    editor.addDelegation('targets/releases', [releases.publicKey()], ['']);
    editor.addTarget('v1', FileMeta.forBytes(utf8('x')), 'targets/releases');
    const { files } = await editor.sign(source);
    expect([...files.keys()]).toEqual(['targets', 'targets/releases', 'snapshot']);
    const rel = Metadata.parse(files.get('targets/releases')!, 'Targets', 'targets/releases');
    expect(rel.signatures[0]!.keyid).toBe(releases.id);
    expect(rel.signed.version).toBe(1);
  });

  it('refuses a target outside the delegated paths, and a bad delegation name', () => {
    const { editor } = setup(false);
    editor.addDelegation('targets/releases', [PrivateKey.generate('ecdsa').publicKey()], ['app/']);
    expect(() => editor.addTarget('other', FileMeta.forBytes(utf8('x')), 'targets/releases')).toThrow(
      expect.objectContaining({ code: 'INVALID_TARGET' }),
    );
    expect(() => editor.addDelegation('targets/Bad', [], [''])).toThrow(
      expect.objectContaining({ code: 'INVALID_ROLE' }),
    );
  });

  it('changes delegation paths in notary order: remove, clear, add; no paths means no paths field', async () => {
    const { editor, source } = setup(false);
    await editor.sign(source);
    const key = PrivateKey.generate('ecdsa').publicKey();
    editor.addDelegation('targets/qa', [key], ['app/', 'lib/']);
    editor.updateDelegationPaths('targets/qa', { remove: ['lib/', 'other/'], add: ['lib/x/'] });
    expect(editor.delegation('targets/qa')?.paths).toEqual(['app/', 'lib/x/']);
    editor.updateDelegationPaths('targets/qa', { clear: true, remove: ['app/'] });
    expect(editor.delegation('targets/qa')?.paths).toEqual([]);
    const { files } = await editor.sign(source);
    const roles = (
      JSON.parse(new TextDecoder().decode(files.get('targets')!)) as {
        signed: { delegations: { roles: Record<string, unknown>[] } };
      }
    ).signed.delegations.roles;
    expect(roles).toEqual([{ keyids: [key.id], name: 'targets/qa', threshold: 1 }]);
    expect(() => editor.updateDelegationPaths('targets/none', { add: ['x'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_DELEGATION' }),
    );
  });

  it('says which key is missing when it cannot sign', async () => {
    const { editor, source, held } = setup(false);
    held.clear();
    await expect(editor.sign(source)).rejects.toMatchObject({ code: 'CANNOT_SIGN' });
  });

  it('rotating the root signs the new root with the old and the new key', async () => {
    const { editor, source, held } = setup(false);
    const first = await editor.sign(source);
    const next = PrivateKey.generate('ecdsa');
    held.set(next.id, next);
    editor.rotateKey('root', [rootPublicKey(createRootCertificate(next, GUN, { now: NOW }))]);
    const { files } = await editor.sign(source);
    const root = Metadata.parse(files.get('root')!, 'Root');
    expect(root.signed.version).toBe(2);
    expect(root.signatures).toHaveLength(2);
    const trusted = new TrustedMetadataSet(first.files.get('root')!, { gun: GUN, now: NOW });
    expect(trusted.updateRoot(files.get('root')!).signed.version).toBe(2);
  });
});

describe('publish request', () => {
  it('is multipart/form-data with one "files" part per role, as notary sends it', () => {
    const body = buildPublishRequest(new Map([['targets/releases', utf8('{"a":1}')]]), 'B');
    expect(body.contentType).toBe('multipart/form-data; boundary=B');
    expect(fromUtf8(body.bytes)).toBe(
      '--B\r\nContent-Disposition: form-data; name="files"; filename="targets/releases"\r\n' +
        'Content-Type: application/octet-stream\r\n\r\n{"a":1}\r\n--B--\r\n',
    );
  });
});
