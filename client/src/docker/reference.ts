/**
 * Image references as docker parses and normalises them
 * (github.com/distribution/reference: `ParseNormalizedNamed`,
 * `splitDockerDomain`, `FamiliarName`, `TagNameOnly`):
 *
 * - `busybox` → `docker.io/library/busybox` (tag `latest` added only by the
 *   commands that need one, with "Using default tag: latest");
 * - a first component is a registry host only if it contains `.` or `:`, is
 *   `localhost`, or has an upper-case letter; `index.docker.io` is `docker.io`;
 * - the repository part must be lower case: "invalid reference format:
 *   repository name (library/Busybox) must be lowercase";
 * - anything else that does not fit the grammar: "invalid reference format".
 */
import { DockerError } from './errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference regexp.go.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePattern = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const REFERENCE = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;
const TAG = new RegExp(`^${tagPattern}$`);

/** go-digest's algorithms and their hex lengths. */
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  /** Registry host (`docker.io`, `localhost:4443`). */
  readonly domain: string;
  /** Repository path inside the registry (`library/busybox`, `alice/dctrust`). */
  readonly path: string;
  readonly tag?: string | undefined;
  readonly digest?: string | undefined;
}

function invalid(message = 'invalid reference format'): DockerError {
  return new DockerError('INVALID_REFERENCE', message, {
    suggestion: 'An image name looks like busybox, alice/app:v1 or host:port/alice/app@sha256:<64 hex>.',
  });
}

/** go-digest Parse: `algorithm:hex` with a known algorithm and its exact length. */
export function checkDigest(digest: string): void {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon === digest.length - 1) throw invalid('invalid checksum digest format');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) throw invalid('unsupported digest algorithm');
  if (hex.length !== length) throw invalid('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw invalid('invalid checksum digest format');
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** distribution/reference ParseNormalizedNamed (with tag and digest kept). */
export function parseReference(input: string): ImageReference {
  if (ANCHORED_IDENTIFIER.test(input)) {
    throw invalid(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(input);
  const tagSep = remainder.indexOf(':');
  const remoteName = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw invalid(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  const full = `${domain}/${remainder}`;
  const match = REFERENCE.exec(full);
  if (!match) throw invalid();
  const name = match[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid('repository name must not be more than 255 characters');
  }
  const digest = match[3];
  if (digest !== undefined) checkDigest(digest);
  return {
    domain,
    path: name.slice(domain.length + 1),
    tag: match[2],
    digest,
  };
}

/** True when the string is a valid tag (`docker tag` targets, `:tag` parts). */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** `docker.io/library/busybox` */
export function fullName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `busybox`, `alice/app`, `localhost:4443/alice/app` (reference.FamiliarName). */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  if (ref.path.startsWith(OFFICIAL_PREFIX) && !ref.path.slice(OFFICIAL_PREFIX.length).includes('/')) {
    return ref.path.slice(OFFICIAL_PREFIX.length);
  }
  return ref.path;
}

function suffix(ref: ImageReference): string {
  return `${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `docker.io/library/busybox:latest` (reference.String of a normalised name). */
export function referenceString(ref: ImageReference): string {
  return fullName(ref) + suffix(ref);
}

/** `busybox:latest` (reference.FamiliarString). */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + suffix(ref);
}

/** True when the reference has neither tag nor digest (reference.IsNameOnly). */
export function isNameOnly(ref: ImageReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** reference.TagNameOnly: add `latest` to a bare name. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return isNameOnly(ref) ? { ...ref, tag: DEFAULT_TAG } : ref;
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  return { domain: ref.domain, path: ref.path, tag };
}

export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { domain: ref.domain, path: ref.path, digest };
}

export function nameOnly(ref: ImageReference): ImageReference {
  return { domain: ref.domain, path: ref.path };
}
