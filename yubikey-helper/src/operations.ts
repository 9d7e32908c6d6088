/**
 * Carries out token requests on a PKCS#11 token, within the helper's limits:
 * list, import and sign with root keys, nothing else (the protocol cannot
 * say anything else), and a signature only over what its purpose says: the
 * `signed` part of that GUN's root.json, or the TBSCertificate of a root
 * certificate for that GUN. A lab server that asked for anything else (say,
 * a signature over a targets file) gets REFUSED, and the token is not used.
 *
 * Both the helper (on the attendee's machine) and the platform in local
 * mode (the server loads the module itself) answer requests through this.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { TBSCertificate } from '@peculiar/asn1-x509';
import { z } from 'zod';
import { parseCertificate, PublicKey } from '../../trust-core/src/index.js';
import type { SignPurpose, TokenKeyView, TokenReply, TokenRequest, TokenView } from './protocol.js';
import { failure, TOKEN_ERROR_CODES } from './protocol.js';
import type { RootKeyToken, TokenRootKey } from './token/index.js';
import { TokenError } from './token/index.js';

const OID_COMMON_NAME = '2.5.4.3';

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

export function tokenViewOf(token: RootKeyToken): TokenView {
  const { label, manufacturer, model, serial } = token.description;
  const cut = (s: string) => s.trim().slice(0, 64);
  return { label: cut(label), manufacturer: cut(manufacturer), model: cut(model), serial: cut(serial) };
}

function keyViewOf(key: TokenRootKey): TokenKeyView {
  return { keyId: key.keyId, position: key.position, certificate: toBase64(key.certificateDer) };
}

/** Total length of the DER SEQUENCE at the start of `bytes` (X.690 8.1.3), or undefined. */
function derElementLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x30) return undefined;
  const first = bytes[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i]!;
  return 2 + octets + length;
}

/** What the root keys of root metadata must look like here: certificates, as notary's are. */
const rootKeysSchema = z.object({
  keys: z.record(z.string(), z.object({ keyval: z.object({ public: z.string() }) })),
  roles: z.object({ root: z.object({ keyids: z.array(z.string()).min(1) }) }),
});

/**
 * The learner is told which repository a root signature is for, so the
 * metadata must be that repository's: each root key it names is a
 * certificate whose CN is the GUN, as notary's root certificates are
 * (trustpinning ValidateRoot keeps only those). The signing key need not
 * be among them: a rotation's new root is signed by the old key too.
 */
function rootKeysProblem(signed: object, gun: string): string | undefined {
  const parsed = rootKeysSchema.safeParse(signed);
  if (!parsed.success) return 'the root metadata names no root key';
  const { keys, roles } = parsed.data;
  for (const id of roles.root.keyids) {
    const key = keys[id];
    if (key === undefined) return `the root metadata names root key ${id} but does not hold it`;
    let commonName: string;
    try {
      commonName = parseCertificate(Buffer.from(key.keyval.public, 'base64').toString('utf8')).commonName;
    } catch {
      return `root key ${id} of the root metadata is not a certificate`;
    }
    if (commonName !== gun) return `the root metadata is not for ${gun}`;
  }
  return undefined;
}

/** Why `message` is not what `purpose` says it is, or undefined when it is. */
export function purposeProblem(
  message: Uint8Array,
  purpose: SignPurpose,
  /** The key that would sign: a root certificate must certify that very key. */
  keyId?: string,
): string | undefined {
  if (purpose.kind === 'root-metadata') {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message));
    } catch {
      return 'the data to sign is not root metadata (not JSON)';
    }
    if (typeof value !== 'object' || value === null || (value as { _type?: unknown })._type !== 'Root') {
      return 'the data to sign is not root metadata (its _type is not Root)';
    }
    return rootKeysProblem(value, purpose.gun);
  }
  // The parser reads the first DER element only: the message must be that element and no more,
  // or anything could ride along behind a valid certificate and be signed with it.
  if (derElementLength(message) !== message.length) return 'the data to sign is not a certificate';
  let tbs: TBSCertificate;
  try {
    tbs = AsnConvert.parse(message, TBSCertificate);
  } catch {
    return 'the data to sign is not a certificate';
  }
  const names = tbs.subject.flatMap((rdn) =>
    rdn.filter((a) => a.type === OID_COMMON_NAME).map((a) => a.value.toString()),
  );
  if (names.length !== 1 || names[0] !== purpose.gun) {
    return `the certificate to sign is not the root certificate of ${purpose.gun}`;
  }
  // Self-signed, as notary's root certificates are: issuer is subject, and the key is the signer's.
  if (!Buffer.from(AsnConvert.serialize(tbs.issuer)).equals(Buffer.from(AsnConvert.serialize(tbs.subject)))) {
    return 'the certificate to sign is not self-signed';
  }
  if (keyId !== undefined) {
    const spki = new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
    if (new PublicKey('ecdsa', spki).id !== keyId) {
      return 'the certificate to sign is for another key than the one asked to sign it';
    }
  }
  return undefined;
}

export interface OperationObserver {
  /** What the token is about to do, for the status line ("signing for docker.io/alice/alpine root"). */
  activity(text: string | undefined): void;
}

/** What a learner reads for each request while it runs. */
export function activityOf(request: TokenRequest): string {
  switch (request.op) {
    case 'list':
      return 'listing the root keys';
    case 'import':
      return 'storing a new root key';
    case 'sign':
      return request.purpose.kind === 'root-metadata'
        ? `signing for ${request.purpose.gun} root — touch your YubiKey`
        : `signing the root certificate of ${request.purpose.gun} — touch your YubiKey`;
  }
}

export async function perform(
  token: RootKeyToken,
  request: TokenRequest,
  observer?: OperationObserver,
): Promise<TokenReply> {
  const view = tokenViewOf(token);
  try {
    switch (request.op) {
      case 'list':
        return { ok: true, token: view, keys: (await token.listRootKeys()).map(keyViewOf) };
      case 'import': {
        observer?.activity(activityOf(request));
        const secret = fromBase64(request.secret);
        try {
          const key = await token.importRootKey({ secret, certificateDer: fromBase64(request.certificate) });
          return { ok: true, token: view, key: keyViewOf(key) };
        } catch (error) {
          // The token checks the key and its certificate before it writes anything, and says what
          // is wrong with them as a TypeError: the request's fault, not the token's.
          if (error instanceof TypeError) {
            return failure('BAD_REQUEST', `the YubiKey helper refused the key: ${error.message}`);
          }
          throw error;
        } finally {
          secret.fill(0);
        }
      }
      case 'sign': {
        const message = fromBase64(request.message);
        const problem = purposeProblem(message, request.purpose, request.keyId);
        if (problem !== undefined) {
          return failure('REFUSED', `the YubiKey helper refused to sign: ${problem}`);
        }
        observer?.activity(activityOf(request));
        return { ok: true, token: view, signature: toBase64(await token.sign(request.keyId, message)) };
      }
    }
    return failure('BAD_REQUEST', 'the YubiKey helper does only list, import and sign');
  } catch (error) {
    if (error instanceof TokenError) {
      const code = (TOKEN_ERROR_CODES as readonly string[]).includes(error.code) ? error.code : 'PKCS11';
      return failure(code as (typeof TOKEN_ERROR_CODES)[number], error.message, error.suggestion);
    }
    throw error;
  } finally {
    observer?.activity(undefined);
  }
}
