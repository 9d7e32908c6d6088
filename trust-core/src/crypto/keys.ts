/**
 * Public keys as notary models them in TUF metadata (notary tuf/data/keys.go):
 * `{"keytype": T, "keyval": {"private": null, "public": <base64>}}`.
 *
 * - `ecdsa` / `rsa`: `public` is DER SubjectPublicKeyInfo;
 * - `ed25519`: the raw 32-byte key;
 * - `ecdsa-x509` / `rsa-x509`: the certificate's PEM text (root keys);
 * - anything else is kept as opaque data so metadata naming an unknown key
 *   type still round-trips, but such keys can never verify a signature.
 *
 * Key IDs are the hex SHA-256 of the canonical JSON of the key with
 * `private` set to null (notary TUFKey.ID). x509 keys also have a *canonical*
 * ID (notary tuf/utils/x509.go CanonicalKeyID): the ID of the plain
 * `ecdsa`/`rsa` key made of the certificate's SPKI. Metadata uses `id`; key
 * files, `notary key list` and key lookups use `canonicalId()`.
 */
import { KeyError, MetadataError } from '../errors.js';
import { fromBase64, fromUtf8, sha256, toBase64, toHex } from '../encoding/bytes.js';
import type { JsonObject, JsonValue } from '../encoding/canonical-json.js';
import { canonicalBytes, isJsonObject } from '../encoding/canonical-json.js';
import { decodePemBlocks } from './pem.js';
import { certificateSpki } from './spki.js';

export type KeyType = 'ecdsa' | 'ecdsa-x509' | 'ed25519' | 'rsa' | 'rsa-x509';

export const KEY_TYPES: readonly KeyType[] = ['ecdsa', 'ecdsa-x509', 'ed25519', 'rsa', 'rsa-x509'];

export function isKnownKeyType(keytype: string): keytype is KeyType {
  return (KEY_TYPES as readonly string[]).includes(keytype);
}

/** True for the certificate-carrying key types. */
export function isX509KeyType(keytype: string): keytype is 'ecdsa-x509' | 'rsa-x509' {
  return keytype === 'ecdsa-x509' || keytype === 'rsa-x509';
}

/** Hex SHA-256 of `{"keytype":T,"keyval":{"private":null,"public":b64}}` in canonical JSON (notary tuf/utils/x509.go, cryptoservice/certificate.go). */
export function computeKeyId(keytype: string, publicBytes: Uint8Array): string {
  return toHex(sha256(canonicalBytes({ keytype, keyval: { private: null, public: toBase64(publicBytes) } })));
}

/**
 * The first certificate's DER inside an x509 key's PEM text (notary
 * tuf/utils/x509.go LoadCertFromPEM: blocks of other types, or with headers, are skipped).
 */
export function firstCertificateDer(pemBytes: Uint8Array): Uint8Array {
  let text: string;
  try {
    text = fromUtf8(pemBytes);
  } catch (cause) {
    throw new KeyError('BAD_CERTIFICATE', 'certificate key is not PEM text', { cause });
  }
  let blocks;
  try {
    blocks = decodePemBlocks(text);
  } catch (cause) {
    throw new KeyError('BAD_CERTIFICATE', 'certificate key is not valid PEM', { cause });
  }
  const cert = blocks.find((b) => b.type === 'CERTIFICATE' && Object.keys(b.headers).length === 0);
  if (!cert) throw new KeyError('BAD_CERTIFICATE', 'no certificates found in PEM data');
  return cert.bytes;
}

export class PublicKey {
  readonly keytype: string;
  /** keyval.public after base64 decoding. */
  readonly publicBytes: Uint8Array;
  /** Top-level fields notary does not know, kept so the key re-serializes unchanged. */
  readonly unrecognizedFields: Readonly<Record<string, JsonValue>>;
  /** Fields inside `keyval` other than `public` and `private`, kept for the same reason. */
  readonly unrecognizedKeyvalFields: Readonly<Record<string, JsonValue>>;
  #id: string | undefined;
  #canonicalId: string | undefined;

