/**
 * Local mode: a learner running the whole lab on their own machine sets
 * TRUSTLAB_PKCS11_MODULE, and the server uses the token itself, with no
 * helper and nothing to pair. SoftHSM2 stands in for the YubiKey; it reads
 * SOFTHSM2_CONF when the server first opens the module, in this process.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKeyFile, PrivateKey } from '../../trust-core/src/index.js';
import {
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from '../platform/support.js';
import { requireBinariesForSuite } from '../support/binaries.js';
import { createSoftToken, type SoftToken } from '../support/softhsm.js';
import { chooseNewPassphrase, newLearner, type TestLearner } from './support.js';

const ok = requireBinariesForSuite(['softhsm2-util']);

describe.skipIf(!ok)('Task 5 in local mode (TRUSTLAB_PKCS11_MODULE)', () => {
  let test: TestPlatform;
  let token: SoftToken;
  let learner: TestLearner;
  let screen: Screen | undefined;

  beforeAll(async () => {
    token = await createSoftToken({ label: 'local-token' });
    process.env.SOFTHSM2_CONF = token.conf;
    test = await startTestPlatform({ settings: { pkcs11Module: token.module } });
    learner = await newLearner(test);
  });

  afterAll(async () => {
    screen?.close();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
    delete process.env.SOFTHSM2_CONF;
    await token?.cleanup();
  });

  it('has nothing to pair: the page hears the server holds the token', async () => {
    const answer = await fetch(`${test.origin}/api/session/yubikey`, {
      method: 'POST',
      headers: { Cookie: learner.cookie, Origin: test.origin },
    });
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('LOCAL_TOKEN');
    expect(test.platform.api.yubikeyStatus(learner)).toMatchObject({ state: 'connected', local: true });
  });

  it('notary key generate stores the root key on the token, and notary key list shows it there', async () => {
    screen = await Screen.open(test, learner.cookie);
    screen.client.input('notary key generate\r');
    await chooseNewPassphrase(screen, 'root', 'local-passphrase');
    await screen.waitFor(/Generated new ecdsa root key with keyID: [0-9a-f]{64}/);
    const id = /Generated new ecdsa root key with keyID: ([0-9a-f]{64})/.exec(screen.text)![1]!;
    const listed = await screen.run('notary key list');
    expect(listed).toMatch(new RegExp(`root\\s+${id}\\s+yubikey`));
    expect(test.platform.api.yubikeyStatus(learner).token?.label).toBe('local-token');
  });

  it('notary key import puts an imported root key on the token too, with its backup', async () => {
    const s = screen!;
    const key = PrivateKey.generate('ecdsa');
    const home = test.platform.terminal.session(learner.id)!.homeDir!;
    await writeFile(path.join(home, 'root.pem'), encodeKeyFile(key, { role: 'root', passphrase: '' }), {
      mode: 0o644,
    });
    s.client.input('notary key import ~/root.pem\r');
    await s.waitFor(`Enter passphrase for new root key with ID ${key.id.slice(0, 7)}`);
    s.client.input('import-passphrase\r');
    await s.waitFor(`Repeat passphrase for new root key with ID ${key.id.slice(0, 7)}`);
    const repeated = s.text.length;
    s.client.input('import-passphrase\r');
    // The shell's next prompt (bash turns bracketed paste on with each one): anything typed
    // before it would be read by notary's hidden prompt, as with the real notary.
    await waitUntil(() => s.text.slice(repeated).includes('\u001b[?2004h'));
    const listed = await s.run('notary key list');
    expect(listed).toMatch(new RegExp(`root\\s+${key.id}\\s+yubikey`));
    expect(listed.split('\n').filter((line) => line.includes(key.id))).toHaveLength(2);
  });

  it('notary init --rootkey and a root rotation keep the root keys on the token, which signs them in', async () => {
    const s = screen!;
    const gun = `docker.io/${learner.username}/rotated`;
    const first = PrivateKey.generate('ecdsa');
    const home = test.platform.terminal.session(learner.id)!.homeDir!;
    await writeFile(path.join(home, 'first.pem'), encodeKeyFile(first, { role: 'root', passphrase: '' }));
    await s.run(
      `export NOTARY_ROOT_PASSPHRASE=root-pass-1 NOTARY_TARGETS_PASSPHRASE=repo-pass-1 NOTARY_SNAPSHOT_PASSPHRASE=repo-pass-1 NOTARY_AUTH=${Buffer.from(`${learner.username}:${learner.password}`).toString('base64')}`,
    );
    const init = await s.run(`notary init ${gun} --rootkey ~/first.pem -p`);
    expect(init).toMatch(/end-\d+-0/);
    expect(init).toContain('Please touch the attached Yubikey to perform signing.');
    expect((await test.platform.api.hubTrust(`${learner.username}/rotated`))?.roles[0]).toMatchObject({
      role: 'root',
      keyIds: [first.id],
    });

    const rotate = s.text.length;
    s.client.input(`notary key rotate ${gun} root\r`);
    await s.waitFor('(yes/no)');
    const confirmed = s.text.length;
    s.client.input('yes\r');
    // The shell's next prompt (bash turns bracketed paste on with each one) ends the rotation.
    await waitUntil(() => s.text.slice(confirmed).includes('\u001b[?2004h'));
    // The new certificate and the new root, each signed on the token (old and new key co-sign root).
    expect(s.text.slice(rotate).match(/Please touch the attached Yubikey/g)?.length).toBeGreaterThanOrEqual(
      3,
    );
    const after = await test.platform.api.hubTrust(`${learner.username}/rotated`);
    const rootIds = after!.roles.find((r) => r.role === 'root')!.keyIds;
    expect(rootIds).toHaveLength(1);
    expect(rootIds[0]).not.toBe(first.id);
    const listed = await s.run('notary key list');
    expect(listed).toMatch(new RegExp(`root\\s+${rootIds[0]}\\s+yubikey`));
    expect(listed).toMatch(new RegExp(`root\\s+${first.id}\\s+yubikey`));
  });
});
