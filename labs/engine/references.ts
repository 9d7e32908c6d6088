/**
 * Image references as docker normalises them (distribution/reference:
 * `busybox` is `docker.io/library/busybox:latest`), enough to compare what
 * a client event names with a repository a check expects.
 */

export interface NormalisedReference {
  /** Full name with the domain: `docker.io/alice/dctrust`. */
  name: string;
  /** Repository path on the registry: `alice/dctrust`. */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

const DEFAULT_DOMAIN = 'docker.io';

function isDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** Undefined for anything that is not a plausible reference. */
export function normaliseReference(input: string | undefined): NormalisedReference | undefined {
  if (input === undefined || input.length === 0 || input.length > 512 || /\s/.test(input)) return undefined;
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  }
  const parts = rest.split('/');
  if (parts.some((part) => part === '')) return undefined;
  let domain = DEFAULT_DOMAIN;
  if (parts.length > 1 && isDomain(parts[0]!)) domain = parts.shift()!;
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift('library');
  const path = parts.join('/');
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) {
    return undefined;
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { name: `${domain}/${path}`, path, tag, digest };
}

/** Whether an event's reference names `name:tag` (e.g. `docker.io/alice/dctrust`, `latest`). */
export function namesTag(input: string | undefined, name: string, tag: string): boolean {
  const ref = normaliseReference(input);
  return ref !== undefined && ref.name === name && ref.tag === tag && ref.digest === undefined;
}
