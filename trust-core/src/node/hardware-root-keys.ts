/**
 * Root keys on a hardware token, the two steps notary's YubiKey store
 * takes (trustmanager/yubikey/yubikeystore.go) that the repository and
 * the key commands share: storing a new root key, and certifying it for a
 * repository.
 */
import type { HardwareKeyStore, HardwareRootKey } from '../crypto/hardware-key-store.js';
import type { PublicKey } from '../crypto/keys.js';
import type { PassphraseRetriever } from '../crypto/passphrase.js';
import { checkNewPassphrase } from '../crypto/passphrase.js';
import type { PrivateKey } from '../crypto/signatures.js';
import { createRootCertificateWith } from '../crypto/x509.js';
import type { FileKeyStore } from './file-key-store.js';

/**
 * Writes a new root key to the token and keeps an encrypted backup in the
 * file store (notary's AddKey: the token first, then the backup). The
 * backup's passphrase is chosen before the token is written, so that a
 * refused passphrase leaves nothing behind, and a token that refuses the
 * key leaves no file key that a later command would take instead.
 */
export async function storeRootKeyOnToken(
  hardware: HardwareKeyStore,
  keys: FileKeyStore,
  key: PrivateKey,
  passphrases: PassphraseRetriever,
): Promise<HardwareRootKey> {
  const passphrase = await passphrases({ keyId: key.id, role: 'root', createNew: true, attempt: 0 });
  checkNewPassphrase(passphrase);
  const stored = await hardware.addRootKey(key);
  await keys.save(key, { role: 'root' }, passphrase);
  return stored;
}

/** The root certificate notary makes for `gun`, signed on the token that holds the key. */
export function rootCertificateOnToken(
  hardware: HardwareKeyStore,
  key: HardwareRootKey | { id: string; publicKey: PublicKey },
  gun: string,
  now: Date,
): Promise<string> {
  const signer = hardware.signer(key.id, key.publicKey, { kind: 'root-certificate', gun });
  return createRootCertificateWith(key.publicKey.publicBytes, (tbs) => signer.sign(tbs), gun, { now });
}
