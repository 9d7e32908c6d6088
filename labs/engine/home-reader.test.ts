import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, link, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from './errors.js';
import { createHomeReader, homePathComponents } from './home-reader.js';

describe('home reader', () => {
  let base: string;
  let home: string;
  let outside: string;

  beforeEach(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'trustlab-home-'));
    home = path.join(base, 'home');
    outside = path.join(base, 'outside');
    await mkdir(path.join(home, '.docker', 'trust', 'private'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret'), 'not for the attendee');
    await writeFile(path.join(home, '.docker', 'trust', 'private', 'a.key'), 'key', { mode: 0o600 });
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('reads a file under the home and lists a directory', async () => {
    const reader = createHomeReader(home);
    const file = await reader.readFile('.docker/trust/private/a.key');
    expect(new TextDecoder().decode(file!.bytes)).toBe('key');
    expect(file!.mode).toBe(0o600);
    await mkdir(path.join(home, '.docker', 'trust', 'private', 'sub'));
    expect(await reader.listDir('.docker/trust/private')).toEqual([
      { name: 'a.key', kind: 'file' },
      { name: 'sub', kind: 'directory' },
    ]);
    expect(await reader.readFile('.docker/missing')).toBeUndefined();
    expect(await reader.listDir('.docker/missing')).toBeUndefined();
    expect(await reader.readFile('.docker/trust')).toBeUndefined();
  });

  it('refuses paths that could leave the home before touching the disk', () => {
    for (const bad of ['../outside/secret', '/etc/passwd', '.docker/../../outside/secret', 'a\0b']) {
      expect(() => homePathComponents(bad)).toThrow(LabError);
    }
    expect(homePathComponents('./.docker//trust/')).toEqual(['.docker', 'trust']);
  });

  it('does not follow a symlink, last or on the way', async () => {
    const reader = createHomeReader(home);
    await symlink(path.join(outside, 'secret'), path.join(home, 'link'));
    await symlink(outside, path.join(home, 'dir-link'));
    await symlink(path.join(home, '.docker', 'trust', 'private', 'a.key'), path.join(home, 'inner-link'));
    expect(await reader.readFile('link')).toBeUndefined();
    expect(await reader.readFile('dir-link/secret')).toBeUndefined();
    expect(await reader.listDir('dir-link')).toBeUndefined();
    // Even a link that stays inside the home: a check reads the files docker wrote, not links to them.
    expect(await reader.readFile('inner-link')).toBeUndefined();
    expect(await reader.listDir('')).toContainEqual({ name: 'link', kind: 'symlink' });
  });

  it('leaves out large files, hard links and FIFOs (without blocking on them)', async () => {
    const reader = createHomeReader(home, { maxFileBytes: 16 });
    await writeFile(path.join(home, 'big'), 'x'.repeat(17));
    await writeFile(path.join(home, 'small'), 'x'.repeat(16));
    expect(await reader.readFile('big')).toBeUndefined();
    expect((await reader.readFile('small'))?.size).toBe(16);
    await link(path.join(outside, 'secret'), path.join(home, 'hard'));
    expect(await createHomeReader(home).readFile('hard')).toBeUndefined();
    execFileSync('mkfifo', [path.join(home, 'fifo')]);
    expect(await reader.readFile('fifo')).toBeUndefined();
  });

  it('caps the number of entries listed', async () => {
    for (let i = 0; i < 5; i++) await writeFile(path.join(home, `f${i}`), '');
    const listed = await createHomeReader(home, { maxEntries: 3 }).listDir('');
    expect(listed).toHaveLength(3);
  });
});
