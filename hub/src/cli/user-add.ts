/**
 * `trustlab user add NAME --password-stdin`: creates a hub account.
 *
 * The password is read from a stream (stdin) rather than argv so it does not
 * show up in `ps` or shell history, the same reason `docker login` has
 * `--password-stdin`. Safe to run while the hub is up: SQLite (WAL, busy
 * timeout) serialises the write with the running hub.
 */
import path from 'node:path';
import { Accounts } from '../auth/accounts.js';
import { openDatabase } from '../storage/database.js';
import { mkdirSync } from 'node:fs';

/** Reads the password: everything up to the first line break (a trailing newline from `echo` is not part of it). */
export async function readPassword(
  stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

export async function userAdd(
  dataDir: string,
  name: string,
  passwordFromStdin: AsyncIterable<Buffer | string> | string,
): Promise<void> {
  // A string is taken as what stdin would have carried, so its trailing newline is dropped too.
  const password = await readPassword(
    typeof passwordFromStdin === 'string' ? [passwordFromStdin] : passwordFromStdin,
  );
  const hubDir = path.join(dataDir, 'hub');
  mkdirSync(hubDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(path.join(hubDir, 'hub.db'));
  try {
    await new Accounts(db).createAccount(name, password);
  } finally {
    db.close();
  }
}
