/**
 * The lab's Task 5 end to end, with SoftHSM2 standing in for the YubiKey:
 * a real helper process (bin/yubikey-helper) paired with a real session
 * through the page's pairing code, and the workshop's commands typed into
 * the terminal. Then the real notary and docker read what was published.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey } from '../../trust-core/src/index.js';
import {
  dockerLogin,
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from '../platform/support.js';
import { requireBinariesForSuite } from '../support/binaries.js';
import { installDockerTrustCa, runDocker } from '../support/docker-cli.js';
import { runNotary } from '../support/notary-cli.js';
import { createSoftToken, type SoftToken } from '../support/softhsm.js';
import {
  chooseNewPassphrase,
  Helper,
  hubHasTrustData,
  newLearner,
  pairingCode,
  type TestLearner,
} from './support.js';

const ok = requireBinariesForSuite(['softhsm2-util', 'notary', 'docker']);
const ROOT_PASS = 'root-passphrase-5';
const REPO_PASS = 'repo-passphrase-5';

let lastStates: { taskId: string; status: string } | undefined;

async function taskState(
  test: TestPlatform,
  learner: TestLearner,
  taskId: string,
): Promise<string | undefined> {
  const response = await fetch(`${test.origin}/api/labs/content-trust/check`, {
    method: 'POST',
    headers: { Cookie: learner.cookie, Origin: test.origin },
  });
  const { tasks } = (await response.json()) as { tasks: { taskId: string; status: string }[] };
  lastStates = tasks.find((s) => s.taskId === taskId);
  return lastStates?.status;
}

describe.skipIf(!ok)('Task 5: the root key on a YubiKey, through the helper', () => {
  let test: TestPlatform;
  let token: SoftToken;
  let learner: TestLearner;
  let helper: Helper | undefined;
  let screen: Screen | undefined;
  let rootKeyId = '';
  const gun = () => `docker.io/${learner.username}/alpine`;

  beforeAll(async () => {
    token = await createSoftToken({ label: 'trustlab-yubikey' });
    test = await startTestPlatform();
    learner = await newLearner(test);
  });

  afterAll(async () => {
    screen?.close();
    await helper?.stop();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
    await token?.cleanup();
  });

  it('pairs a helper with the code the page shows, and the page hears it', async () => {
    const statusBefore = (await (
      await fetch(`${test.origin}/api/session/yubikey`, {
        headers: { Cookie: learner.cookie, 'Sec-Fetch-Site': 'same-origin' },
      })
    ).json()) as { status: { state: string } };
    expect(statusBefore.status.state).toBe('not-connected');
    const pairing = await pairingCode(test, learner);
    expect(pairing.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(pairing.command).toBe(
      `npm run yubikey-helper -- --server ${test.platform.urls.web} --code ${pairing.code}`,
    );
    helper = Helper.start(test, pairing.code, token);
    await helper.waitFor(`Paired with ${learner.username}'s lab session`);
    await waitUntil(() => test.platform.api.yubikeyStatus(learner).state === 'connected');
    await waitUntil(() => test.platform.api.yubikeyStatus(learner).token?.label === 'trustlab-yubikey');
  });

  it('notary key list shows no keys, and notary key generate puts the root key on the token with a backup', async () => {
    screen = await Screen.open(test, learner.cookie);
    const empty = await screen.run('notary key list');
    expect(empty).toContain('No signing keys found.');

    screen.client.input('notary key generate\r');
    await chooseNewPassphrase(screen, 'root', ROOT_PASS);
    await screen.waitFor(/Generated new ecdsa root key with keyID: [0-9a-f]{64}/);
    rootKeyId = /Generated new ecdsa root key with keyID: ([0-9a-f]{64})/.exec(screen.text)![1]!;
    expect(helper!.output).toContain('storing a new root key');

    const listed = await screen.run('notary key list');
    const rows = listed.split('\n').filter((line) => line.includes(rootKeyId));
    // The encrypted backup in the trust directory, then the key on the token: notary sorts a
    // key's rows by location, and a directory ("/…") comes before "yubikey".
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\s*root\s+[0-9a-f]{64}\s+\S*\/private\s*$/);
    expect(rows[1]).toMatch(/^\s*root\s+[0-9a-f]{64}\s+yubikey\s*$/);
    expect(test.platform.api.yubikeyStatus(learner).state).toBe('connected');
  });

  it(
    'the signed push of <user>/alpine:signed asks for a touch, and the yubikey task ticks',
    { timeout: 120_000 },
    async () => {
      const s = screen!;
      await dockerLogin(s, learner.username, learner.password);
      expect(await s.run('docker pull alpine')).toContain('Status: ');
      await s.run(`docker tag alpine ${learner.username}/alpine:signed`);
      await s.run('export DOCKER_CONTENT_TRUST=1');
      expect(await taskState(test, learner, 'yubikey')).toBe('pending');
      const mark = s.text.length;
      s.client.input(`docker push ${learner.username}/alpine:signed\r`);
      await s.waitFor('Please touch the attached Yubikey to perform signing.');
      await chooseNewPassphrase(s, 'repository', REPO_PASS);
      await s.waitFor(`Successfully signed ${gun()}:signed`, 60_000);
      const pushed = s.text.slice(mark);
      // No root passphrase: the root key is on the token. It signed the certificate and root.json.
      expect(pushed).not.toContain('passphrase for root key');
      expect(
        pushed.match(/Please touch the attached Yubikey to perform signing\./g)?.length,
      ).toBeGreaterThanOrEqual(2);
      expect(helper!.output).toContain(`signing for ${gun()} root`);

      const trust = await test.platform.api.hubTrust(`${learner.username}/alpine`);
      expect(trust?.roles.find((r) => r.role === 'root')?.keyIds).toEqual([rootKeyId]);
      // The check also wants a key listing that shows the token's key, which came before the push.
      await waitUntil(
        async () => (await taskState(test, learner, 'yubikey')) === 'done',
        20_000,
        () => JSON.stringify(lastStates),
      );
    },
  );

  it('real notary and the real docker CLI accept the published root, whose certificate key is on the token', async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'trustlab-yubikey-real-'));
    try {
      const server = `https://127.0.0.1:${test.hubPort}`;
      const ca = test.platform.urls.hubCa!;
      const listed = await runNotary(['list', gun()], {
        trustDir: path.join(work, 'notary'),
        serverUrl: server,
        caCertPath: ca,
      });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/signed\s+[0-9a-f]{64}\s+\d+\s+targets/);
      // What real notary verified and cached: its root key's certificate holds the token's key.
      const root = JSON.parse(
        await readFile(path.join(work, 'notary', 'tuf', gun(), 'metadata', 'root.json'), 'utf8'),
      ) as { signed: { keys: Record<string, unknown>; roles: { root: { keyids: string[] } } } };
      const rootKeyJson = root.signed.keys[root.signed.roles.root.keyids[0]!];
      const certKey = PublicKey.fromJSON(rootKeyJson as Parameters<typeof PublicKey.fromJSON>[0]);
      expect(certKey.keytype).toBe('ecdsa-x509');
      expect(certKey.canonicalId()).toBe(rootKeyId);

      const dockerConfig = path.join(work, 'docker');
      await installDockerTrustCa(dockerConfig, server, ca);
      const inspected = await runDocker(['trust', 'inspect', `${gun()}:signed`], {
        dockerConfig,
        env: { DOCKER_CONTENT_TRUST_SERVER: server },
      });
      expect(inspected.code, inspected.stderr).toBe(0);
      const [inspect] = JSON.parse(inspected.stdout) as {
        AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
      }[];
      expect(inspect!.AdministrativeKeys.find((k) => k.Name === 'Root')?.Keys).toEqual([{ ID: certKey.id }]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('a second learner gets no keys from the first one’s helper, and cannot pair with a used code', async () => {
    const other = await newLearner(test);
    const otherScreen = await Screen.open(test, other.cookie);
    try {
      const listed = await otherScreen.run('notary key list');
      expect(listed).toContain('No signing keys found.');
      expect(listed).not.toContain(rootKeyId);
    } finally {
      otherScreen.close();
    }
    expect(await hubHasTrustData(test, `${other.username}/alpine`)).toBe(false);
  });
});
