/**
 * notary's configuration: the JSON config file (`-c`, default
 * `~/.notary/config.json`) and the global flags that override it, resolved
 * as cmd/notary/main.go does (flags > config file > defaults). Paths in the
 * config file are relative to the file's directory and may start with `~`
 * (notary's utils.ExpandRelativePath).
 *
 * Recognised keys: `trust_dir`, `remote_server.{url,root_ca,tls_client_cert,
 * tls_client_key,skipTLSVerify}`, `trust_pinning.{certs,ca,disable_tofu}`.
 * Unknown keys are ignored, as viper does. The file's schema is in
 * config-schema.ts, loaded only when there is a file (zod is slow to load).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HubSocket } from '../registry/hub-address.js';
import { hubSocketFromEnv } from '../registry/hub-address.js';
import type { ConfigFile } from './config-schema.js';
import { NotaryCliError } from './errors.js';

/** notary's default server when neither `-s` nor the config names one (cmd/notary/main.go). */
export const NOTARY_DEFAULT_SERVER = 'https://notary-server:4443';

export type { ConfigFile };

export interface GlobalFlags {
  configFile?: string | undefined;
  trustDir?: string | undefined;
  server?: string | undefined;
  tlscacert?: string | undefined;
  tlscert?: string | undefined;
  tlskey?: string | undefined;
  debug?: boolean;
  verbose?: boolean;
}

export interface NotaryConfig {
  trustDir: string;
  server: string;
  /** PEM file of the CA to trust for the server (`--tlscacert`, `remote_server.root_ca`). */
  rootCa?: string;
  tlsClientCert?: string;
  tlsClientKey?: string;
  skipTlsVerify: boolean;
  trustPinning: { certs?: Record<string, string[]>; ca?: Record<string, string>; disableTofu?: boolean };
  debug: boolean;
  verbose: boolean;
  /**
   * TRUSTLAB_HUB_SOCKET: connections to the hub's host:port (the server, when
   * it is the hub, and the token realm) go through this unix socket instead
   * of TCP; `socketPathFor(hubSocket, url)` says which.
   */
  hubSocket?: HubSocket;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** A path from the config file: `~` expanded, relative paths taken from the file's directory. */
function configPath(value: string | undefined, base: string, home: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const expanded = expandHome(value, home);
  return path.isAbsolute(expanded) ? expanded : path.resolve(base, expanded);
}

/** A path from a flag: `~` expanded, relative to the working directory. */
function flagPath(value: string | undefined, home: string, cwd: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  return path.resolve(cwd, expandHome(value, home));
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  readFile?: (file: string) => string;
}

export async function resolveConfig(flags: GlobalFlags, options: ResolveOptions = {}): Promise<NotaryConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const home = options.home ?? env.HOME ?? os.homedir();
  const read = options.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const defaultDir = path.join(home, '.notary');
  const explicit = flagPath(flags.configFile, home, cwd);
  const file = explicit ?? path.join(defaultDir, 'config.json');

  let config: ConfigFile = {};
  let text: string | undefined;
  try {
    text = read(file);
  } catch (error) {
    if (error instanceof NotaryCliError) throw error;
    // A missing default config is fine; a config named with -c must exist.
    if (explicit !== undefined) {
      throw new NotaryCliError(`Could not read config at ${file}: ${(error as Error).message}`);
    }
  }
  // The schema (and zod) load only when there is a config file to check: start-up time.
  if (text !== undefined) config = (await import('./config-schema.js')).parseConfigFile(text, file);
  const base = path.dirname(file);
  const remote = config.remote_server ?? {};
  const pinning = config.trust_pinning ?? {};
  const hub = env.TRUSTLAB_HUB;
  const rootCa =
    flagPath(flags.tlscacert, home, cwd) ??
    configPath(remote.root_ca, base, home) ??
    flagPath(env.TRUSTLAB_HUB_CA, home, cwd);
  const tlsClientCert = flagPath(flags.tlscert, home, cwd) ?? configPath(remote.tls_client_cert, base, home);
  const tlsClientKey = flagPath(flags.tlskey, home, cwd) ?? configPath(remote.tls_client_key, base, home);
  const ca: Record<string, string> = {};
  for (const [prefix, caFile] of Object.entries(pinning.ca ?? {})) {
    ca[prefix] = configPath(caFile, base, home) ?? caFile;
  }
  let hubSocket: HubSocket | undefined;
  try {
    hubSocket = hubSocketFromEnv(env);
  } catch (cause) {
    throw new NotaryCliError(`TRUSTLAB_HUB is not a valid address: ${hub}`, { cause });
  }
  return {
    trustDir: flagPath(flags.trustDir, home, cwd) ?? configPath(config.trust_dir, base, home) ?? defaultDir,
    server:
      flags.server ||
      remote.url ||
      (hub ? `https://${hub.replace(/^https?:\/\//, '')}` : NOTARY_DEFAULT_SERVER),
    ...(rootCa ? { rootCa } : {}),
    ...(tlsClientCert ? { tlsClientCert } : {}),
    ...(tlsClientKey ? { tlsClientKey } : {}),
    skipTlsVerify: remote.skipTLSVerify === true,
    trustPinning: {
      ...(pinning.certs ? { certs: pinning.certs } : {}),
      ...(Object.keys(ca).length ? { ca } : {}),
      ...(pinning.disable_tofu !== undefined ? { disableTofu: pinning.disable_tofu } : {}),
    },
    debug: flags.debug === true,
    verbose: flags.verbose === true,
    ...(hubSocket ? { hubSocket } : {}),
  };
}
