/**
 * notary's configuration: the JSON config file (`-c`, default
 * `~/.notary/config.json`) and the global flags that override it, resolved
 * as cmd/notary/main.go does (flags > config file > defaults). Paths in the
 * config file are relative to the file's directory and may start with `~`
 * (notary's utils.ExpandRelativePath).
 *
 * Recognised keys: `trust_dir`, `remote_server.{url,root_ca,tls_client_cert,
 * tls_client_key,skipTLSVerify}`, `trust_pinning.{certs,ca,disable_tofu}`.
 * Unknown keys are ignored, as viper does.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { NotaryCliError } from './errors.js';

/** notary's default server when neither `-s` nor the config names one (cmd/notary/main.go). */
export const NOTARY_DEFAULT_SERVER = 'https://notary-server:4443';

export const ConfigFileSchema = z
  .object({
    trust_dir: z.string().optional(),
    remote_server: z
      .object({
        url: z.string().optional(),
        root_ca: z.string().optional(),
        tls_client_cert: z.string().optional(),
        tls_client_key: z.string().optional(),
        skipTLSVerify: z.boolean().optional(),
      })
      .loose()
      .optional(),
    trust_pinning: z
      .object({
        certs: z.record(z.string(), z.array(z.string())).optional(),
        ca: z.record(z.string(), z.string()).optional(),
        disable_tofu: z.boolean().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

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

export function parseConfigFile(text: string, file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new NotaryCliError(`Could not read config at ${file}: ${(cause as Error).message}`, { cause });
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NotaryCliError(
      `Could not read config at ${file}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  readFile?: (file: string) => string;
}

export function resolveConfig(flags: GlobalFlags, options: ResolveOptions = {}): NotaryConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const home = options.home ?? env.HOME ?? os.homedir();
  const read = options.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const defaultDir = path.join(home, '.notary');
  const explicit = flagPath(flags.configFile, home, cwd);
  const file = explicit ?? path.join(defaultDir, 'config.json');

  let config: ConfigFile = {};
  try {
    config = parseConfigFile(read(file), file);
  } catch (error) {
    if (error instanceof NotaryCliError) throw error;
    // A missing default config is fine; a config named with -c must exist.
    if (explicit !== undefined) {
      throw new NotaryCliError(`Could not read config at ${file}: ${(error as Error).message}`);
    }
  }
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
  };
}
