/**
 * `$DOCKER_CONFIG/config.json` as docker reads and writes it
 * (cli/config/configfile): `auths` maps a registry to `{"auth": base64
 * of "user:password"}`; Docker Hub's key is `https://index.docker.io/v1/`,
 * other registries are keyed by `host:port`. Keys docker wrote in other
 * forms (`https://host/`, `http://host`) are found by hostname
 * (registry.ConvertToHostname). Every other field is kept as it was.
 *
 * Written as docker writes it: tab-indented JSON without a trailing
 * newline, mode 0600, through a temporary file and a rename, in a 0700
 * directory.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DockerError } from './errors.js';
import { DEFAULT_DOMAIN } from './reference.js';

/** Docker Hub's key in `auths` (registry.IndexServer). */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

const authEntry = z
  .object({
    auth: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    identitytoken: z.string().optional(),
  })
  .passthrough();

const configSchema = z
  .object({
    auths: z.record(z.string(), authEntry).optional(),
    credsStore: z.string().optional(),
  })
  .passthrough();

export type DockerConfigJson = z.infer<typeof configSchema>;

export interface StoredCredentials {
  username: string;
  password: string;
  /** The `auths` key they were found under. */
  serverAddress: string;
}

/** registry.ConvertToHostname: drop the scheme and any path. */
export function convertToHostname(address: string): string {
  let stripped = address;
  if (stripped.startsWith('http://')) stripped = stripped.slice('http://'.length);
  else if (stripped.startsWith('https://')) stripped = stripped.slice('https://'.length);
  const slash = stripped.indexOf('/');
  return slash >= 0 ? stripped.slice(0, slash) : stripped;
}

/** The `auths` key docker uses for a registry domain. */
export function authKeyFor(domain: string): string {
  return domain === DEFAULT_DOMAIN ? INDEX_SERVER : domain;
}

function hostnamesFor(domain: string): string[] {
  return domain === DEFAULT_DOMAIN ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [domain];
}

export class DockerConfigFile {
  private constructor(
    readonly file: string,
    private data: DockerConfigJson,
  ) {}

  static async load(configDir: string): Promise<DockerConfigFile> {
    const file = path.join(configDir, 'config.json');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new DockerConfigFile(file, {});
      throw new DockerError('CONFIG', `loading config file: ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (text.trim() === '') return new DockerConfigFile(file, {});
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new DockerError('CONFIG', `loading config file: ${file}: ${(cause as Error).message}`, {
        cause,
        suggestion: `Fix or remove ${file}.`,
      });
    }
    const parsed = configSchema.safeParse(json);
    if (!parsed.success) {
      throw new DockerError('CONFIG', `loading config file: ${file}: unexpected content`, {
        suggestion: `Fix or remove ${file}.`,
      });
    }
    return new DockerConfigFile(file, parsed.data);
  }

  get json(): DockerConfigJson {
    return this.data;
  }

  /** Credentials for a registry domain, or undefined (anonymous). */
  credentialsFor(domain: string): StoredCredentials | undefined {
    const auths = this.data.auths ?? {};
    const wanted = hostnamesFor(domain);
    const keys = [
      authKeyFor(domain),
      ...Object.keys(auths).filter((k) => wanted.includes(convertToHostname(k))),
    ];
    for (const key of keys) {
      const entry = auths[key];
      if (!entry) continue;
      let username = entry.username;
      let password = entry.password;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) continue;
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
      if (username !== undefined && password !== undefined && username !== '') {
        return { username, password, serverAddress: key };
      }
    }
    return undefined;
  }

  setCredentials(serverAddress: string, username: string, password: string): void {
    const auths = { ...this.data.auths };
    auths[serverAddress] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
    this.data = { ...this.data, auths };
  }

  /** Remove every key for this server (docker logout); true when one was there. */
  removeCredentials(serverAddress: string): boolean {
    const auths = { ...this.data.auths };
    const host = convertToHostname(serverAddress);
    let removed = false;
    for (const key of Object.keys(auths)) {
      if (key === serverAddress || convertToHostname(key) === host) {
        delete auths[key];
        removed = true;
      }
    }
    this.data = { ...this.data, auths };
    return removed;
  }

  /** Serialise as docker does: `auths` first, tab indentation, no trailing newline. */
  serialise(): string {
    const { auths, ...rest } = this.data;
    return JSON.stringify({ auths: auths ?? {}, ...rest }, null, '\t');
  }

  async save(): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = path.join(dir, `.config.json.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fs.writeFile(temp, this.serialise(), { mode: 0o600 });
      await fs.chmod(temp, 0o600);
      await fs.rename(temp, this.file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw new DockerError('CONFIG', `saving config file: ${this.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