  constructor(
    keytype: string,
    publicBytes: Uint8Array,
    unrecognizedFields: Record<string, JsonValue> = {},
    unrecognizedKeyvalFields: Record<string, JsonValue> = {},
  ) {
    if (typeof keytype !== 'string' || keytype === '') {
      throw new KeyError('BAD_KEY', 'a public key needs a key type');
    }
    this.keytype = keytype;
    this.publicBytes = Uint8Array.from(publicBytes);
    this.unrecognizedFields = Object.freeze({ ...unrecognizedFields });
    this.unrecognizedKeyvalFields = Object.freeze({ ...unrecognizedKeyvalFields });
  }

  /** Whether notary knows this key type (unknown types are carried but never verify). */
  get isKnownType(): boolean {
    return isKnownKeyType(this.keytype);
  }

  /** The key's ID as metadata uses it (the cert's ID for x509 keys). */
  get id(): string {
    this.#id ??= computeKeyId(this.keytype, this.publicBytes);
    return this.#id;
  }

  /**
   * The ID notary uses for key files and lookups. For x509 keys it is the ID
   * of the `ecdsa`/`rsa` key made of the certificate's SPKI; otherwise `id`.
   * Throws KeyError('BAD_CERTIFICATE') when an x509 key holds no readable certificate.
   */
  canonicalId(): string {
    if (!isX509KeyType(this.keytype)) return this.id;
    if (this.#canonicalId === undefined) {
      let spki: Uint8Array;
      try {
        spki = certificateSpki(firstCertificateDer(this.publicBytes));
      } catch (cause) {
        if (cause instanceof KeyError) throw cause;
        throw new KeyError('BAD_CERTIFICATE', 'could not read the public key of the root certificate', {
          cause,
        });
      }
      // notary X509PublicKeyID: the plain key type follows the declared x509 type.
      this.#canonicalId = computeKeyId(this.keytype === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spki);
    }
    return this.#canonicalId;
  }

  /** The plain `ecdsa`/`rsa` key inside an x509 key (the key itself for other types). */
  canonicalKey(): PublicKey {
    if (!isX509KeyType(this.keytype)) return this;
    const spki = certificateSpki(firstCertificateDer(this.publicBytes));
    return new PublicKey(this.keytype === 'ecdsa-x509' ? 'ecdsa' : 'rsa', spki);
  }

  equals(other: PublicKey): boolean {
    return this.keytype === other.keytype && this.id === other.id;
  }

  toJSON(): JsonObject {
    return {
      keytype: this.keytype,
      keyval: { private: null, public: toBase64(this.publicBytes), ...this.unrecognizedKeyvalFields },
      ...this.unrecognizedFields,
    };
  }

  /** Parse a key object from metadata. Throws MetadataError('MALFORMED_METADATA') on a bad shape. */
  static fromJSON(json: JsonValue): PublicKey {
    const bad = (what: string, cause?: unknown): MetadataError =>
      new MetadataError('MALFORMED_METADATA', `invalid public key: ${what}`, {
        cause,
        suggestion:
          'A key entry looks like {"keytype":"ecdsa","keyval":{"private":null,"public":"<base64>"}}.',
      });
    if (!isJsonObject(json)) throw bad('not an object');
    const { keytype, keyval, ...rest } = json;
    if (typeof keytype !== 'string' || keytype === '') throw bad('"keytype" must be a non-empty string');
    if (!isJsonObject(keyval)) throw bad('"keyval" must be an object');
    const { public: pub, private: priv, ...keyvalRest } = keyval;
    if (typeof pub !== 'string') throw bad('"keyval.public" must be a base64 string');
    // notary never publishes private material; refuse it rather than carry a secret around.
    if (priv !== null && priv !== undefined) throw bad('"keyval.private" must be null in metadata');
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(pub);
    } catch (cause) {
      throw bad('"keyval.public" is not valid base64', cause);
    }
    return new PublicKey(keytype, bytes, rest, keyvalRest);
  }
}
