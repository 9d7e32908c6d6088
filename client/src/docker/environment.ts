/**
 * What the docker command reads from its environment (DESIGN "Client
 * outside a sandbox"):
 *
 * - DOCKER_CONFIG (default `~/.docker`, or `--config DIR`): config.json and
 *   the trust directory `$DOCKER_CONFIG/trust` (notary storage/filestore.go, tuf/utils/pkcs8.go);
 * - DOCKER_CONTENT_TRUST, parsed as docker does: Go's strconv.ParseBool,
 *   and an unparsable value turns trust ON (cli/trust.Enabled... in
 *   docker/cli command/cli.go: `enabled, err := ParseBool(e); err != nil || enabled`);
 * - DOCKER_CONTENT_TRUST_SERVER (must be https), and the passphrase
 *   variables (read by client/src/trust/passphrase.ts);
 * - TRUSTLAB_HUB: where `docker.io` names go (default the local hub
 *   https://localhost:4443), TRUSTLAB_HUB_CA: a CA file to trust;
 * - TRUSTLAB_HUB_SOCKET: a unix socket that every connection to the hub's
 *   host:port goes through instead of TCP, TLS unchanged (a lab sandbox has
 *   no network; see ../registry/hub-address.ts);
 * - TRUSTLAB_IMAGES_DIR: the local image store (default
 *   `${XDG_DATA_HOME:-~/.local/share}/trustlab/images`);
 * - TRUSTLAB_EVENTS: a unix socket that receives one JSON line per command.
 */
import os from 'node:os';
import path from 'node:path';
import type { HubSocket } from '../registry/hub-address.js';
import { hubSocketFromEnv, parseHubUrl, socketPathFor } from '../registry/hub-address.js';

export { DEFAULT_HUB, parseHubUrl } from '../registry/hub-address.js';

/** Go strconv.ParseBool: undefined when the text is not a boolean. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** docker's content-trust switch: unset or empty is off; any true or unparsable value is on. */
export function contentTrustEnabled(value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  return parseGoBool(value) ?? true;
}

export interface DockerEnvironment {
  env: NodeJS.ProcessEnv;
  configDir: string;
  trustDir: string;
  hub: URL;
  hubCaFile: string | undefined;
  /** TRUSTLAB_HUB_SOCKET, bound to the hub's host:port. */
  hubSocket: HubSocket | undefined;
  contentTrust: boolean;
  trustServer: string | undefined;
  imagesDir: string;
  eventsSocket: string | undefined;
}

function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
}

export function readEnvironment(env: NodeJS.ProcessEnv, configOverride?: string): DockerEnvironment {
  const home = homeDir(env);
  const configDir = path.resolve(configOverride ?? (env.DOCKER_CONFIG || path.join(home, '.docker')));
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return {
    env,
    configDir,
    trustDir: path.join(configDir, 'trust'),
    hub: parseHubUrl(env.TRUSTLAB_HUB),
    hubCaFile: env.TRUSTLAB_HUB_CA || undefined,
    hubSocket: hubSocketFromEnv(env),
    contentTrust: contentTrustEnabled(env.DOCKER_CONTENT_TRUST),
    trustServer: env.DOCKER_CONTENT_TRUST_SERVER || undefined,
    imagesDir: path.resolve(env.TRUSTLAB_IMAGES_DIR || path.join(dataHome, 'trustlab', 'images')),
    eventsSocket: env.TRUSTLAB_EVENTS || undefined,
  };
}

/**
 * The unix socket to reach `target` through: TRUSTLAB_HUB_SOCKET when
 * `target` (a registry, trust server or token realm URL) is on the hub's
 * host:port, else undefined (connect over TCP as usual).
 */
export function hubSocketPath(env: DockerEnvironment, target: URL | string): string | undefined {
  return socketPathFor(env.hubSocket, target);
}
