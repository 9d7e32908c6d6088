/**
 * What every docker command works with: its streams and terminal, the
 * environment (environment.ts), config.json, the local image store, the
 * registry a reference lives in, and the event that will describe the
 * command's outcome (events.ts).
 */
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { Terminal } from '../cli/terminal.js';
import type { Credentials, HttpClient, RegistryClient } from '../registry/index.js';
import type { DockerConfigFile } from './config-file.js';
import type { DockerEnvironment } from './environment.js';
import { hubSocketPath } from './environment.js';
import { DockerError } from './errors.js';
import type { CommandEvent } from './events.js';
import { ImageStore } from './image-store.js';
import type { ImageReference } from './reference.js';
import { DEFAULT_DOMAIN } from './reference.js';

export interface DockerIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: Writable;
  stderr: Writable;
}

export class DockerContext {
  private lazyTerminal: Terminal | undefined;
  readonly event: CommandEvent;
  private configFile: DockerConfigFile | undefined;
  private imageStore: ImageStore | undefined;
  private caPem: string | null | undefined;

  constructor(
    readonly env: DockerEnvironment,
    readonly io: DockerIo,
    command: string,
  ) {
    this.event = { command, trust: false, outcome: 'OK' };
  }

  /** Made on first use: opening stdin costs start-up time that most commands never need. */
  get terminal(): Terminal {
    return (this.lazyTerminal ??= new Terminal(this.io.stdin, this.io.stdout));
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  async config(): Promise<DockerConfigFile> {
    // Loaded on demand (it brings zod), so commands that never need it start faster.
    const { DockerConfigFile } = await import('./config-file.js');
    this.configFile ??= await DockerConfigFile.load(this.env.configDir);
    return this.configFile;
  }

  get store(): ImageStore {
    this.imageStore ??= new ImageStore(this.env.imagesDir);
    return this.imageStore;
  }

  /** PEM of TRUSTLAB_HUB_CA, read once. */
  ca(): string | undefined {
    if (this.caPem === undefined) {
      const file = this.env.hubCaFile;
      if (!file) this.caPem = null;
      else {
        try {
          this.caPem = readFileSync(file, 'utf8');
        } catch (cause) {
          throw new DockerError(
            'CONFIG',
            `could not read TRUSTLAB_HUB_CA ${file}: ${(cause as Error).message}`,
            {
              cause,
              suggestion: 'Point TRUSTLAB_HUB_CA at the lab CA certificate (<data dir>/hub/ca.crt).',
            },
          );
        }
      }
    }
    return this.caPem ?? undefined;
  }

  /** Where a registry domain is served: docker.io names go to the lab hub. */
  registryOrigin(domain: string): URL {
    return domain === DEFAULT_DOMAIN ? new URL(this.env.hub.origin) : new URL(`https://${domain}`);
  }

  /** Saved credentials for a registry domain; docker.io falls back to a login made to the hub's own address. */
  async credentials(domain: string): Promise<Credentials | undefined> {
    const config = await this.config();
    const found =
      config.credentialsFor(domain) ??
      (domain === DEFAULT_DOMAIN ? config.credentialsFor(this.env.hub.host) : undefined);
    return found ? { username: found.username, password: found.password } : undefined;
  }

  /**
   * The unix socket to connect to `target` through (TRUSTLAB_HUB_SOCKET when
   * `target` is on the hub's host:port), for clients that take a socket path
   * such as trust-core's NotaryRepository.
   */
  hubSocketPath(target: URL | string): string | undefined {
    return hubSocketPath(this.env, target);
  }

  /** An HTTPS client trusting TRUSTLAB_HUB_CA and reaching the hub the way this environment says. */
  async http(): Promise<HttpClient> {
    const { HttpClient } = await import('../registry/index.js');
    return new HttpClient(this.ca(), { hubSocket: this.env.hubSocket ?? null });
  }

  async registry(ref: ImageReference): Promise<RegistryClient> {
    const { RegistryClient } = await import('../registry/index.js');
    return new RegistryClient({
      origin: this.registryOrigin(ref.domain),
      credentials: await this.credentials(ref.domain),
      ca: this.ca(),
      hubSocket: this.env.hubSocket ?? null,
    });
  }
}
