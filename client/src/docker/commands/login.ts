/**
 * `docker login [SERVER]` and `docker logout [SERVER]` (cli/command/registry).
 *
 * Login asks `Username: ` then a hidden `Password: ` (or takes `-u` with
 * `--password-stdin`, or `-p` with docker's warning), checks the
 * credentials against the registry's token realm (GET /v2/ → challenge →
 * token request with Basic auth), then stores them in config.json and
 * prints docker 28's plaintext-storage warning and `Login Succeeded`.
 * No server means Docker Hub, which in the lab is the hub (TRUSTLAB_HUB);
 * its credentials are kept under `https://index.docker.io/v1/` as docker
 * keeps them.
 */
import { PromptAborted } from '../../cli/terminal.js';
import { Authorizer, RegistryError } from '../../registry/index.js';
import { flagBool, flagString, parseArgs, requireArgs } from '../args.js';
import { convertToHostname, INDEX_SERVER } from '../config-file.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { DEFAULT_DOMAIN } from '../reference.js';
import { registryFailure } from './registry-errors.js';

const LOGIN_FLAGS = [
  { long: 'password', short: 'p', type: 'string' },
  { long: 'password-stdin', type: 'bool' },
  { long: 'username', short: 'u', type: 'string' },
] as const;

/** The `auths` key and registry domain for a SERVER argument (default: Docker Hub). */
function serverFor(argument: string | undefined): { key: string; domain: string } {
  if (argument === undefined || argument === '') return { key: INDEX_SERVER, domain: DEFAULT_DOMAIN };
  const host = convertToHostname(argument);
  if (['index.docker.io', 'docker.io', 'registry-1.docker.io'].includes(host)) {
    return { key: INDEX_SERVER, domain: DEFAULT_DOMAIN };
  }
  return { key: host, domain: host };
}

async function readAll(ctx: DockerContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function loginCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker login [OPTIONS] [SERVER]';
  const parsed = parseArgs(argv, LOGIN_FLAGS, 'login', usage);
  if (parsed.help) {
    ctx.out(HELP.login!);
    return 0;
  }
  requireArgs(parsed, 'login', usage, { max: 1 });
  const { key, domain } = serverFor(parsed.args[0]);
  let username = flagString(parsed, 'username');
  let password = flagString(parsed, 'password');
  const passwordStdin = flagBool(parsed, 'password-stdin');
  if (password !== undefined) {
    ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (passwordStdin)
      throw new DockerError('USAGE', '--password and --password-stdin are mutually exclusive');
  }
  if (passwordStdin) {
    if (username === undefined)
      throw new DockerError('USAGE', 'Must provide --username with --password-stdin');
    password = (await readAll(ctx)).replace(/\r?\n$/, '').replace(/\r$/, '');
  }
  try {
    if (username === undefined || username === '') {
      username = (await ctx.terminal.ask('Username: ')).trim();
      if (username === '') throw new DockerError('LOGIN_FAILED', 'Error: Non-null Username Required');
    }
    if (password === undefined) {
      password = await ctx.terminal.ask('Password: ', { hidden: true });
      if (password === '') throw new DockerError('LOGIN_FAILED', 'Error: Password Required');
    }
  } catch (error) {
    if (error instanceof PromptAborted) {
      throw new DockerError(
        'LOGIN_FAILED',
        'Error: Cannot perform an interactive login from a non TTY device',
        {
          suggestion: 'Use docker login -u <username> --password-stdin, with the password on stdin.',
        },
      );
    }
    throw error;
  }
  const http = await ctx.http();
  const auth = new Authorizer(http, ctx.registryOrigin(domain), { username, password });
  try {
    await auth.login();
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'UNAUTHORIZED') {
      // A registry with HTTP Basic auth (docker-registry's htpasswd) has no token service to word the
      // refusal: the daemon reports the status of its GET /v2/ (moby registry/auth.go loginV2).
      const basic = (await auth.ping().catch(() => null))?.scheme === 'basic';
      const reason = basic
        ? `login attempt to ${new URL('/v2/', auth.origin).href} failed with status: 401 Unauthorized`
        : error.message;
      throw new DockerError('LOGIN_FAILED', `Error response from daemon: ${reason}`, {
        cause: error,
        suggestion: 'Check your username and password (they are shown in the lab page).',
      });
    }
    throw registryFailure(error);
  } finally {
    http.close();
  }
  const config = await ctx.config();
  config.setCredentials(key, username, password);
  await config.save();
  ctx.err(
    `\nWARNING! Your credentials are stored unencrypted in '${config.file}'.\n` +
      'Configure a credential helper to remove this warning. See\n' +
      'https://docs.docker.com/go/credential-store/\n\n',
  );
  ctx.out('Login Succeeded\n');
  ctx.event.outcome = 'LOGGED_IN';
  ctx.event.reference = key;
  return 0;
}

export async function logoutCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker logout [SERVER]';
  const parsed = parseArgs(argv, [], 'logout', usage);
  if (parsed.help) {
    ctx.out(HELP.logout!);
    return 0;
  }
  requireArgs(parsed, 'logout', usage, { max: 1 });
  const { key } = serverFor(parsed.args[0]);
  const config = await ctx.config();
  ctx.out(`Removing login credentials for ${key === INDEX_SERVER ? INDEX_SERVER : convertToHostname(key)}\n`);
  if (config.removeCredentials(key)) await config.save();
  ctx.event.outcome = 'LOGGED_OUT';
  ctx.event.reference = key;
  return 0;
}
