/**
 * The platform's parts that need no running platform: settings, the
 * sandbox choice, writing lab files into a home the learner controls,
 * filling credentials into rendered lab text, cookies and the store.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LEARNER_COOKIE } from '../../platform/api.js';
import { writeHomeFilesIfAbsent } from '../../platform/home-files.js';
import { notaryConfig } from '../../platform/homes.js';
import { fillCredentials, renderBlock } from '../../platform/lab-pages.js';
import { learnerTokenFrom, readablePassword } from '../../platform/learners.js';
import { ProgressStore, MAX_EVENTS_PER_LEARNER } from '../../platform/progress-store.js';
import { appRequestPolicy } from '../../platform/request-policy.js';
import { chooseDriver } from '../../platform/sandbox.js';
import { readSettings } from '../../platform/settings.js';

const temps: string[] = [];
async function temp(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-platform-unit-'));
  temps.push(dir);
  return dir;
}
afterEach(async () => {
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('settings', () => {
  it('defaults to the contracts: ./data, port 3000 on loopback, hub 4443, self-paced, driver left to the platform', () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      dataDir: path.resolve('data'),
      webPort: 3000,
      webHost: '127.0.0.1',
      hubPort: 4443,
      mode: 'self-paced',
      sandbox: undefined,
      publicOrigin: undefined,
    });
  });

  it('refuses values it cannot mean, naming the variable', () => {
    expect(() => readSettings({ PORT: 'http' })).toThrow(/PORT/);
    expect(() => readSettings({ TRUSTLAB_SANDBOX: 'docker' })).toThrow(/TRUSTLAB_SANDBOX/);
    expect(() => readSettings({ TRUSTLAB_MODE: 'party' })).toThrow(/TRUSTLAB_MODE/);
    expect(() => readSettings({ TRUSTLAB_PUBLIC_ORIGIN: 'https://lab.example.org/path' })).toThrow(
      /TRUSTLAB_PUBLIC_ORIGIN/,
    );
    expect(readSettings({ TRUSTLAB_PUBLIC_ORIGIN: 'https://Lab.Example.org' }).publicOrigin).toBe(
      'https://lab.example.org',
    );
  });

  it('takes a PKCS#11 module for local mode, and a shared server refuses it', () => {
    expect(readSettings({}).pkcs11Module).toBeUndefined();
    expect(readSettings({ TRUSTLAB_PKCS11_MODULE: '/usr/lib/libykcs11.so' }).pkcs11Module).toBe(
      '/usr/lib/libykcs11.so',
    );
    expect(() =>
      readSettings({ TRUSTLAB_PKCS11_MODULE: '/usr/lib/libykcs11.so', TRUSTLAB_MODE: 'workshop' }),
    ).toThrow(/TRUSTLAB_PKCS11_MODULE is for one learner/);
    for (const shared of [
      { TRUSTLAB_HOST: '0.0.0.0' },
      { TRUSTLAB_PUBLIC_ORIGIN: 'https://lab.example.org' },
    ]) {
      expect(() => readSettings({ TRUSTLAB_PKCS11_MODULE: '/usr/lib/libykcs11.so', ...shared })).toThrow(
        /TRUSTLAB_PKCS11_MODULE is for one learner/,
      );
    }
  });

  it('takes the instructor password and the stuck threshold, refusing a short password without echoing it', () => {
    const settings = readSettings({
      TRUSTLAB_INSTRUCTOR_PASSWORD: 'twelve chars',
      TRUSTLAB_STUCK_AFTER_MINUTES: '2.5',
    });
    expect(settings).toMatchObject({ instructorPassword: 'twelve chars', stuckAfterMinutes: 2.5 });
    expect(readSettings({})).toMatchObject({ instructorPassword: undefined, stuckAfterMinutes: undefined });
    expect(() => readSettings({ TRUSTLAB_INSTRUCTOR_PASSWORD: 'eleven char' })).toThrow(
      /TRUSTLAB_INSTRUCTOR_PASSWORD must have at least 12/,
    );
    try {
      readSettings({ TRUSTLAB_INSTRUCTOR_PASSWORD: 'hunter2' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
    expect(() => readSettings({ TRUSTLAB_STUCK_AFTER_MINUTES: '0' })).toThrow(/TRUSTLAB_STUCK_AFTER_MINUTES/);
    expect(() => readSettings({ TRUSTLAB_STUCK_AFTER_MINUTES: 'soon' })).toThrow(
      /TRUSTLAB_STUCK_AFTER_MINUTES/,
    );
  });
});

describe('request policy', () => {
  it('accepts the app’s own origins and hosts only, the public origin included', () => {
    const policy = appRequestPolicy(3000, 'https://lab.example.org');
    expect(policy.originAllowed('http://localhost:3000')).toBe(true);
    expect(policy.originAllowed('http://127.0.0.1:3000')).toBe(true);
    expect(policy.originAllowed('https://lab.example.org')).toBe(true);
    expect(policy.originAllowed('http://localhost:3001')).toBe(false);
    expect(policy.originAllowed('null')).toBe(false);
    expect(policy.hostAllowed('lab.example.org')).toBe(true);
    expect(policy.hostAllowed('localhost:3000')).toBe(true);
    expect(policy.hostAllowed('evil.example:3000')).toBe(false);
    expect(policy.hostAllowed(undefined)).toBe(false);
  });
});

describe('sandbox choice', () => {
  it('refuses the local driver in a workshop rather than falling back to it', () => {
    expect(() =>
      chooseDriver({ sandbox: 'local', mode: 'workshop', dataDir: '/tmp/unused', warn: () => undefined }),
    ).toThrow(expect.objectContaining({ code: 'UNSAFE_SANDBOX' }));
  });

  it('gives the local driver when asked in self-paced mode, with its warning', async () => {
    const warnings: string[] = [];
    const driver = chooseDriver({
      sandbox: 'local',
      mode: 'self-paced',
      dataDir: await temp(),
      warn: (m) => warnings.push(m),
    });
    expect(driver.info).toEqual({ name: 'local', isolated: false });
    expect(warnings.join('\n')).toMatch(/no isolation/);
    await driver.close();
  });
});

describe('lab files in a home', () => {
  const file = notaryConfig('https://localhost:4443');

  it('writes notary’s config pointing at docker’s trust directory and the hub, once', async () => {
    const home = await temp();
    expect(await writeHomeFilesIfAbsent(home, [file], undefined)).toEqual(['.notary/config.json']);
    const written = path.join(home, '.notary', 'config.json');
    expect(JSON.parse(await readFile(written, 'utf8'))).toEqual({
      trust_dir: '~/.docker/trust',
      remote_server: { url: 'https://localhost:4443' },
    });
    expect((await stat(written)).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(home, '.notary'))).mode & 0o777).toBe(0o700);
    // The learner's own version stays.
    await writeFile(written, '{"trust_dir":"~/mine"}');
    expect(await writeHomeFilesIfAbsent(home, [file], undefined)).toEqual([]);
    expect(await readFile(written, 'utf8')).toBe('{"trust_dir":"~/mine"}');
  });

  it('follows no symlink the learner planted, on the way or at the end', async () => {
    const home = await temp();
    const elsewhere = await temp();
    await symlink(elsewhere, path.join(home, '.notary'));
    expect(await writeHomeFilesIfAbsent(home, [file], undefined)).toEqual([]);
    expect(await readdir(elsewhere)).toEqual([]);

    const other = await temp();
    await mkdir(path.join(other, '.notary'));
    await symlink(path.join(elsewhere, 'planted.json'), path.join(other, '.notary', 'config.json'));
    expect(await writeHomeFilesIfAbsent(other, [file], undefined)).toEqual([]);
    expect(await readdir(elsewhere)).toEqual([]);
    expect((await lstat(path.join(other, '.notary', 'config.json'))).isSymbolicLink()).toBe(true);
  });
});

describe('credentials in lab text', () => {
  const learner = { username: 'learner-3fa9', password: 'ab&cd-<efg>-hjkmn' };

  it('marks them in text and code, escaped, and writes plain values inside tags', () => {
    const html = renderBlock(
      'Log in as `{{username}}` with {{password}}.\n\n```\ndocker tag busybox {{username}}/dctrust\n```\n\n[hub](https://hub.example/{{username}})',
      learner,
    );
    expect(html).toContain('<code><span data-credential="username">learner-3fa9</span></code>');
    expect(html).toContain('<span data-credential="password">ab&#38;cd-&#60;efg&#62;-hjkmn</span>');
    expect(html).toContain('docker tag busybox <span data-credential="username">learner-3fa9</span>/dctrust');
    expect(html).toContain('href="https://hub.example/learner-3fa9"');
    expect(fillCredentials('<p>{{json .}}</p>', learner)).toBe('<p>{{json .}}</p>');
  });
});

describe('learner cookie and password', () => {
  it('reads only a well-formed learner cookie', () => {
    const token = 'a'.repeat(32);
    expect(learnerTokenFrom(`other=1; ${LEARNER_COOKIE}=${token}`)).toBe(token);
    expect(learnerTokenFrom(`${LEARNER_COOKIE}=../../etc`)).toBeUndefined();
    expect(learnerTokenFrom(undefined)).toBeUndefined();
  });

  it('makes readable passwords the hub accepts', () => {
    const passwords = new Set(Array.from({ length: 50 }, readablePassword));
    expect(passwords.size).toBe(50);
    for (const password of passwords)
      expect(password).toMatch(/^[a-hjkmnp-z2-9]{5}(-[a-hjkmnp-z2-9]{5}){2}$/);
  });
});

describe('progress store', () => {
  it('keeps passed tasks and sessions across reopening, and bounds each learner’s events', async () => {
    const dataDir = await temp();
    let store = new ProgressStore(dataDir);
    store.addLearner({ id: 'l1', tokenDigest: 'd1', username: 'learner-l1', password: 'p', createdAt: 1 });
    store.addSession('s1', 'l1', 10);
    store.addPassed('l1', 'lab', 'task-a', 20);
    store.addPassed('l1', 'lab', 'task-a', 30);
    for (let i = 0; i < MAX_EVENTS_PER_LEARNER + 5; i++) {
      store.addEvent('l1', {
        sessionId: 's1',
        receivedAt: i,
        fields: { command: 'pull', outcome: 'PULLED' },
      });
    }
    store.close();
    expect((await stat(path.join(dataDir, 'app', 'progress.db'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dataDir, 'app'))).mode & 0o777).toBe(0o700);

    store = new ProgressStore(dataDir);
    expect(store.passed('l1', 'lab')).toEqual(['task-a']);
    expect(store.sessionsOf('l1')).toEqual(['s1']);
    expect(store.learnerOfSession('s1')).toBe('l1');
    const events = store.eventsOf('l1');
    expect(events).toHaveLength(MAX_EVENTS_PER_LEARNER);
    expect(events[0]!.receivedAt).toBe(5);
    store.close();
  });
});
