/**
 * The admin command of the contracts: `bin/trustlab user add NAME
 * --password-stdin` creates a hub account whose password is stored hashed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accounts } from '../../hub/src/auth/accounts.js';
import { openDatabase } from '../../hub/src/storage/database.js';

const TRUSTLAB = fileURLToPath(new URL('../../bin/trustlab', import.meta.url));

function run(
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      TRUSTLAB,
      args,
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}

describe('bin/trustlab', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trustlab-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('user add NAME --password-stdin creates an account with a hashed password', async () => {
    const result = await run(['user', 'add', 'alice', '--password-stdin'], 'correct horse battery\n', {
      TRUSTLAB_DATA_DIR: dataDir,
    });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('Created hub account alice');
    const db = openDatabase(path.join(dataDir, 'hub', 'hub.db'));
    try {
      const accounts = new Accounts(db);
      await expect(accounts.verifyPassword('alice', 'correct horse battery')).resolves.toBe(true);
      await expect(accounts.verifyPassword('alice', 'wrong password')).resolves.toBe(false);
    } finally {
      db.close();
    }
    const raw = await readFile(path.join(dataDir, 'hub', 'hub.db'));
    expect(raw.includes(Buffer.from('correct horse battery'))).toBe(false);
  });

  it('refuses a missing --password-stdin with usage and exit code 2', async () => {
    const result = await run(['user', 'add', 'bob'], '', { TRUSTLAB_DATA_DIR: dataDir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--password-stdin');
  });

  it('refuses a second account of the same name with a clear error', async () => {
    const result = await run(['user', 'add', 'alice', '--password-stdin'], 'another password\n', {
      TRUSTLAB_DATA_DIR: dataDir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^trustlab: .*alice/m);
  });
});
