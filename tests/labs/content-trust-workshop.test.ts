/**
 * The Content Trust lab end to end: the workshop played with the real
 * `bin/docker` against an in-process hub (tests/labs/lab-harness.ts), the
 * lab engine watching. Each task must tick only once its own work is done,
 * and stay pending through the steps before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import contentTrust from '../../labs/content-trust/index.js';
import { runDocker, runDockerPty } from '../client/docker-helpers.js';
import { PASSWORD, USER, startLabHarness, stateOf, type LabHarness } from './lab-harness.js';

const ROOT_PASS = 'root-passphrase-1';
const REPO_PASS = 'repo-passphrase-1';

describe('content-trust lab: the engine follows the workshop', () => {
  let h: LabHarness;
  let env: NodeJS.ProcessEnv;
  let trusted: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startLabHarness(contentTrust, 'labs/content-trust/index.ts');
    env = h.env;
    trusted = { ...env, DOCKER_CONTENT_TRUST: '1' };
  });

  afterAll(async () => {
    await h?.close();
  });

  it('starts with every task pending', async () => {
    expect(stateOf(await h.session.start())).toEqual({
      'create-repo': 'pending',
      'enable-trust': 'pending',
      'push-signed': 'pending',
      'pull-images': 'pending',
      yubikey: 'pending',
    });
  });

  it('Task 1: create-repo ticks by itself on the unsigned push, not before', async () => {
    await h.step(() =>
      runDockerPty(['login'], env, [
        ['Username: ', USER],
        ['Password: ', PASSWORD],
      ]),
    );
    await h.step(() => runDocker(['pull', 'busybox'], env));
    const tagged = await h.step(() => runDocker(['tag', 'busybox', `${USER}/dctrust:latest`], env));
    expect(tagged['create-repo']).toBe('pending');
    // No explicit run here: the engine notices the new records and event itself.
    const pushed = await runDocker(['push', `${USER}/dctrust:latest`], env);
    expect(pushed.code).toBe(0);
    await expect.poll(() => stateOf(h.session.statuses())['create-repo'], { timeout: 5000 }).toBe('done');
    expect(stateOf(h.session.statuses())['enable-trust']).toBe('pending');
  });

  it('Task 2: a pull without trust and a forged event do not tick enable-trust; the refused pull does', async () => {
    const plain = await h.step(() => runDocker(['pull', `${USER}/dctrust:latest`], env));
    expect(plain['enable-trust']).toBe('failed');
    expect(h.session.statuses().find((s) => s.taskId === 'enable-trust')?.suggestion).toContain(
      'DOCKER_CONTENT_TRUST=1',
    );

    // What a learner can write to the events socket by hand: the claim alone ticks nothing.
    h.log.append(
      JSON.stringify({
        command: 'pull',
        trust: true,
        outcome: 'TRUST_DATA_MISSING',
        reference: `docker.io/${USER}/dctrust:latest`,
      }),
    );
    expect(stateOf(await h.session.run())['enable-trust']).toBe('failed');

    const refused = await h.step(() => runDocker(['pull', `${USER}/dctrust:latest`], trusted), 1);
    expect(refused['enable-trust']).toBe('done');
    expect(refused['push-signed']).toBe('pending');
  });

  it('Task 3: push-signed ticks once the signed push is done and the keys are on disk', async () => {
    await h.step(() => runDocker(['tag', 'busybox', `${USER}/dctrust:signed`], env));
    expect(stateOf(await h.session.run())['push-signed']).toBe('pending');
    const signed = await h.step(() =>
      runDockerPty(['push', `${USER}/dctrust:signed`], trusted, [
        ['Enter passphrase for new root key with ID ', ROOT_PASS],
        ['Repeat passphrase for new root key with ID ', ROOT_PASS],
        ['Enter passphrase for new repository key with ID ', REPO_PASS],
        ['Repeat passphrase for new repository key with ID ', REPO_PASS],
      ]),
    );
    expect(signed['push-signed']).toBe('done');
    expect(signed['pull-images']).toBe('pending');
  });

  it('Task 4: pull-images needs all four pulls; :signed without trust alone is not enough', async () => {
    const plainSigned = await h.step(() =>
      runDocker(['pull', '--disable-content-trust', `${USER}/dctrust:signed`], trusted),
    );
    expect(plainSigned['pull-images']).toBe('pending');
    const refused = await h.step(() => runDocker(['pull', `${USER}/dctrust:latest`], trusted), 1);
    expect(refused['pull-images']).toBe('pending');
    const verified = await h.step(() => runDocker(['pull', `${USER}/dctrust:signed`], trusted));
    expect(verified['pull-images']).toBe('pending');
    const all = await h.step(() =>
      runDocker(['pull', '--disable-content-trust', `${USER}/dctrust:latest`], trusted),
    );
    expect(all['pull-images']).toBe('done');
  });

  it('yubikey stays pending and says what it needs; tasks ticked in the workshop order', () => {
    const yubikey = h.session.statuses().find((s) => s.taskId === 'yubikey')!;
    expect(yubikey.state).toBe('pending');
    expect(yubikey.reason).toContain('YubiKey');
    expect(h.changes.filter((c) => c.state === 'done').map((c) => c.taskId)).toEqual([
      'create-repo',
      'enable-trust',
      'push-signed',
      'pull-images',
    ]);
    expect(h.session.passed()).toEqual(['create-repo', 'enable-trust', 'push-signed', 'pull-images']);
  });

  it('a new engine over the same facts (a restart) agrees, given what already passed', async () => {
    const again = h.reopen(['create-repo']);
    // Everything else is re-derived from the hub's records and the home.
    expect(stateOf(await again.start())).toEqual({
      'create-repo': 'done',
      'enable-trust': 'done',
      'push-signed': 'done',
      'pull-images': 'done',
      yubikey: 'pending',
    });
  });
});
