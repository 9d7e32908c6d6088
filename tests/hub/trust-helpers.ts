/**
 * Helpers for the hub's Notary API tests: the real notary CLI pointed at the
 * hub with an account, and trust-core's NotaryRepository signing through the
 * hub's token auth.
 *
 * How the real notary CLI (0.7) authenticates to a token-auth trust server,
 * found by experiment against the hub: it first GETs `/v2/` and, on a 401
 * with a Bearer challenge, fetches tokens from the realm with the scope
 * `repository:<gun>:push,pull` (publish, init), `repository:<gun>:*`
 * (`delete --remote`, `key rotate … -r`) or `repository:<gun>:pull` (list,
 * lookup: anonymous). Credentials come from `NOTARY_AUTH` = base64
 * of `user:password`; without it notary prompts `Enter username:` /
 * `Enter password:` on stdin (read-only commands never ask). No
 * `~/.docker/config.json` is consulted.
 */
import { createHash } from 'node:crypto';
import { FileMeta, fixedPassphraseRetriever, fromHex } from '../../trust-core/src/index.js';
import { NotaryRepository } from '../../trust-core/src/node/index.js';
import type { RunResult } from '../support/index.js';
import { TEST_PASSPHRASE, runNotary } from '../support/index.js';
import type { HubClient } from './helpers.js';

export interface Credentials {
  user: string;
  password: string;
}

export function notaryAuthEnv(credentials?: Credentials): NodeJS.ProcessEnv {
  return credentials
    ? { NOTARY_AUTH: Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64') }
    : {};
}

/** `notary -s <hub> --tlscacert <lab CA> …` as `credentials` (anonymous without). */
export function hubNotary(
  args: readonly string[],
  options: { trustDir: string; serverUrl: string; caCertPath: string; credentials?: Credentials },
): Promise<RunResult> {
  return runNotary(args, {
    trustDir: options.trustDir,
    serverUrl: options.serverUrl,
    caCertPath: options.caCertPath,
    env: notaryAuthEnv(options.credentials),
    // No NOTARY_AUTH: the prompt reads EOF from the closed stdin and goes on anonymously.
    stdin: '',
  });
}

/** Fails with the program's output, which is what one needs to see when interop breaks. */
export function expectOk(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Initialises `gun` on the hub with trust-core's NotaryRepository (server-managed
 * snapshot, as docker does) and signs each tag as `docker push` would: the
 * manifest's length and sha256 only.
 */
export async function signWithTrustCore(options: {
  client: HubClient;
  serverUrl: string;
  ca: string;
  gun: string;
  trustDir: string;
  credentials: Credentials;
  tags: Record<string, Buffer>;
}): Promise<void> {
  const token = await options.client.token([`repository:${options.gun}:push,pull`], options.credentials);
  const repo = new NotaryRepository({
    server: options.serverUrl,
    gun: options.gun,
    trustDir: options.trustDir,
    ca: options.ca,
    passphrases: fixedPassphraseRetriever({
      root: TEST_PASSPHRASE,
      targets: TEST_PASSPHRASE,
      snapshot: TEST_PASSPHRASE,
      delegation: TEST_PASSPHRASE,
    }),
    headers: () => ({ Authorization: `Bearer ${token}` }),
  });
  try {
    const editor = (await repo.exists())
      ? await repo.edit()
      : await repo.initialize({ serverManagedSnapshot: true });
    for (const [tag, manifest] of Object.entries(options.tags)) {
      editor.addTarget(tag, new FileMeta(manifest.length, { sha256: fromHex(sha256Hex(manifest)) }));
    }
    await repo.publish(editor);
  } finally {
    repo.close();
  }
}
