/**
 * Task 5's failures, each with a clear error and nothing published: the
 * helper gone in the middle of a signature, a wrong PIN (then the right
 * one), and a helper started with a code that is not the attendee's.
 * The SoftHSM2 token here has a user PIN other than the default, so the
 * helper asks for it on its own terminal (its stdin), where the test
 * answers, or does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dockerLogin,
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from '../platform/support.js';
import { requireBinariesForSuite } from '../support/binaries.js';
import { createSoftToken, type SoftToken } from '../support/softhsm.js';
import {
  chooseNewPassphrase,
  Helper,
  hubHasTrustData,
  newLearner,
  pairingCode,
  type TestLearner,
} from './support.js';

const ok = requireBinariesForSuite(['softhsm2-util']);
const USER_PIN = '654321';
const ROOT_PASS = 'root-passphrase-6';
const REPO_PASS = 'repo-passphrase-6';
const PIN_PROMPT = 'Enter the User Pin for the attached Yubikey: ';

describe.skipIf(!ok)('Task 5 failures are clean', () => {
  let test: TestPlatform;
  let token: SoftToken;
  let learner: TestLearner;
  let screen: Screen;
  const helpers: Helper[] = [];
  const repository = () => `${learner.username}/alpine`;

  async function pairedHelper(): Promise<Helper> {
    const { code } = await pairingCode(test, learner);
    const helper = Helper.start(test, code, token);
    helpers.push(helper);
    await helper.waitFor('Paired with');
    await waitUntil(() => test.platform.api.yubikeyStatus(learner).state === 'connected');
    return helper;
  }

  beforeAll(async () => {
    token = await createSoftToken({ label: 'pin-token', userPin: USER_PIN });
    test = await startTestPlatform();
    learner = await newLearner(test);
  });

  afterAll(async () => {
    screen?.close();
    for (const helper of helpers) await helper.stop();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
    await token?.cleanup();
  });

  it('asks for the PIN on the helper’s terminal, never in the lab terminal, to store the root key', async () => {
    const helper = await pairedHelper();
    screen = await Screen.open(test, learner.cookie);
    screen.client.input('notary key generate\r');
    await chooseNewPassphrase(screen, 'root', ROOT_PASS);
    // The default PIN (123456) was tried first and refused; the helper asks its own user.
    await helper.waitFor(PIN_PROMPT);
    helper.answer(USER_PIN);
    await screen.waitFor(/Generated new ecdsa root key with keyID: [0-9a-f]{64}/);
    expect(screen.text).not.toContain('Pin');
    await helper.stop();
    await waitUntil(() => test.platform.api.yubikeyStatus(learner).state === 'not-connected');

    await dockerLogin(screen, learner.username, learner.password);
    await screen.run('docker pull alpine');
    await screen.run(`docker tag alpine ${repository()}:signed`);
    await screen.run('export DOCKER_CONTENT_TRUST=1');
  });

  it('with no helper the client falls back to the file store, as notary does, and says so only in debug output', async () => {
    const plain = await screen.run('notary key list');
    expect(plain).not.toContain('yubikey');
    expect(plain).not.toContain('No yubikey found');
    expect(plain.split('\n').filter((line) => /^\s*root\s/.test(line))).toHaveLength(1);
    const debug = await screen.run('notary -D key list');
    expect(debug).toContain(
      'No yubikey found, using alternative key storage: no YubiKey helper is paired with this terminal',
    );
  });

  it(
    'a helper that disconnects in the middle of a signature fails the push, naming the helper; nothing is published',
    { timeout: 60_000 },
    async () => {
      const helper = await pairedHelper();
      const mark = screen.text.length;
      screen.client.input(`docker push ${repository()}:signed\r`);
      await screen.waitFor('Please touch the attached Yubikey to perform signing.');
      // The helper is waiting for its PIN, inside the signature request: it goes away now.
      await helper.waitFor(PIN_PROMPT);
      await helper.stop('SIGKILL');
      await waitUntil(() =>
        screen.text.slice(mark).includes('the YubiKey helper disconnected before it answered'),
      );
      expect(screen.text.slice(mark)).toContain('nothing was signed');
      expect(await hubHasTrustData(test, repository())).toBe(false);
    },
  );

  it(
    'a wrong PIN fails the push with what the token says about the tries left; the right PIN then signs',
    { timeout: 90_000 },
    async () => {
      const helper = await pairedHelper();
      let mark = screen.text.length;
      let helperMark = helper.output.length;
      screen.client.input(`docker push ${repository()}:signed\r`);
      await helper.waitFor(PIN_PROMPT);
      helper.answer('000000');
      // Asked again, now with the token's word on the tries left; an empty answer gives up.
      await waitUntil(
        () => helper.since(helperMark).split(PIN_PROMPT).length > 2,
        20_000,
        () => helper.output,
      );
      expect(helper.since(helperMark)).toMatch(/few tries left|last try/);
      helper.answer('');
      await waitUntil(
        () => screen.text.slice(mark).includes('wrong User Pin for the YubiKey'),
        20_000,
        () => screen.text.slice(mark),
      );
      const failed = screen.text.slice(mark);
      expect(failed).toContain('could not produce valid signature');
      // SoftHSM2, as a YubiKey, sets CKF_USER_PIN_COUNT_LOW after a wrong PIN.
      expect(failed).toContain('the token says few tries are left before it blocks');
      expect(await hubHasTrustData(test, repository())).toBe(false);
      expect(test.platform.api.yubikeyStatus(learner).state).toBe('connected');

      mark = screen.text.length;
      helperMark = helper.output.length;
      screen.client.input(`docker push ${repository()}:signed\r`);
      await waitUntil(
        () => helper.since(helperMark).includes(PIN_PROMPT),
        20_000,
        () => helper.output,
      );
      helper.answer(USER_PIN);
      await chooseNewPassphrase(screen, 'repository', REPO_PASS);
      await screen.waitFor(`Successfully signed docker.io/${repository()}:signed`, 60_000);
      expect(await hubHasTrustData(test, repository())).toBe(true);
    },
  );

  it('another attendee’s helper cannot pair with a code already used, and sees nothing of this token', async () => {
    const other = await newLearner(test);
    const first = await pairingCode(test, learner);
    const mine = Helper.start(test, first.code, token);
    helpers.push(mine);
    await mine.waitFor('Paired with');
    // The same code again, from anyone: refused, and that helper stops.
    const intruder = Helper.start(test, first.code, token);
    helpers.push(intruder);
    expect(await intruder.exit).toBe(1);
    expect(intruder.output).toContain('this pairing code is not valid');
    expect(test.platform.api.yubikeyStatus(other).state).toBe('not-connected');
    const answer = await fetch(`${test.origin}/api/session/yubikey`, {
      headers: { Cookie: other.cookie, 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(((await answer.json()) as { status: { state: string } }).status.state).toBe('not-connected');
  });
});
