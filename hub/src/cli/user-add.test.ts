import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Accounts } from '../auth/accounts.js';
import { openDatabase } from '../storage/database.js';
import { userAdd } from './user-add.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'user-add-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

describe('userAdd', () => {
  it('creates an account from a password on stdin (first line only)', async () => {
    await userAdd(dataDir, 'carol', Readable.from([Buffer.from('s3cret-pass\n')]));
    const db = openDatabase(path.join(dataDir, 'hub', 'hub.db'));
    const accounts = new Accounts(db);
    expect(await accounts.verifyPassword('carol', 's3cret-pass')).toBe(true);
    expect(await accounts.verifyPassword('carol', 's3cret-pass\n')).toBe(false);
    db.close();
  });

  it('refuses bad names, short passwords and duplicates', async () => {
    await expect(userAdd(dataDir, 'Carol', 'long-enough-password')).rejects.toThrow();
    await expect(userAdd(dataDir, 'library', 'long-enough-password')).rejects.toThrow();
    await expect(userAdd(dataDir, 'carol', 'short')).rejects.toThrow();
    await userAdd(dataDir, 'carol', 'long-enough-password');
    await expect(userAdd(dataDir, 'carol', 'another-password')).rejects.toThrow(/already exists/);
  });
});
