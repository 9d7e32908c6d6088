/**
 * GUN ↔ hub namespace mapping.
 *
 * A notary GUN is the full image name a client signs for: `notary` and
 * `docker` put it in the URL (`/v2/localhost:4443/alice/app/_trust/…`) and in
 * the token scope (`repository:localhost:4443/alice/app:push,pull`), and
 * docker normalises Docker Hub names to `docker.io/library/alpine` (docker/cli cli/trust, cli/command/image/trust.go,
 * "GUN = full name").
 *
 * The hub stores trust data under the GUN exactly as sent, as notary-server
 * does, so `localhost:4443/alice/app` and `127.0.0.1:4443/alice/app` are two
 * trust repositories. Ownership follows the registry repository the GUN
 * names: a first component that is a host is dropped, and what remains must
 * be a valid registry name whose namespace decides who may write
 * (auth/policy.ts). A host is `host:port` (any host: the lab reaches the hub
 * as localhost, 127.0.0.1 or a lab hostname), `localhost`, or `docker.io`
 * (docker's GUN for Docker Hub names). Other dotted first components are
 * NOT hosts here, unlike docker's reference rule, because registry names and
 * account names may contain dots (`alice.smith/app` stays alice.smith's);
 * the account names `localhost` and `docker.io` are reserved for that reason.
 */
import { isValidName } from '../registry/references.js';

const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/** The hub's cap on a GUN (a registry name is at most 255 characters too). */
export const MAX_GUN_LENGTH = 255;

/** Hosts the mapping strips without a port. */
export const BARE_HOSTS: readonly string[] = ['localhost', 'docker.io'];

/** True when a GUN's first component is a registry host by the rule above. */
export function isRegistryHost(component: string): boolean {
  return (BARE_HOSTS.includes(component) || component.includes(':')) && HOST_RE.test(component);
}

export interface ParsedGun {
  /** Registry host part (`localhost:4443`, `docker.io`), when the GUN has one. */
  host: string | undefined;
  /** The registry repository the GUN names (`alice/app`, `library/busybox`). */
  repository: string;
}

/** Splits a GUN into host and registry repository; undefined when it names no valid repository. */
export function parseGun(gun: string): ParsedGun | undefined {
  if (gun.length === 0 || gun.length > MAX_GUN_LENGTH) return undefined;
  const slash = gun.indexOf('/');
  if (slash > 0 && isRegistryHost(gun.slice(0, slash))) {
    const repository = gun.slice(slash + 1);
    return isValidName(repository) ? { host: gun.slice(0, slash), repository } : undefined;
  }
  return isValidName(gun) ? { host: undefined, repository: gun } : undefined;
}

/** The registry repository a GUN (or a plain repository name) maps to, for policy decisions. */
export function repositoryOfGun(gun: string): string | undefined {
  return parseGun(gun)?.repository;
}

export function isValidGun(gun: string): boolean {
  return parseGun(gun) !== undefined;
}

/** The GUN docker uses for an official image, e.g. `docker.io/library/busybox`. */
export function dockerHubGun(repository: string): string {
  return `docker.io/${repository}`;
}
