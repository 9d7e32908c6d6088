/**
 * A key store on a hardware token, as notary's YubiKey store is to its
 * file store (trustmanager/yubikey): it holds root keys only, it is asked
 * first, and its keys never leave it, so it signs rather than hands a key
 * out. A new root key is generated in software, written to the token, and
 * kept encrypted in the file store as a backup (notary's `AddKey` on the
 * YubiKey store does both).
 *
 * trust-core defines the contract only; the lab's client implements it
 * over the session's token socket (a helper on the attendee's machine).
 */
import type { PublicKey } from './keys.js';
import type { PrivateKey, Signer } from './signatures.js';

export interface HardwareRootKey {
  /** The canonical key ID (the file name notary gives the key's backup). */
  readonly id: string;
  /** The plain ecdsa public key. */
  readonly publicKey: PublicKey;
}

/** What a signature is for; the token side refuses messages that are not that. */
export interface HardwareSignPurpose {
  readonly kind: 'root-metadata' | 'root-certificate';
  readonly gun: string;
}

export interface HardwareKeyStore {
  /** `yubikey`: the LOCATION notary prints for these keys. */
  readonly location: string;
  rootKeys(): Promise<readonly HardwareRootKey[]>;
  /** Writes a new root key to the token (the caller keeps the backup). */
  addRootKey(key: PrivateKey): Promise<HardwareRootKey>;
  /**
   * A signer for a root key the token holds. `publicKey` is the key that
   * goes into metadata (the `ecdsa-x509` certificate key for root).
   */
  signer(id: string, publicKey: PublicKey, purpose: HardwareSignPurpose): Signer;
}
