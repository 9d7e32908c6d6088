/**
 * The lab's `notary` (bin/notary) against the real notary-server, cross-checked
 * with the real notary 0.7 on the same trust directory and server: what one
 * publishes the other lists, both see the same keys, and a change staged by
 * one is published by the other.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotaryServer, RunResult } from '../support/index.js';
import {
  baseEnv,
  makeTempDir,
  notaryPassphraseEnv,
  removeTempDir,
  requireBinariesForSuite,
  makeDelegateCertificate,
  runCommand,
  runNotary,
  startNotaryServer,
} from '../support/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUR_NOTARY = path.join(root, 'bin', 'notary');
const ok = requireBinariesForSuite(['notary', 'notary-server', 'openssl']);

function expectOk(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

describe.skipIf(!ok)('our notary against notary-server, cross-checked with the real notary', () => {
  let server: NotaryServer;
  let work: string;
  let trustDir: string;

  const ours = (args: string[], stdin?: string) =>
    runCommand(OUR_NOTARY, ['-d', trustDir, '-s', server.url, '--tlscacert', server.caCertPath, ...args], {
      env: { ...baseEnv(work), ...notaryPassphraseEnv() },
      cwd: work,
      stdin: stdin ?? '',
      timeoutMs: 60_000,
    });
  const real = (args: string[], stdin?: string) =>
    runNotary(args, {
      trustDir,
      serverUrl: server.url,
      caCertPath: server.caCertPath,
      cwd: work,
      stdin: stdin ?? '',
    });

  beforeAll(async () => {
    server = await startNotaryServer();
    work = await makeTempDir('notary-cli');
    trustDir = path.join(work, 'trust');
    await writeFile(path.join(work, 'hello.txt'), 'hello\n');
    await writeFile(path.join(work, 'other.txt'), 'other content\n');
    await makeDelegateCertificate(work, 'alice');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (work) await removeTempDir(work);
  });

  it('init, add, publish: real notary lists what we published, and our list equals its list', async () => {
    const gun = 'example.com/lab/app';
    expectOk(await ours(['init', gun]), 'our init');
    const added = expectOk(await ours(['add', gun, 'v1', 'hello.txt']), 'our add');
    expect(added.stdout).toBe(`Addition of target "v1" to repository "${gun}" staged for next publish.\n`);
    const status = expectOk(await ours(['status', gun]), 'our status');
    expect(status.stdout).toBe(expectOk(await real(['status', gun]), 'real status').stdout);
    const published = expectOk(await ours(['publish', gun]), 'our publish');
    expect(published.stdout).toBe(
      `Pushing changes to ${gun}\nSuccessfully published changes for repository ${gun}\n`,
    );
    const realList = expectOk(await real(['list', gun]), 'real list');
    expect(realList.stdout).toContain(
      'v1      5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03    6               targets',
    );
    const ourList = expectOk(await ours(['list', gun]), 'our list');
    expect(ourList.stdout).toBe(realList.stdout);
    expect(expectOk(await ours(['lookup', gun, 'v1']), 'our lookup').stdout).toBe(
      expectOk(await real(['lookup', gun, 'v1']), 'real lookup').stdout,
    );
    const verified = await ours(['verify', gun, 'v1'], 'hello\n');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toBe('hello\n');
    const tampered = await ours(['verify', gun, 'v1'], 'tampered\n');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('* fatal: data not present in the trusted collection');
  });

  it('shows the same keys as the real notary key list', async () => {
    const ourKeys = expectOk(await ours(['key', 'list']), 'our key list');
    const realKeys = expectOk(await real(['key', 'list']), 'real key list');
    expect(ourKeys.stdout).toBe(realKeys.stdout);
    expect(ourKeys.stdout).toMatch(/^\nROLE {8}GUN/);
  });

  it('a change staged by our add is published by the real notary, and the other way round', async () => {
    const gun = 'example.com/lab/app';
    expectOk(await ours(['add', gun, 'ours-staged', 'other.txt']), 'our add');
    expectOk(await real(['publish', gun]), 'real publish of our change');
    expect(expectOk(await real(['list', gun]), 'real list').stdout).toContain('ours-staged');
    expectOk(await real(['add', gun, 'real-staged', 'other.txt']), 'real add');
    expectOk(await ours(['publish', gun]), 'our publish of the real change');
    const listed = expectOk(await real(['list', gun]), 'real list').stdout;
    expect(listed).toContain('real-staged');
    expect(expectOk(await ours(['list', gun]), 'our list').stdout).toBe(listed);
  });

  it('publishes a repository the real notary initialised, and the real notary publishes ours', async () => {
    const theirs = 'example.com/lab/theirs';
    expectOk(await real(['init', theirs]), 'real init');
    expectOk(await ours(['add', theirs, 'v1', 'hello.txt']), 'our add');
    expectOk(await ours(['publish', theirs]), 'our first publish');
    expect(expectOk(await real(['list', theirs]), 'real list').stdout).toContain('v1 ');
    const mine = 'example.com/lab/mine';
    expectOk(await ours(['init', mine]), 'our init');
    expectOk(await real(['add', mine, 'v1', 'hello.txt']), 'real add');
    expectOk(await real(['publish', mine]), 'real first publish');
    expect(expectOk(await ours(['list', mine]), 'our list').stdout).toContain('v1 ');
  });

  it('delegation add and list, then signs into the delegation', async () => {
    const gun = 'example.com/lab/app';
    const added = expectOk(
      await ours(['delegation', 'add', gun, 'targets/releases', 'alice.crt', '--all-paths', '-p']),
      'our delegation add',
    );
    expect(added.stdout).toMatch(
      /^\nAddition of delegation role targets\/releases with keys \[[0-9a-f]{64}\], with paths \["" <all paths>\], to repository/,
    );
    expect(added.stdout).toContain(`Auto-publishing changes to ${gun}\nSuccessfully published changes`);
    const ourList = expectOk(await ours(['delegation', 'list', gun]), 'our delegation list');
    expect(ourList.stdout).toBe(
      expectOk(await real(['delegation', 'list', gun]), 'real delegation list').stdout,
    );
    expect(ourList.stdout).toContain('targets/releases    "" <all paths>');
    // Import alice's key so we can sign into targets/releases.
    expectOk(await ours(['key', 'import', 'alice.key', '-r', 'targets/releases']), 'our key import');
    expectOk(
      await ours(['add', gun, 'release-1', 'hello.txt', '--roles', 'targets/releases', '-p']),
      'our add to releases',
    );
    const listed = expectOk(
      await real(['list', gun, '--roles', 'targets/releases']),
      'real list --roles',
    ).stdout;
    expect(listed).toContain('targets/releases');
    expect(listed).toContain('release-1');
  });

  it('removes paths from a delegation, staged by either client and published by the other', async () => {
    const gun = 'example.com/lab/app';
    const both = async () => {
      const mine = expectOk(await ours(['delegation', 'list', gun]), 'our delegation list').stdout;
      expect(mine).toBe(expectOk(await real(['delegation', 'list', gun]), 'real delegation list').stdout);
      return mine;
    };
    expectOk(
      await ours(['delegation', 'add', gun, 'targets/qa', 'alice.crt', '--paths', 'app/,lib/', '-p']),
      'our delegation add with two paths',
    );
    expect(await both()).toMatch(/targets\/qa +app\/ +/);
    const removed = expectOk(
      await ours(['delegation', 'remove', gun, 'targets/qa', '--paths', 'lib/']),
      'our delegation remove --paths',
    );
    expect(removed.stdout).toBe(
      expectOk(await real(['delegation', 'remove', gun, 'targets/qa', '--paths', 'lib/']), 'real remove')
        .stdout,
    );
    // Both staged the same change; the real notary publishes the two of them in order.
    expectOk(await real(['publish', gun]), 'real publish of both removals');
    const afterRemove = await both();
    expect(afterRemove).toMatch(/targets\/qa +app\/ +/);
    expect(afterRemove).not.toContain('lib/');
    expectOk(
      await real(['delegation', 'remove', gun, 'targets/qa', '--all-paths']),
      'real remove --all-paths',
    );
    expectOk(await ours(['publish', gun]), 'our publish of the cleared paths');
    const cleared = await both();
    expect(cleared).toContain('targets/qa');
    expect(cleared).not.toContain('app/');
  });

  it('key rotate snapshot -r and targets: the real notary still verifies and lists the repository', async () => {
    const gun = 'example.com/lab/app';
    const before = expectOk(await real(['list', gun]), 'real list').stdout;
    expect(expectOk(await ours(['key', 'rotate', gun, 'snapshot', '-r']), 'rotate snapshot').stdout).toBe(
      `Successfully rotated snapshot key for repository ${gun}\n`,
    );
    expectOk(await ours(['key', 'rotate', gun, 'targets']), 'rotate targets');
    const realFresh = await runNotary(['list', gun], {
      trustDir: path.join(work, 'fresh-trust'),
      serverUrl: server.url,
      caCertPath: server.caCertPath,
    });
    expect(expectOk(realFresh, 'real list, fresh trust dir').stdout).toBe(before);
    expect(expectOk(await ours(['key', 'list']), 'our key list').stdout).toBe(
      expectOk(await real(['key', 'list']), 'real key list').stdout,
    );
    // Rotated again so the new targets key is the one we publish with.
    expectOk(await ours(['add', gun, 'after-rotation', 'hello.txt', '-p']), 'add after rotation');
    expect(expectOk(await real(['list', gun]), 'real list').stdout).toContain('after-rotation');
  });

  it('prints notary fatal errors on stdout with exit 1, and usage for missing arguments', async () => {
    const missing = await ours(['list', 'example.com/lab/nothing']);
    const realMissing = await real(['list', 'example.com/lab/nothing']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe(realMissing.stdout);
    const usage = await ours(['list']);
    expect(usage.code).toBe(1);
    expect(usage.stdout).toBe((await real(['list'])).stdout);
    expect((await ours(['key', 'rotate', 'example.com/lab/app', 'timestamp'])).stdout).toBe(
      (await real(['key', 'rotate', 'example.com/lab/app', 'timestamp'])).stdout,
    );
    expect((await ours(['init', '--help'])).stdout).toBe((await real(['init', '--help'])).stdout);
  });

  it('delete --remote removes the trust data for both clients', async () => {
    const gun = 'example.com/lab/theirs';
    const deleted = expectOk(await ours(['delete', gun, '--remote']), 'our delete --remote');
    expect(deleted.stdout).toBe(
      `Deleting trust data for repository ${gun}\nSuccessfully deleted local and remote trust data for repository ${gun}\n`,
    );
    const after = await real(['list', gun]);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain(`does not have trust data for ${gun}`);
  });
});
