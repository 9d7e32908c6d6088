/**
 * trust-core against the real notary 0.7 client and notary-server:
 * 1. a repository created and published by trust-core is listed by `notary list`;
 * 2. a repository made by real notary (init, add, delegation add, key rotate)
 *    is verified by trust-core;
 * 3. (key files cross-read both ways: tests/interop/keys.test.ts);
 * 4. a root rotation made by either side is accepted by the other.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedPassphraseRetriever, PrivateKey } from '../../trust-core/src/crypto/index.js';
import { createRootCertificate, rootPublicKey } from '../../trust-core/src/crypto/x509.js';
import { FileMeta } from '../../trust-core/src/models/file-meta.js';
import { NotaryRepository } from '../../trust-core/src/node/index.js';
import type { NotaryServer, RunResult } from '../support/index.js';
import {
  makeTempDir,
  removeTempDir,
  requireBinariesForSuite,
  makeDelegateCertificate,
  runNotary,
  startNotaryServer,
  TEST_PASSPHRASE,
} from '../support/index.js';

const available = requireBinariesForSuite(['notary', 'notary-server', 'openssl']);

function ok(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** Rows of `notary list`: name, sha256 hex, size, role. */
function listRows(stdout: string): Array<{ name: string; digest: string; size: number; role: string }> {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length === 4 && /^[0-9a-f]{64}$/.test(cols[1]!))
    .map(([name, digest, size, role]) => ({ name: name!, digest: digest!, size: Number(size), role: role! }));
}

