/**
 * Validation of the identifiers that appear in registry URLs.
 *
 * The grammars are the ones in the OCI distribution spec, "Pulling
 * manifests": `<name>` must match
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
 * a tag must match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, and a digest is
 * `algorithm:encoded`. This hub stores only sha256 content (the algorithm
 * docker uses), so other algorithms are refused as DIGEST_INVALID.
 */
import { HubError } from '../errors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** Any well-formed digest of the spec's general grammar, used to tell "bad algorithm" from "not a digest". */
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Docker (distribution) caps a repository name at 255 characters including slashes. */
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function assertName(name: string): string {
  if (!isValidName(name)) {
    throw new HubError('NAME_INVALID', 'invalid repository name', { detail: { name } });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** Returns the digest or throws DIGEST_INVALID for anything that is not a sha256 digest. */
export function assertDigest(value: string | null | undefined): string {
  if (value === null || value === undefined || !DIGEST_RE.test(value)) {
    const detail = { digest: value ?? null };
    if (value && ANY_DIGEST_RE.test(value)) {
      throw new HubError('DIGEST_INVALID', 'unsupported digest algorithm: this hub stores sha256 only', {
        detail,
      });
    }
    throw new HubError('DIGEST_INVALID', 'provided digest is not a valid sha256 digest', { detail });
  }
  return value;
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string };

/** A manifest reference is a tag or a digest (OCI spec, "Pulling manifests"). */
export function parseReference(reference: string): Reference {
  if (reference.includes(':')) return { kind: 'digest', digest: assertDigest(reference) };
  if (!isValidTag(reference)) {
    throw new HubError('MANIFEST_INVALID', 'invalid tag', { detail: { tag: reference } });
  }
  return { kind: 'tag', tag: reference };
}
