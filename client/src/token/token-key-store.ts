/**
 * The client's YubiKey: root keys on the attendee's token, reached through
 * the session's token socket (`TRUSTLAB_TOKEN`, bound into the sandbox by
 * the terminal server; the lab server passes each request to the helper
 * paired with this attendee, or to its own PKCS#11 module in local mode).
 *
 * It behaves as notary's YubiKey store (trustmanager/yubikey): asked before
 * the file store, root keys only, and a signature prints
 * "Please touch the attached Yubikey to perform signing." first. When there
 * is no token (no socket, no helper paired) the commands fall back to the
 * file store, and only the debug output says so, with notary's wording.
 *
 * The requests themselves are in socket.ts.
 */
import type {
  HardwareKeyStore,
  HardwareRootKey,
  HardwareSignPurpose,
  PrivateKey,
  PublicKey as PublicKeyType,
  Signer,
} from '../../../trust-core/src/index.js';
import { createRootCertificate, decodePem, encodePem, PublicKey } from '../../../trust-core/src/index.js';
import type { TokenView } from '../../../yubikey-helper/src/protocol.js';
import {
  failureOf,
  listToken,
  requestToken,
  TokenRequestError,
  TOUCH_PROMPT,
  YUBIKEY_LOCATION,
} from './socket.js';

export interface TokenKeyStoreIo {
  /** The touch prompt goes here (stdout, as notary prints it). */
  out(text: string): void;
  debug(message: string): void;
}

export interface TokenListing {
  token: TokenView;
  keys: readonly (HardwareRootKey & { position: number })[];
}

function publicKeyOfCertificate(certificateBase64: string): PublicKeyType {
  const pem = encodePem({
    type: 'CERTIFICATE',
    headers: {},
    bytes: new Uint8Array(Buffer.from(certificateBase64, 'base64')),
  });
  // The plain key inside the certificate: its ID is the canonical ID notary names the backup by.
  return new PublicKey('ecdsa-x509', new TextEncoder().encode(pem)).canonicalKey();
}

export class TokenKeyStore implements HardwareKeyStore {
  readonly location = YUBIKEY_LOCATION;
  #listing: TokenListing;

  private constructor(
    private readonly socketPath: string,
    private readonly io: TokenKeyStoreIo,
    listing: TokenListing,
  ) {
    this.#listing = listing;
  }

  /**
   * The store, when the session has a token to use now; otherwise undefined,
   * after saying why in the debug output (notary: "No yubikey found, using
   * alternative key storage: …").
   */
  static async connect(env: NodeJS.ProcessEnv, io: TokenKeyStoreIo): Promise<TokenKeyStore | undefined> {
    const socketPath = env.TRUSTLAB_TOKEN;
    const listed = await listToken(socketPath);
    if ('unavailable' in listed) {
      io.debug(`No yubikey found, using alternative key storage: ${listed.unavailable}`);
      return undefined;
    }
    io.debug(
      `Found a yubikey: ${listed.token.label} (${listed.token.model}), ${listed.keys.length} root key(s)`,
    );
    let keys;
    try {
      keys = listed.keys.map((k) => ({
        id: k.keyId,
        position: k.position,
        publicKey: publicKeyOfCertificate(k.certificate),
      }));
    } catch (error) {
      io.debug(
        `No yubikey found, using alternative key storage: the token holds a certificate this client cannot read (${(error as Error).message})`,
      );
      return undefined;
    }
    return new TokenKeyStore(socketPath!, io, { token: listed.token, keys });
  }

  get token(): TokenView {
    return this.#listing.token;
  }

  rootKeys(): Promise<readonly HardwareRootKey[]> {
    return Promise.resolve(this.#listing.keys);
  }

  /**
   * Writes a root key to the token with notary's certificate (CN=root,
   * 10 years, self-signed; yubikeystore.go addECDSAKey).
   */
  async addRootKey(key: PrivateKey): Promise<HardwareRootKey> {
    const pem = createRootCertificate(key, 'root', { now: new Date() });
    const der = Buffer.from(decodePem(pem).bytes);
    const reply = await requestToken(this.socketPath, {
      op: 'import',
      secret: Buffer.from(key.secretBytes()).toString('base64'),
      certificate: der.toString('base64'),
    });
    const failed = failureOf(reply);
    if (failed) throw failed;
    if (!reply.ok || !reply.key)
      throw new TokenRequestError('BAD_REPLY', 'the token did not say where it stored the key');
    if (reply.key.keyId !== key.id) {
      throw new TokenRequestError('BAD_REPLY', `the token stored key ${reply.key.keyId}, not ${key.id}`);
    }
    const stored = { id: key.id, position: reply.key.position, publicKey: key.publicKey() };
    // The token keeps one copy of a key it already held (pkcs11-token.ts), and so does the listing.
    const others = this.#listing.keys.filter((held) => held.id !== stored.id);
    this.#listing = { token: reply.token, keys: [...others, stored] };
    return stored;
  }

  signer(id: string, publicKey: PublicKeyType, purpose: HardwareSignPurpose): Signer {
    return {
      publicKey,
      method: 'ecdsa',
      sign: async (message: Uint8Array): Promise<Uint8Array> => {
        this.io.out(`${TOUCH_PROMPT}\n`);
        const reply = await requestToken(this.socketPath, {
          op: 'sign',
          keyId: id,
          message: Buffer.from(message).toString('base64'),
          purpose,
        });
        const failed = failureOf(reply);
        if (failed) throw failed;
        if (!reply.ok || reply.signature === undefined) {
          throw new TokenRequestError('BAD_REPLY', 'the token answered no signature');
        }
        return new Uint8Array(Buffer.from(reply.signature, 'base64'));
      },
    };
  }
}