const sha256hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!available)('trust-core ⇄ real notary and notary-server', () => {
  let server: NotaryServer;
  let work: string;
  const passphrases = fixedPassphraseRetriever({
    root: TEST_PASSPHRASE,
    targets: TEST_PASSPHRASE,
    snapshot: TEST_PASSPHRASE,
    delegation: TEST_PASSPHRASE,
  });

  beforeAll(async () => {
    server = await startNotaryServer();
    work = await makeTempDir('trust-core-interop');
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await removeTempDir(work);
  });

  function ours(gun: string, trustDir: string): NotaryRepository {
    return new NotaryRepository({ gun, trustDir, server: server.url, ca: server.caPem, passphrases });
  }
  const notary = (args: string[], trustDir: string, stdin?: string) =>
    runNotary(args, { trustDir, serverUrl: server.url, caCertPath: server.caCertPath, cwd: work, stdin });

  it('1. a repository published by trust-core is listed by real notary with the right hashes', async () => {
    const gun = 'example.com/trustlab/ours';
    const repo = ours(gun, path.join(work, 'ours-1'));
    const editor = await repo.initialize();
    const v1 = new TextEncoder().encode('{"manifest":"one"}');
    const v2 = new TextEncoder().encode('<escaped & kept> manifest two');
    editor.addTarget('v1', FileMeta.forBytes(v1));
    editor.addTarget('x<y&z>', FileMeta.forBytes(v2));
    await repo.publish(editor);
    repo.close();

    const listing = ok(await notary(['list', gun], path.join(work, 'theirs-1')), 'notary list');
    expect(listRows(listing.stdout)).toEqual(
      expect.arrayContaining([
        { name: 'v1', digest: sha256hex(v1), size: v1.length, role: 'targets' },
        { name: 'x<y&z>', digest: sha256hex(v2), size: v2.length, role: 'targets' },
      ]),
    );
  });

  it('1b. real notary adds to a repository trust-core created, and trust-core verifies the result', async () => {
    const gun = 'example.com/trustlab/shared';
    const trustDir = path.join(work, 'shared');
    const repo = ours(gun, trustDir);
    const editor = await repo.initialize();
    editor.addTarget('ours', FileMeta.forBytes(new TextEncoder().encode('ours')));
    await repo.publish(editor);
    // Same trust directory: real notary finds and decrypts our key files.
    const file = path.join(work, 'theirs.txt');
    await writeFile(file, 'added by real notary\n');
    ok(await notary(['add', gun, 'theirs', file], trustDir), 'notary add');
    ok(await notary(['publish', gun], trustDir), 'notary publish');
    const fresh = ours(gun, path.join(work, 'shared-reader'));
    const verified = await fresh.update();
    expect(verified.lookupForPull('theirs')?.meta.length).toBe('added by real notary\n'.length);
    expect(verified.lookupForPull('ours')?.role).toBe('targets');
    repo.close();
    fresh.close();
  });

  it('2. a repository made by real notary (init, add, delegation add, key rotate) verifies in trust-core', async () => {
    const gun = 'example.com/trustlab/theirs';
    const trustDir = path.join(work, 'theirs-2');
    const payload = path.join(work, 'payload.bin');
    await writeFile(payload, 'payload for real notary\n');
    ok(await notary(['init', gun], trustDir), 'notary init');
    ok(await notary(['add', gun, 'v1', payload], trustDir), 'notary add');
    ok(await notary(['publish', gun], trustDir), 'notary publish');

    // A delegation key and certificate made with openssl, imported into notary.
    const { certPath: certPem, keyPath: keyPem } = await makeDelegateCertificate(work, 'releases');
    ok(
      await notary(['delegation', 'add', gun, 'targets/releases', certPem, '--all-paths'], trustDir),
      'delegation add',
    );
    ok(await notary(['key', 'import', keyPem, '--role', 'targets/releases'], trustDir), 'key import');
    ok(await notary(['publish', gun], trustDir), 'publish delegation');
    ok(await notary(['add', gun, 'v2', payload, '--roles', 'targets/releases'], trustDir), 'add to releases');
    ok(await notary(['publish', gun], trustDir), 'publish v2');
    ok(await notary(['key', 'rotate', gun, 'targets'], trustDir), 'rotate targets');
    ok(await notary(['key', 'rotate', gun, 'snapshot', '-r'], trustDir), 'rotate snapshot to the server');

    const repo = ours(gun, path.join(work, 'ours-2'));
    const verified = await repo.update();
    const digest = sha256hex('payload for real notary\n');
    expect(Buffer.from(verified.lookupForPull('v1')!.meta.hashes.sha256!).toString('hex')).toBe(digest);
    expect(verified.lookupForPull('v2')?.role).toBe('targets/releases');
    expect(verified.root.signed.version).toBeGreaterThanOrEqual(3);
    // notary list on its side agrees with what we verified.
    const listing = listRows(ok(await notary(['list', gun], trustDir), 'notary list').stdout);
    const ourList = verified.listTargets().map((t) => ({
      name: t.name,
      digest: Buffer.from(t.meta.hashes.sha256!).toString('hex'),
      size: t.meta.length,
      role: t.role,
    }));
    expect(ourList.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      listing.sort((a, b) => a.name.localeCompare(b.name)),
    );
    repo.close();
  });

  it('4a. a root rotation made by real notary is accepted by trust-core (warm cache)', async () => {
    const gun = 'example.com/trustlab/rotate-theirs';
    const trustDir = path.join(work, 'rotate-theirs');
    const payload = path.join(work, 'rotate.bin');
    await writeFile(payload, 'rotate\n');
    ok(await notary(['init', gun, '-p'], trustDir), 'notary init -p');
    const reader = ours(gun, path.join(work, 'rotate-theirs-reader'));
    const before = await reader.update();
    // notary asks for confirmation and exits 0 with "Aborting action." without it.
    const rotated = ok(await notary(['key', 'rotate', gun, 'root'], trustDir, 'yes\n'), 'rotate root');
    expect(rotated.stdout).not.toContain('Aborting');
    ok(await notary(['add', gun, 'after', payload, '-p'], trustDir), 'add after rotation');
    const after = await reader.update();
    expect(after.root.signed.version).toBe(before.root.signed.version + 1);
    expect(after.root.signed.role('root').keyids).not.toEqual(before.root.signed.role('root').keyids);
    expect(after.lookupForPull('after')).toBeDefined();
    reader.close();
  });

  it('4b. a root rotation made by trust-core is accepted by real notary (warm cache)', async () => {
    const gun = 'example.com/trustlab/rotate-ours';
    const trustDir = path.join(work, 'rotate-ours');
    const repo = ours(gun, trustDir);
    const editor = await repo.initialize();
    editor.addTarget('before', FileMeta.forBytes(new TextEncoder().encode('before')));
    await repo.publish(editor);
    // Real notary caches root v1.
    const theirs = path.join(work, 'rotate-ours-reader');
    expect(
      listRows(ok(await notary(['list', gun], theirs), 'list before').stdout).map((r) => r.name),
    ).toEqual(['before']);

    const newRoot = PrivateKey.generate('ecdsa');
    await repo.keys.save(newRoot, { role: 'root' }, TEST_PASSPHRASE);
    const next = await repo.edit();
    next.rotateKey('root', [rootPublicKey(createRootCertificate(newRoot, gun, { now: new Date() }))]);
    next.addTarget('after', FileMeta.forBytes(new TextEncoder().encode('after')));
    await repo.publish(next);
    repo.close();

    const listing = listRows(ok(await notary(['list', gun], theirs), 'list after rotation').stdout);
    expect(listing.map((r) => r.name).sort()).toEqual(['after', 'before']);
  });
});
